//! The runtime a connection's driver runs on: the `webrtc` crate's tokio
//! runtime, with two changes. Every UDP socket it opens is a
//! [`RepairingSocket`] (lost DTLS handshake flights are sent again, see
//! `dtls_repair.rs`), and while the connection's [`FastStart`] is on, every
//! `sleep` is capped (see `fast_start.rs`).

use crate::peer::fast_start::FastStart;
use crate::peer::repair_socket::RepairingSocket;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use webrtc::runtime::{
    AsyncInterval, AsyncTcpListener, AsyncTcpStream, AsyncUdpSocket, JoinHandle, Runtime,
    TokioRuntime,
};

/// A [`Runtime`] that delegates to the tokio one, as the module says.
#[derive(Debug)]
pub struct PeerRuntime {
    inner: Arc<dyn Runtime>,
    fast: Option<Arc<FastStart>>,
}

impl PeerRuntime {
    /// The runtime of one connection; `fast` caps its sleeps while on.
    pub fn new(fast: Option<Arc<FastStart>>) -> Self {
        PeerRuntime {
            inner: Arc::new(TokioRuntime),
            fast,
        }
    }
}

impl Runtime for PeerRuntime {
    fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>) -> Box<dyn JoinHandle> {
        self.inner.spawn(future)
    }

    fn spawn_reactor(
        &self,
        reactor_pool_size: usize,
        future: Pin<Box<dyn Future<Output = ()> + Send>>,
    ) -> Box<dyn JoinHandle> {
        self.inner.spawn_reactor(reactor_pool_size, future)
    }

    fn wrap_udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Arc<dyn AsyncUdpSocket>> {
        Ok(Arc::new(RepairingSocket::new(
            self.inner.wrap_udp_socket(socket)?,
        )))
    }

    fn wrap_tcp_listener(
        &self,
        listener: std::net::TcpListener,
    ) -> io::Result<Arc<dyn AsyncTcpListener>> {
        self.inner.wrap_tcp_listener(listener)
    }

    fn connect_tcp<'a>(
        &'a self,
        remote_addr: SocketAddr,
    ) -> Pin<Box<dyn Future<Output = io::Result<Arc<dyn AsyncTcpStream>>> + Send + 'a>> {
        self.inner.connect_tcp(remote_addr)
    }

    fn resolve_host<'a>(
        &'a self,
        host: &'a str,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        self.inner.resolve_host(host)
    }

    fn now(&self) -> Instant {
        self.inner.now()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        let duration = match &self.fast {
            Some(fast) => fast.capped(duration),
            None => duration,
        };
        self.inner.sleep(duration)
    }

    fn interval(&self, period: Duration) -> Box<dyn AsyncInterval> {
        self.inner.interval(period)
    }

    fn block_on(&self, future: Pin<Box<dyn Future<Output = ()> + '_>>) {
        self.inner.block_on(future)
    }

    fn yield_now(&self) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        self.inner.yield_now()
    }

    fn name(&self) -> &'static str {
        "hearth"
    }
}
