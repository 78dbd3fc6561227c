//! `hearth relay`: runs the signalling relay on its own, e.g. on a small
//! server that family devices outside one LAN can all reach.

use hearth::relay::{serve, RelayConfig};
use std::net::SocketAddr;

/// Arguments of `hearth relay`.
#[derive(clap::Args)]
pub struct RelayArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:7600")]
    listen: SocketAddr,
    /// Relay limits (TOML, see `RelayConfig`); defaults are built in.
    #[arg(long)]
    limits: Option<std::path::PathBuf>,
}

/// Runs the relay until Ctrl-C or SIGTERM.
pub fn run(args: RelayArgs) -> anyhow::Result<()> {
    let config = match &args.limits {
        Some(path) => toml::from_str::<RelayConfig>(&std::fs::read_to_string(path)?)?,
        None => RelayConfig::default(),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
        println!(
            "Relay listening on ws://{}/relay — it forwards sealed envelopes and stores nothing.",
            listener.local_addr()?
        );
        serve(listener, config, super::shutdown_signal()).await?;
        Ok(())
    })
}
