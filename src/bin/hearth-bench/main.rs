//! `hearth-bench`: the end-to-end measurements behind BENCHMARKS.md (issue #7, and the
//! privacy switch of issue #5).
//!
//! Each subcommand runs one measurement on this machine and prints a Markdown block
//! with the result (median and spread), the goal, the exact command, the machine and
//! the load average. Build with `--release`. Micro-benchmarks live in `benches/`.

mod datachannel;
mod encode;
mod fanout;
mod hooks;
mod household;
mod http;
mod latency;
mod privacy;
mod recovery;
mod relay;
mod relay_cluster;
// The set-ups the integration tests use too (a `[[bin]]` cannot use the tests'
// dev-dependencies, so this one file of `tests/support` is shared alone); not
// every helper in it is used here.
#[allow(dead_code)]
#[path = "../../../tests/support/setup.rs"]
mod setup;
mod snapshot;
mod soak;
mod stats;
mod world;

use clap::{Parser, Subcommand};
use tracing_subscriber::prelude::*;

/// End-to-end benchmarks of Hearth; prints lines for BENCHMARKS.md.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Bench,
}

/// A frame size such as `640x480`.
#[derive(Clone, Copy, Debug)]
struct Size(u32, u32);

impl std::str::FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (w, h) = s
            .split_once('x')
            .ok_or("expected WIDTHxHEIGHT, e.g. 640x480")?;
        let n = |v: &str| v.parse::<u32>().map_err(|e| format!("{v}: {e}"));
        Ok(Size(n(w)?, n(h)?))
    }
}

