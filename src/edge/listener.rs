//! The accept loop behind the [`Gate`]: every accepted socket is counted
//! (per address and in all) for as long as it is open — through an HTTP
//! request, a WebSocket upgrade and whatever follows — and one over a cap is
//! closed at once, before a single byte is read from it.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::gate::{Cap, Gate};
use super::EdgeLimits;

/// Pause after a failed accept (out of files, for one), so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// A listener whose connections all count against one [`Gate`].
pub(super) struct GatedListener {
    listener: TcpListener,
    gate: Arc<Mutex<Gate>>,
    limits: EdgeLimits,
}

impl GatedListener {
    pub(super) fn new(listener: TcpListener, limits: &EdgeLimits) -> Self {
        GatedListener {
            listener,
            gate: Arc::new(Mutex::new(Gate::new(
                limits.max_per_address,
                limits.max_total,
            ))),
            limits: limits.clone(),
        }
    }

    /// The next connection the caps allow, with its peer's address.
    pub(super) async fn accept(&self) -> (Counted, SocketAddr) {
        loop {
            let (stream, remote) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed; pausing briefly");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            };
            let ip = remote.ip();
            let refused = lock(&self.gate).admit(ip).err();
            match refused {
                None => {
                    let permit = Permit {
                        gate: self.gate.clone(),
                        ip,
                    };
                    return (Counted { stream, permit }, remote);
                }
                Some(cap) => self.refuse(cap, ip),
            }
        }
    }

    fn refuse(&self, cap: Cap, ip: IpAddr) {
        tracing::debug!(%ip, cap = cap.code(), "connection over a cap closed");
        let due = lock(&self.gate).note_refusal(cap, Instant::now());
        let Some(refused) = due else { return };
        match cap {
            Cap::PerAddress => tracing::info!(
                cap = cap.code(),
                limit = self.limits.max_per_address,
                refused,
                "connection cap reached: an address holds its share of connections; closing its new ones"
            ),
            Cap::Total => tracing::warn!(
                cap = cap.code(),
                limit = self.limits.max_total,
                refused,
                "connection cap reached: the server holds all the connections its file limit allows; closing new ones"
            ),
        }
    }
}

fn lock(gate: &Mutex<Gate>) -> MutexGuard<'_, Gate> {
    gate.lock().unwrap_or_else(|e| e.into_inner())
}

/// Gives a connection's place back when the connection is dropped.
struct Permit {
    gate: Arc<Mutex<Gate>>,
    ip: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        lock(&self.gate).release(self.ip);
    }
}

/// An admitted TCP connection; its place under the caps is held until it is dropped.
pub struct Counted {
    stream: TcpStream,
    #[allow(dead_code)] // held for its Drop
    permit: Permit,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
