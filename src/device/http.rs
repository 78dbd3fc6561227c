//! The device's web server: one port for the family viewer page, WHEP for
//! standard players, and — when embedded — the signalling relay at `/relay`.
//! It is served through [`crate::edge`] either way: connections are capped
//! per address and in all, and request headers have a read timeout.

use crate::edge::EdgeLimits;
use crate::relay::{RelayServerConfig, RelayState};
use crate::whep::WhepState;
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use tokio::sync::watch;

/// Errors starting the web server.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The address could not be bound.
    #[error(
        "cannot listen on {addr}: {source} (set [http] listen in the config to another address)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// The routes every device serves: the family viewer page ([`crate::web`]),
/// WHEP (`whep` is what its routes need) and a health check.
pub fn routes(whep: WhepState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(crate::whep::router(whep))
        .merge(crate::web::router())
}

/// Starts the web server on `addr`, with a relay using `embedded` at `/relay` if given.
/// Returns the running server, or `None` when the address is taken by another
/// Hearth (then its relay is used).
pub async fn start(
    addr: SocketAddr,
    embedded: Option<RelayServerConfig>,
    app: Router,
    mut stopped: watch::Receiver<bool>,
) -> Result<Option<WebServer>, HttpError> {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && embedded.is_some() => {
            tracing::warn!(%addr, "the web address is in use (another Hearth?); using its relay, serving no page");
            return Ok(None);
        }
        Err(source) => return Err(HttpError::Bind { addr, source }),
    };
    let local = listener.local_addr().ok();
    let shutdown = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    let task = tokio::spawn(async move {
        let result = if let Some(relay_config) = embedded {
            let state = match RelayState::new(relay_config) {
                Ok(state) => state,
                Err(e) => {
                    tracing::error!(error = %e, "the embedded relay's settings are invalid; serving no relay");
                    return;
                }
            };
            let app = app.merge(crate::relay::router(state.clone()));
            crate::relay::serve_router(listener, app, state, shutdown)
                .await
                .map_err(|e| e.to_string())
        } else {
            crate::edge::serve(listener, app, EdgeLimits::default(), shutdown).await;
            Ok(())
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "web server stopped");
        }
    });
    Ok(Some(WebServer { addr: local, task }))
}

/// A web server that runs until the stop signal.
#[derive(Debug)]
pub struct WebServer {
    /// Where it listens.
    pub addr: Option<SocketAddr>,
    /// Its task: ends once it has stopped (connections drained).
    pub task: tokio::task::JoinHandle<()>,
}