#[derive(Subcommand)]
enum Bench {
    /// Glass-to-glass latency: camera frame number → decoded frame, loopback.
    Latency {
        #[arg(long, default_value = "640x480")]
        size: Size,
        /// Decoded frames to measure (after 30 warm-up frames).
        #[arg(long, default_value_t = 300)]
        frames: usize,
    },
    /// WHEP POST → first decoded frame with a Hearth player, fresh session each run.
    FirstFrame {
        #[arg(long, default_value = "640x480")]
        size: Size,
        #[arg(long, default_value_t = 30)]
        runs: usize,
        /// `hearth` (our own player, loopback) or `aiortc` (Python, via `--python`).
        #[arg(long, default_value = "hearth")]
        client: String,
        /// A Python that imports aiortc 1.16 (e.g. the venv `cargo test --test whep_aiortc` makes).
        #[arg(long, default_value = "python3")]
        python: String,
        /// Keep another Hearth player watching throughout (pipeline already running).
        #[arg(long)]
        busy: bool,
    },
    /// Media back after the path breaks: the device moves to a new address
    /// (`--cut move`) or UDP is dropped for `--outage` seconds (`--cut outage`).
    /// Two network namespaces; needs root.
    Recovery {
        /// `move` or `outage`.
        #[arg(long, default_value = "move")]
        cut: String,
        /// Seconds UDP is dropped for (`--cut outage`).
        #[arg(long, default_value_t = 30)]
        outage: u64,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Data-channel throughput with backpressure, and offer → channel open.
    Datachannel {
        /// MiB per run.
        #[arg(long, default_value_t = 64)]
        mib: usize,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Device CPU and RSS with 0, 1, 2, 4, 8 viewers at 720p30 (`hearth run` child).
    Fanout {
        #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
        viewers: Vec<usize>,
        /// Seconds of measurement per row.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Connections a `hearth relay` holds, and its memory per connection.
    RelayConnections {
        #[arg(long, default_value_t = 10_000)]
        count: usize,
    },
    /// Envelopes per second a `hearth relay` forwards among many clients.
    RelayEnvelopes {
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Raise the per-key rate limit, to measure the relay rather than its policy.
        #[arg(long)]
        unlimited: bool,
    },
    /// One relay against three relay nodes on NATS, side by side: envelopes/s,
    /// per relay CPU-second, latency p50/p99; then connections across the nodes.
    RelayCluster {
        /// Clients sending envelopes in each set-up (a multiple of 3).
        #[arg(long, default_value_t = 300)]
        clients: usize,
        /// Seconds of measurement per set-up.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Connections held across the three nodes at the end.
        #[arg(long, default_value_t = 30_000)]
        connections: usize,
    },
    /// Helper of `relay-cluster`: holds connections to one relay node.
    #[command(hide = true)]
    RelayHold {
        #[arg(long)]
        relay: std::net::SocketAddr,
        #[arg(long)]
        count: usize,
        /// Number of the first client (picks its source address).
        #[arg(long)]
        first: usize,
    },
    /// SHARE pressed → a snapshot JPEG acknowledged by every contact (loopback).
    Snapshot {
        #[arg(long, default_value = "1920x1080")]
        size: Size,
        /// Contacts allowed `snapshots`, each connected to the device.
        #[arg(long, default_value_t = 4)]
        contacts: usize,
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Add sensor-like noise to the simulated camera (a realistic JPEG size).
        #[arg(long)]
        noisy: bool,
    },
    /// PRIVACY pressed → viewers' media stops, LED off, screen PRIVATE.
    Privacy {
        /// Contacts watching and listening.
        #[arg(long, default_value_t = 2)]
        viewers: usize,
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// N minutes of a device with 4 viewers, shares, privacy toggled, the relay
    /// restarted and the link cut: RSS, open files and threads must stay flat, no
    /// share lost. Two network namespaces; needs root.
    Soak {
        #[arg(long, default_value_t = 30)]
        minutes: u64,
    },
    /// openh264 against x264 (ffmpeg) on the same raw frames.
    Encode {
        #[arg(long, default_value = "640x480")]
        size: Size,
        #[arg(long, default_value_t = 300)]
        frames: u32,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
}

fn main() -> anyhow::Result<()> {
    let _ = stats::START_LOAD.set(stats::load());
    let cli = Cli::parse();
    let logs = tracing_subscriber::EnvFilter::try_from_env("HEARTH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    // The timing hooks only where they are used: their debug-level targets raise the
    // level `log` records from the WebRTC crates are checked at, which costs a few
    // per cent of CPU in a busy stack (seen in the data-channel profile).
    let hooks = matches!(cli.command, Bench::Snapshot { .. } | Bench::Privacy { .. })
        .then(|| hooks::HookLayer.with_filter(hooks::targets()));
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(logs),
        )
        .with(hooks)
        .init();
    if let Bench::Encode { size, frames, runs } = cli.command {
        return encode::compare(size.0, size.1, frames, runs);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Bench::Latency { size, frames } => latency::glass_to_glass(size.0, size.1, frames).await,
            Bench::FirstFrame { size, runs, client, python, busy } => match client.as_str() {
                "hearth" => latency::first_frame(size.0, size.1, runs, busy).await,
                "aiortc" => latency::first_frame_aiortc(size.0, size.1, runs, &python).await,
                other => anyhow::bail!("--client {other}: use hearth or aiortc (Chromium: cargo bench --bench chromium_first_frame)"),
            },
            Bench::Recovery { cut, outage, runs } => recovery::recovery(cut, outage, runs).await,
            Bench::Datachannel { mib, runs } => datachannel::throughput(mib, runs).await,
            Bench::Fanout { viewers, seconds } => fanout::fanout(&viewers, seconds).await,
            Bench::RelayConnections { count } => relay::connections(count).await,
            Bench::RelayEnvelopes { clients, seconds, unlimited } => {
                relay::envelopes(clients, seconds, unlimited).await
            }
            Bench::RelayCluster {
                clients,
                seconds,
                connections,
            } => relay_cluster::relay_cluster(clients, seconds, connections).await,
            Bench::RelayHold {
                relay,
                count,
                first,
            } => relay_cluster::hold(relay, count, first).await,
            Bench::Snapshot {
                size,
                contacts,
                runs,
                noisy,
            } => snapshot::snapshot(size, contacts, runs, noisy).await,
            Bench::Privacy { viewers, runs } => privacy::privacy(viewers, runs).await,
            Bench::Soak { minutes } => soak::soak(minutes).await,
            Bench::Encode { .. } => unreachable!("handled above"),
        }
    })
}
