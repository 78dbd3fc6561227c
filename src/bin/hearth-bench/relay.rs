//! Relay capacity against the real `hearth relay` binary (a separate process, so its
//! memory is its own): how many authenticated connections it holds and at what memory
//! per connection, and how many envelopes per second it forwards among 1,000 clients.
//!
//! Each client speaks the wire protocol directly (challenge → signed auth → ready) from
//! its own loopback source address (127.1.x.y), so the relay's per-IP cap stays at its
//! default. 10,000 sockets need `ulimit -n` above 20,000 for this shell.

use crate::fanout::hearth_binary;
use crate::stats::{cpu_seconds, report, status_mib, Summary};
use ed25519_dalek::{Signer, SigningKey};
use futures_util::{SinkExt, StreamExt};
use hearth::relay::protocol::{auth_message, ClientFrame, ServerFrame};
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<tokio::net::TcpStream>;

/// A `hearth relay` child process; killed on drop.
pub(crate) struct RelayProcess {
    /// The process.
    pub(crate) child: Child,
    /// Where it accepts WebSockets.
    pub(crate) addr: SocketAddr,
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_relay(limits: Option<&str>) -> anyhow::Result<RelayProcess> {
    start_relay_on(limits, &[])
}

/// `hearth relay` with `limits` (TOML), a node of the cluster on the NATS
/// servers `nats` unless that is empty.
pub(crate) fn start_relay_on(
    limits: Option<&str>,
    nats: &[String],
) -> anyhow::Result<RelayProcess> {
    let mut cmd = Command::new(hearth_binary());
    cmd.args(["relay", "--listen", "127.0.0.1:0"]);
    if !nats.is_empty() {
        cmd.arg("--nats").arg(nats.join(","));
    }
    if let Some(toml) = limits {
        let path =
            std::env::temp_dir().join(format!("hearth-bench-limits-{}.toml", std::process::id()));
        std::fs::write(&path, toml)?;
        cmd.arg("--limits").arg(path);
    }
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut first = String::new();
    for line in lines.by_ref() {
        first = line?;
        if first.contains("ws://") {
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    let addr = first
        .split("ws://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("relay printed {first:?}"))?;
    Ok(RelayProcess { child, addr })
}

fn source_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250 + 1) as u8)
}

pub(crate) async fn next(ws: &mut Ws) -> anyhow::Result<ServerFrame> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(t.as_str())?),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("relay closed"),
        }
    }
}

pub(crate) async fn connect(relay: SocketAddr, i: usize, key: &SigningKey) -> anyhow::Result<Ws> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source_ip(i).into(), 0))?;
    let stream = socket.connect(relay).await?;
    let (mut ws, _) =
        tokio_tungstenite::client_async(format!("ws://{relay}/relay"), stream).await?;
    let ServerFrame::Challenge { nonce } = next(&mut ws).await? else {
        anyhow::bail!("no challenge")
    };
    let auth = ClientFrame::Auth {
        key: hearth::keys::PeerKey(key.verifying_key().to_bytes()),
        sig: key.sign(&auth_message(&nonce)).to_bytes(),
    };
    ws.send(Message::text(auth.to_text())).await?;
    match next(&mut ws).await? {
        ServerFrame::Ready => Ok(ws),
        other => anyhow::bail!("expected ready, got {other:?}"),
    }
}

/// Opens `total` clients, 200 at a time; returns them with their keys.
async fn open_clients(relay: SocketAddr, total: usize) -> anyhow::Result<Vec<(SigningKey, Ws)>> {
    open_clients_on(&[relay], total, 0).await
}

