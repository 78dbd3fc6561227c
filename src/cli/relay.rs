//! `hearth relay`: runs the signalling relay on its own, e.g. on a small
//! server that family devices outside one LAN can all reach. It serves the
//! family viewer page too, so behind TLS it is where family members' links
//! point. `hearth relay --check` tries the TURN servers of its config instead.
//! With `--nats`, it is one node of a cluster of relays that act as one.

use hearth::relay::{router, serve_router, turn_check, RelayServerConfig, RelayState};
use std::net::SocketAddr;
use std::time::Duration;

/// Arguments of `hearth relay`.
#[derive(clap::Args)]
pub struct RelayArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:7600")]
    listen: SocketAddr,
    /// Relay settings (TOML, see docs/relay.md): limits and the `[ice]`
    /// STUN/TURN servers it hands out; defaults are built in.
    #[arg(long = "relay-config", visible_alias = "limits")]
    relay_config: Option<std::path::PathBuf>,
    /// NATS servers (nats://host:4222,…) joining this relay with others into
    /// one cluster; overrides `[nats] urls` of the config. Unset, the relay
    /// runs alone and needs no NATS (see docs/relay.md).
    #[arg(long, value_delimiter = ',', value_name = "URL[,URL…]")]
    nats: Vec<String>,
    /// Do not serve: allocate on each configured TURN server with freshly
    /// minted credentials, say what is wrong if that fails, and exit.
    #[arg(long)]
    check: bool,
}

/// How long `--check` waits for one TURN server.
const CHECK_WAIT: Duration = Duration::from_secs(5);

/// Runs the relay until Ctrl-C or SIGTERM (or checks its TURN servers).
pub fn run(args: RelayArgs) -> anyhow::Result<()> {
    let mut config = match &args.relay_config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            toml::from_str::<RelayServerConfig>(&text)
                .map_err(|e| anyhow::anyhow!("{} is invalid: {e}", path.display()))?
        }
        None => RelayServerConfig::default(),
    };
    if !args.nats.is_empty() {
        config.nats.urls = args.nats.clone();
    }
    config.validate()?;
    let runtime = tokio::runtime::Runtime::new()?;
    if args.check {
        return runtime.block_on(check(&config));
    }
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr()?;
        let nodes = config.nats.urls.len();
        let ice = config.ice.clone();
        let state = RelayState::start(config).await?;
        if nodes > 0 {
            println!("Cluster node: sharing one key space with the other relays through NATS ({nodes} server URL(s)).");
        }
        println!("Relay listening on ws://{addr}/relay — it forwards sealed envelopes and stores nothing.");
        println!("Viewer page on http://{addr}/ (browsers need HTTPS: see docs/viewer.md)");
        if !ice.is_empty() {
            println!(
                "Handing out {} STUN and {} TURN URL(s) to clients that proved their key (credentials for {} s).",
                ice.stun_urls.len(),
                ice.turn_urls.len(),
                ice.credential_ttl_secs
            );
        }
        let app = router(state.clone()).merge(hearth::web::router());
        serve_router(listener, app, state, super::shutdown_signal()).await?;
        Ok(())
    })
}

/// `--check`: one line per TURN URL, an error naming the cause if any failed.
async fn check(config: &RelayServerConfig) -> anyhow::Result<()> {
    let results = turn_check::check(&config.ice, CHECK_WAIT).await;
    let mut failed = 0;
    for (url, result) in results {
        match result {
            Ok(allocated) => println!(
                "ok: {url} allocated a relay address ({}) with freshly minted credentials",
                allocated.relayed
            ),
            Err(e) => {
                failed += 1;
                eprintln!("FAILED: {e}");
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} TURN check(s) failed; see above");
    }
    Ok(())
}
