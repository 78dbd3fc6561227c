//! The device's web server (viewer page and WHEP, without the embedded relay)
//! counts TCP connections per address and drops idle ones: 100 idle
//! connections from 127.0.0.1 keep 64 places, the rest are closed at once,
//! the 64 after the header timeout, and 127.0.0.2 is served all along.

mod support;

use std::time::Duration;

use anyhow::Result;
use axum::routing::get;
use axum::Router;
use futures_util::future::join_all;
use support::raw_relay::tcp_from;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};

/// Whether the server closed `stream` before `deadline`.
async fn closed_by(stream: &mut TcpStream, deadline: Instant) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        timeout_at(deadline, stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_capped_per_address_and_timed_out() -> Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let app = Router::new().route("/healthz", get(|| async { "ok" }));
    let addr = hearth::device::http::start("127.0.0.1:0".parse()?, None, app, stopped)
        .await?
        .expect("bound")
        .addr
        .expect("bound");

    let mut idle = Vec::new();
    for _ in 0..100 {
        idle.push(TcpStream::connect(addr).await?);
    }
    // Those over the per-address cap are closed at once.
    let soon = Instant::now() + Duration::from_secs(2);
    let closed = join_all(idle.iter_mut().map(|s| closed_by(s, soon))).await;
    let closed_at_once = closed.iter().filter(|c| **c).count();
    eprintln!("closed at once: {closed_at_once} of 100");
    assert_eq!(closed_at_once, 100 - 64);

    // Another address is served meanwhile.
    let mut other = tcp_from([127, 0, 0, 2], addr, None).await?;
    other
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await?;
    let mut response = String::new();
    timeout(Duration::from_secs(5), other.read_to_string(&mut response)).await??;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("ok"), "{response}");

    // The 64 kept are closed once the header timeout (10 s) passes.
    let later = Instant::now() + Duration::from_secs(15);
    let kept: Vec<&mut TcpStream> = idle
        .iter_mut()
        .zip(closed)
        .filter(|(_, c)| !c)
        .map(|(s, _)| s)
        .collect();
    let closed_later = join_all(kept.into_iter().map(|s| closed_by(s, later))).await;
    let closed_later = closed_later.iter().filter(|c| **c).count();
    eprintln!("closed by the header timeout: {closed_later} of 64");
    assert_eq!(closed_later, 64);
    stop.send_replace(true);
    Ok(())
}