/// Opens `total` clients numbered from `first` (the number picks the source
/// address), client `i` on `relays[i % relays.len()]`, 200 at a time;
/// returns them with their keys.
pub(crate) async fn open_clients_on(
    relays: &[SocketAddr],
    total: usize,
    first: usize,
) -> anyhow::Result<Vec<(SigningKey, Ws)>> {
    let keys: Vec<_> = (0..total)
        .map(|_| SigningKey::generate(&mut rand::rngs::OsRng))
        .collect();
    let mut out = Vec::with_capacity(total);
    for (start, batch) in keys.chunks(200).enumerate() {
        let tasks: Vec<_> = batch
            .iter()
            .enumerate()
            .map(|(j, key)| {
                let key = key.clone();
                let i = first + start * 200 + j;
                let relay = relays[i % relays.len()];
                tokio::spawn(async move {
                    let ws = connect(relay, i, &key).await;
                    ws.map(|ws| (key, ws))
                })
            })
            .collect();
        for t in tasks {
            out.push(t.await??);
        }
    }
    Ok(out)
}

/// Holds `total` connections and reports the relay's memory per connection.
pub async fn connections(total: usize) -> anyhow::Result<()> {
    let relay = start_relay(None)?;
    let pid = relay.child.id();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = status_mib(pid, "VmRSS:").unwrap_or(f64::NAN);
    let started = Instant::now();
    let clients = open_clients(relay.addr, total).await?;
    let took = started.elapsed();
    // Keep reading so pings are answered; hold for a few seconds, then measure.
    let held = Arc::new(AtomicU64::new(0));
    for (_, mut ws) in clients {
        let held = held.clone();
        held.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            while let Some(Ok(_)) = ws.next().await {}
            held.fetch_sub(1, Ordering::Relaxed);
        });
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss = status_mib(pid, "VmRSS:").unwrap_or(f64::NAN);
    let still = held.load(Ordering::Relaxed);
    report(
        &format!("Relay: {total} authenticated connections held (`hearth relay`, default limits)"),
        &format!(
            "{still} of {total} still open after 5 s; relay RSS {rss:.1} MB ({idle:.1} MB idle), \
             {:.1} KiB per connection; all connected and authenticated in {:.1} s",
            (rss - idle) * 1024.0 / total as f64,
            took.as_secs_f64()
        ),
        "10,000 connections in ≤ 150 MB",
    );
    Ok(())
}

/// Limits that measure the relay rather than its per-key policy.
pub(crate) const UNLIMITED: &str = "messages_per_second = 1000000\nburst = 1000000\n";

/// Each of `clients` sends 1 KiB envelopes to the next one, keeping 8 in
/// flight, for `seconds`; reports envelopes forwarded per second.
pub async fn envelopes(clients: usize, seconds: u64, unlimited: bool) -> anyhow::Result<()> {
    let relay = start_relay(unlimited.then_some(UNLIMITED))?;
    let pid = relay.child.id();
    let load = drive(
        &[relay.addr],
        clients,
        seconds,
        |i| (i + 1) % clients,
        &[pid],
    )
    .await?;
    let relay_cpu = load.cpu_of(&[pid]);
    let s = Summary::of(&load.rates).expect("seconds");
    let policy = if unlimited {
        "rate limit raised to 1,000,000/s per key (`--limits`)"
    } else {
        "default limits: 50 envelopes/s per key, burst 100"
    };
    report(
        &format!("Relay: envelopes forwarded per second, {clients} clients, 1 KiB envelopes, 8 in flight each, {policy}"),
        &format!(
            "{} (per 1 s interval); {} refused or rate-limited in all; the relay used {:.0}% \
             of one core, i.e. {:.0} envelopes per relay CPU-second (the clients, in this \
             process, used the rest of the machine)",
            s.show("envelopes/s", 0),
            load.refused,
            relay_cpu * 100.0,
            s.p50 / relay_cpu
        ),
        "≥ 50,000 envelopes/s",
    );
    Ok(())
}

/// What [`drive`] measured.
pub(crate) struct Load {
    /// Envelopes delivered in each 1 s interval.
    pub(crate) rates: Vec<f64>,
    /// Sends refused, rate-limited or answered offline, in all.
    pub(crate) refused: u64,
    cpu: Vec<(u32, f64)>,
    seconds: f64,
}

