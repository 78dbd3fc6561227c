//! Serves an axum [`Router`] over HTTP/1.1 behind the gated listener: each
//! request's headers must arrive within the header timeout (an idle
//! keep-alive connection is closed after as long), requests carry the
//! client's address as [`ConnectInfo`], and WebSocket upgrades keep their
//! connection's place under the caps. On shutdown it stops accepting, asks
//! open connections to finish, and waits briefly for them.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::listener::{Counted, GatedListener};
use super::EdgeLimits;

/// How long shutdown waits for open HTTP exchanges to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Serves `app` on `listener` under `limits` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: EdgeLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    tracing::debug!(
        per_address = limits.max_per_address,
        total = limits.max_total,
        header_timeout = ?limits.header_read_timeout,
        "connection caps"
    );
    let gated = GatedListener::new(listener, &limits);
    let closing = watch::Sender::new(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            (stream, remote) = gated.accept() => {
                connections.spawn(connection(
                    stream,
                    remote,
                    app.clone(),
                    limits.header_read_timeout,
                    closing.subscribe(),
                ));
                while connections.try_join_next().is_some() {}
            }
            () = &mut shutdown => break,
        }
    }
    drop(gated);
    closing.send_replace(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, drained).await;
    connections.shutdown().await;
}

/// One HTTP/1.1 connection, with upgrades, until it ends or shutdown finishes it.
async fn connection(
    stream: Counted,
    remote: SocketAddr,
    app: Router,
    header_timeout: Duration,
    mut closing: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(remote));
        tower::ServiceExt::oneshot(app.clone(), request.map(axum::body::Body::new))
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    let mut finishing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "HTTP connection ended with an error");
                }
                return;
            }
            _ = closing.wait_for(|c| *c), if !finishing => {
                finishing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
