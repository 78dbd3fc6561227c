//! A connection's UDP socket with [`FlightRepair`] on it: every datagram
//! sent and received passes by the repair, and the flights it says to send
//! again go out at once, on the same socket (see `dtls_repair.rs`). Only
//! DTLS handshake datagrams take the lock; media and data pass with a
//! one-byte look (and, while a handshake is watched, a lock per received
//! media packet until the first one ends the watch).

use crate::peer::dtls_repair::{unwrap_channel, FlightRepair};
use std::fmt;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Instant;
use webrtc::runtime::{AsyncUdpSocket, RecvMeta, Transmit};

/// The socket; see the module documentation.
pub struct RepairingSocket {
    inner: Arc<dyn AsyncUdpSocket>,
    repair: Mutex<FlightRepair>,
    /// Mirrors [`FlightRepair::is_watching`], so media skips the lock.
    watching: AtomicBool,
}

impl fmt::Debug for RepairingSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RepairingSocket")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// Whether it starts with a DTLS handshake or ChangeCipherSpec record,
/// maybe in a TURN channel (alerts and application data need no look on
/// the way out).
fn is_handshake_out(datagram: &[u8]) -> bool {
    matches!(unwrap_channel(datagram).1.first(), Some(20 | 22))
}

/// Whether a received datagram may matter to the repair: DTLS, or media
/// (which ends a watch) while a handshake is watched; maybe in a TURN
/// channel.
fn matters_in(datagram: &[u8], watching: bool) -> bool {
    match unwrap_channel(datagram).1.first() {
        Some(20..=63) => true,
        Some(128..=191) => watching,
        _ => false,
    }
}

impl RepairingSocket {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn AsyncUdpSocket>) -> Self {
        RepairingSocket {
            inner,
            repair: Mutex::new(FlightRepair::new()),
            watching: AtomicBool::new(false),
        }
    }

    fn repair(&self) -> std::sync::MutexGuard<'_, FlightRepair> {
        self.repair.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes what was sent (each segment of a GSO batch on its own).
    fn sent(&self, transmit: &Transmit<'_>) {
        let segment = transmit
            .segment_size
            .unwrap_or(transmit.contents.len())
            .max(1);
        for datagram in transmit.contents.chunks(segment) {
            if is_handshake_out(datagram) {
                let mut repair = self.repair();
                repair.on_sent(transmit.destination, datagram, Instant::now());
                self.watching.store(repair.is_watching(), Ordering::Release);
            }
        }
    }

    /// Notes one received datagram and sends what the repair asks for.
    fn received(&self, from: SocketAddr, datagram: &[u8]) {
        if !matters_in(datagram, self.watching.load(Ordering::Acquire)) {
            return;
        }
        let again = {
            let mut repair = self.repair();
            let again = repair.on_received(from, datagram, Instant::now());
            self.watching.store(repair.is_watching(), Ordering::Release);
            again
        };
        let mut cx = Context::from_waker(Waker::noop());
        for copy in again {
            let transmit = Transmit {
                destination: from,
                ecn: None,
                contents: &copy,
                segment_size: None,
                src_ip: None,
            };
            // Best effort, like any UDP send: a full socket buffer loses the copy.
            if let Poll::Ready(Err(error)) = self.inner.poll_send(&mut cx, &transmit) {
                tracing::debug!(%error, peer = %from, "could not send a DTLS flight again");
            }
        }
    }
}

impl AsyncUdpSocket for RepairingSocket {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn poll_send(&self, cx: &mut Context<'_>, transmit: &Transmit<'_>) -> Poll<io::Result<usize>> {
        let sent = self.inner.poll_send(cx, transmit);
        if let Poll::Ready(Ok(_)) = sent {
            self.sent(transmit);
        }
        sent
    }

    fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        let received = self.inner.poll_recv(cx, bufs, meta);
        if let Poll::Ready(Ok(count)) = received {
            for (buf, meta) in bufs.iter().zip(meta.iter()).take(count) {
                let filled = &buf[..meta.len.min(buf.len())];
                for datagram in filled.chunks(meta.stride.max(1)) {
                    self.received(meta.addr, datagram);
                }
            }
        }
        received
    }

    fn max_gso_segments(&self) -> usize {
        self.inner.max_gso_segments()
    }

    fn max_gro_segments(&self) -> usize {
        self.inner.max_gro_segments()
    }
}