impl Load {
    /// Cores the processes `pids` used on average while measuring.
    pub(crate) fn cpu_of(&self, pids: &[u32]) -> f64 {
        self.cpu
            .iter()
            .filter(|(pid, _)| pids.contains(pid))
            .map(|(_, cpu)| cpu)
            .sum::<f64>()
            / self.seconds
    }
}

/// `clients` clients, client `i` on `relays[i % n]`, each sending 1 KiB
/// envelopes to client `target(i)` with 8 in flight; after 2 s of warm-up,
/// `seconds` of 1 s intervals, taking the CPU time of `pids` over them.
pub(crate) async fn drive(
    relays: &[SocketAddr],
    clients: usize,
    seconds: u64,
    target: impl Fn(usize) -> usize,
    pids: &[u32],
) -> anyhow::Result<Load> {
    let opened = open_clients_on(relays, clients, 0).await?;
    let keys: Vec<_> = opened
        .iter()
        .map(|(k, _)| k.verifying_key().to_bytes())
        .collect();
    let (forwarded, delivered, refused) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (quit_tx, quit_rx) = tokio::sync::watch::channel(false);
    let payload = vec![0xA5u8; 1024];
    for (i, (_, ws)) in opened.into_iter().enumerate() {
        let to = keys[target(i)];
        let (mut sink, mut stream) = ws.split();
        let (forwarded, delivered, refused, stop) = (
            forwarded.clone(),
            delivered.clone(),
            refused.clone(),
            stop.clone(),
        );
        let (credit_tx, mut credit) = tokio::sync::mpsc::channel::<()>(64);
        for _ in 0..8 {
            credit_tx.try_send(()).expect("room");
        }
        // The load generator must stay cheaper than the relay: one serialised frame per
        // client, reused (the relay only echoes the id), and replies told apart by their
        // tag instead of being parsed.
        let frame = Utf8Bytes::from(
            ClientFrame::Send {
                id: 1,
                to: hearth::keys::PeerKey(to),
                data: payload.clone(),
            }
            .to_text(),
        );
        tokio::spawn(async move {
            while credit.recv().await.is_some() && !stop.load(Ordering::Relaxed) {
                if sink.send(Message::Text(frame.clone())).await.is_err() {
                    break;
                }
            }
        });
        let mut quit = quit_rx.clone();
        tokio::spawn(async move {
            // Ends at `quit`, closing the client: later measurements start clean.
            loop {
                let message = tokio::select! {
                    message = stream.next() => match message {
                        Some(Ok(message)) => message,
                        _ => break,
                    },
                    _ = quit.changed() => break,
                };
                let Message::Text(text) = message else {
                    continue;
                };
                let tag = text.as_str().get(..16).unwrap_or("");
                if tag.starts_with(r#"{"t":"sent""#) {
                    forwarded.fetch_add(1, Ordering::Relaxed);
                    let _ = credit_tx.try_send(());
                } else if tag.starts_with(r#"{"t":"deliver""#) {
                    delivered.fetch_add(1, Ordering::Relaxed);
                } else if tag.starts_with(r#"{"t":"error""#) || tag.starts_with(r#"{"t":"offline""#)
                {
                    refused.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let _ = credit_tx.try_send(());
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(2)).await; // warm up
    let cpu0: Vec<f64> = pids
        .iter()
        .map(|&p| cpu_seconds(p).unwrap_or(f64::NAN))
        .collect();
    let mut rates = Vec::new();
    for _ in 0..seconds {
        let before = delivered.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(1)).await;
        rates.push((delivered.load(Ordering::Relaxed) - before) as f64);
    }
    let cpu = pids
        .iter()
        .zip(cpu0)
        .map(|(&p, c0)| (p, cpu_seconds(p).unwrap_or(f64::NAN) - c0))
        .collect();
    stop.store(true, Ordering::Relaxed);
    // Let the senders stop, then close every client.
    tokio::time::sleep(Duration::from_millis(300)).await;
    quit_tx.send_replace(true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(Load {
        rates,
        refused: refused.load(Ordering::Relaxed),
        cpu,
        seconds: seconds as f64,
    })
}
