//! `hearth relay`: runs the signalling relay on its own, e.g. on a small
//! server that family devices outside one LAN can all reach. It serves the
//! family viewer page too, so behind TLS it is where family members' links point.

use hearth::relay::{router, serve_router, RelayServerConfig, RelayState};
use std::net::SocketAddr;

/// Arguments of `hearth relay`.
#[derive(clap::Args)]
pub struct RelayArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:7600")]
    listen: SocketAddr,
    /// Relay limits (TOML, see `RelayServerConfig`); defaults are built in.
    #[arg(long)]
    limits: Option<std::path::PathBuf>,
}

/// Runs the relay until Ctrl-C or SIGTERM.
pub fn run(args: RelayArgs) -> anyhow::Result<()> {
    let config = match &args.limits {
        Some(path) => toml::from_str::<RelayServerConfig>(&std::fs::read_to_string(path)?)?,
        None => RelayServerConfig::default(),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr()?;
        println!("Relay listening on ws://{addr}/relay — it forwards sealed envelopes and stores nothing.");
        println!("Viewer page on http://{addr}/ (browsers need HTTPS: see docs/viewer.md)");
        let state = RelayState::new(config)?;
        let app = router(state.clone()).merge(hearth::web::router());
        serve_router(listener, app, state, super::shutdown_signal()).await?;
        Ok(())
    })
}
