//! `hearth-bench relay-cluster`: one `hearth relay` against a cluster of three
//! relay nodes on three routed `nats-server`s (Debian's), side by side in one
//! run: envelopes per second and per relay CPU-second, forwarding latency
//! (p50/p99, one envelope at a time), for one node, for three nodes with
//! sender and receiver on the same node, and on different nodes; then how
//! many connections the three nodes hold and their memory per connection.
//!
//! Node `i` talks to NATS server `i`, so cross-node envelopes also cross a
//! NATS route. Clients come from 127.1.x.y as in `relay.rs` (run as root).
//! The connections are held by three child processes (`relay-hold`), one
//! per node, so no process needs more than ~10,000 sockets of its file limit.

use crate::relay::{connect, drive, open_clients_on, start_relay_on, RelayProcess, UNLIMITED};
use crate::stats::{report, status_mib, Summary};
use ed25519_dalek::SigningKey;
use futures_util::{SinkExt, StreamExt};
use hearth::relay::protocol::ClientFrame;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// One `nats-server`; killed on drop.
struct NatsProcess {
    child: Child,
    port: u16,
}

impl Drop for NatsProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `n` NATS servers routed to each other; returns once all routes are up.
async fn start_nats(n: usize) -> anyhow::Result<Vec<NatsProcess>> {
    let ports: Vec<[u16; 3]> = (0..n)
        .map(|_| Ok([free_port()?, free_port()?, free_port()?]))
        .collect::<anyhow::Result<_>>()?;
    let mut servers = Vec::new();
    for (i, &[port, cluster, monitor]) in ports.iter().enumerate() {
        let routes: Vec<String> = (0..n)
            .filter(|j| *j != i)
            .map(|j| format!("nats://127.0.0.1:{}", ports[j][1]))
            .collect();
        let child = Command::new("nats-server")
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-m",
                &monitor.to_string(),
            ])
            .args(["--cluster", &format!("nats://127.0.0.1:{cluster}")])
            .args([
                "--cluster_name",
                "hearth-bench",
                "--routes",
                &routes.join(","),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!("cannot start nats-server ({e}); apt install nats-server")
            })?;
        servers.push(NatsProcess { child, port });
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for &[_, _, monitor] in &ports {
        while routes(monitor) < (n - 1) as u64 {
            anyhow::ensure!(Instant::now() < deadline, "NATS routes did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(servers)
}

/// `num_routes` from a NATS server's monitoring port (0 if it does not answer).
fn routes(monitor: u16) -> u64 {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", monitor)) else {
        return 0;
    };
    let request = "GET /routez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let mut body = String::new();
    if stream.write_all(request.as_bytes()).is_err() || stream.read_to_string(&mut body).is_err() {
        return 0;
    }
    body.split("\"num_routes\":")
        .nth(1)
        .and_then(|r| r.trim_start().split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Milliseconds from writing a `send` on `from` to the `deliver` arriving on
/// `to`, one envelope at a time, `samples` times after 50 for warm-up.
async fn latency(from: SocketAddr, to: SocketAddr, samples: usize) -> anyhow::Result<Vec<f64>> {
    let (a, b) = (
        SigningKey::generate(&mut rand::rngs::OsRng),
        SigningKey::generate(&mut rand::rngs::OsRng),
    );
    let sender = connect(from, 59_000, &a).await?;
    let mut receiver = connect(to, 59_001, &b).await?;
    let (mut sink, mut answers) = sender.split();
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = answers.next().await {} });
    let frame = ClientFrame::Send {
        id: 1,
        to: hearth::keys::PeerKey(b.verifying_key().to_bytes()),
        data: vec![0x5A; 1024],
    }
    .to_text();
    let mut out = Vec::with_capacity(samples);
    for n in 0..samples + 50 {
        let started = Instant::now();
        sink.send(Message::text(frame.clone())).await?;
        loop {
            match tokio::time::timeout(Duration::from_secs(5), receiver.next()).await? {
                Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"{"t":"deliver""#) => break,
                Some(Ok(_)) => continue,
                _ => anyhow::bail!("the receiver's relay closed"),
            }
        }
        if n >= 50 {
            out.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    drain.abort();
    Ok(out)
}

/// One row of the side-by-side table.
struct Row {
    setup: &'static str,
    rate: Summary,
    per_cpu: f64,
    relay_cpu: f64,
    nats_cpu: f64,
    nats: bool,
    latency: Summary,
}

impl Row {
    /// NATS's CPU as a share of one core after `prefix`; nothing without NATS.
    fn nats_cpu(&self, prefix: &str) -> String {
        match self.nats {
            true => format!("{prefix}{:.0}% of one core", self.nats_cpu * 100.0),
            false => String::new(),
        }
    }
}

/// One of the set-ups compared.
struct Setup<'a> {
    name: &'static str,
    relays: &'a [SocketAddr],
    relay_pids: &'a [u32],
    nats_pids: &'a [u32],
    /// Whom client `i` sends to.
    target: Box<dyn Fn(usize) -> usize>,
    /// Where the latency's sender and receiver connect.
    pair: (SocketAddr, SocketAddr),
}

/// Latency, then throughput with `clients` clients for `seconds`, of `setup`.
async fn measure(setup: Setup<'_>, clients: usize, seconds: u64) -> anyhow::Result<Row> {
    let latency = latency(setup.pair.0, setup.pair.1, 1000).await?;
    let pids: Vec<u32> = setup
        .relay_pids
        .iter()
        .chain(setup.nats_pids)
        .copied()
        .collect();
    let load = drive(setup.relays, clients, seconds, setup.target, &pids).await?;
    let rate = Summary::of(&load.rates).expect("seconds");
    let relay_cpu = load.cpu_of(setup.relay_pids);
    Ok(Row {
        setup: setup.name,
        per_cpu: rate.p50 / relay_cpu,
        relay_cpu,
        nats_cpu: load.cpu_of(setup.nats_pids),
        nats: !setup.nats_pids.is_empty(),
        rate,
        latency: Summary::of(&latency).expect("samples"),
    })
}

/// The whole comparison; `connections` across the three nodes at the end.
pub async fn relay_cluster(clients: usize, seconds: u64, connections: usize) -> anyhow::Result<()> {
    let clients = clients / 3 * 3; // every node gets as many
    let mut rows = Vec::new();
    {
        let one = start_relay_on(Some(UNLIMITED), &[])?;
        let setup = Setup {
            name: "1 node",
            relays: &[one.addr],
            relay_pids: &[one.child.id()],
            nats_pids: &[],
            target: Box::new(move |i| (i + 1) % clients),
            pair: (one.addr, one.addr),
        };
        rows.push(measure(setup, clients, seconds).await?);
    }
    let nats = start_nats(3).await?;
    let nodes: Vec<RelayProcess> = nats
        .iter()
        .map(|n| start_relay_on(Some(UNLIMITED), &[format!("nats://127.0.0.1:{}", n.port)]))
        .collect::<anyhow::Result<_>>()?;
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();
    let relay_pids: Vec<u32> = nodes.iter().map(|n| n.child.id()).collect();
    let nats_pids: Vec<u32> = nats.iter().map(|n| n.child.id()).collect();
    let same = Setup {
        name: "3 nodes, same node",
        relays: &addrs,
        relay_pids: &relay_pids,
        nats_pids: &nats_pids,
        target: Box::new(move |i| (i + 3) % clients),
        pair: (addrs[0], addrs[0]),
    };
    rows.push(measure(same, clients, seconds).await?);
    let across = Setup {
        name: "3 nodes, across nodes",
        relays: &addrs,
        relay_pids: &relay_pids,
        nats_pids: &nats_pids,
        target: Box::new(move |i| (i + 1) % clients),
        pair: (addrs[0], addrs[2]),
    };
    rows.push(measure(across, clients, seconds).await?);

    let single = rows[0].per_cpu;
    for row in &rows {
        report(
            &format!(
                "Relay cluster: {}, {clients} clients, 1 KiB envelopes, 8 in flight each, limits raised",
                row.setup
            ),
            &format!(
                "{} (per 1 s interval); relays used {:.0}% of one core, i.e. {:.0} envelopes per relay \
                 CPU-second ({:.0}% of one node's){}; forwarding latency, one at a time: {}",
                row.rate.show("envelopes/s", 0),
                row.relay_cpu * 100.0,
                row.per_cpu,
                row.per_cpu / single * 100.0,
                row.nats_cpu(", NATS used "),
                row.latency.show("ms", 2),
            ),
            "across nodes ≥ 50% of one node's envelopes per relay CPU-second; p99 < 5 ms",
        );
    }
    println!();
    println!("| set-up | envelopes/s (p50) | per relay CPU-s | vs 1 node | NATS CPU | latency p50 | p99 |");
    println!("|---|---|---|---|---|---|---|");
    for row in &rows {
        println!(
            "| {} | {:.0} | {:.0} | {:.0}% | {} | {:.2} ms | {:.2} ms |",
            row.setup,
            row.rate.p50,
            row.per_cpu,
            row.per_cpu / single * 100.0,
            row.nats_cpu(""),
            row.latency.p50,
            row.latency.p99
        );
    }
    println!();
    held(&addrs, &relay_pids, &nats_pids, connections).await
}

/// Holds `total` connections spread over the nodes, a third of them in each
/// of three `relay-hold` children; reports memory per connection.
async fn held(
    addrs: &[SocketAddr],
    relays: &[u32],
    nats: &[u32],
    total: usize,
) -> anyhow::Result<()> {
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss = |pids: &[u32]| -> f64 {
        pids.iter()
            .map(|&p| status_mib(p, "VmRSS:").unwrap_or(f64::NAN))
            .sum()
    };
    let (relay_idle, nats_idle) = (rss(relays), rss(nats));
    let each = total / addrs.len();
    let started = Instant::now();
    let mut holders = Vec::new();
    for (k, addr) in addrs.iter().enumerate() {
        let child = Command::new(std::env::current_exe()?)
            .args(["relay-hold", "--relay", &addr.to_string()])
            .args([
                "--count",
                &each.to_string(),
                "--first",
                &(k * each).to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        holders.push(Holder::new(child));
    }
    let mut opened = 0;
    for holder in &mut holders {
        opened += holder.ask(None).await?;
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (relay_rss, nats_rss) = (rss(relays), rss(nats));
    let mut still = 0;
    for holder in &mut holders {
        still += holder.ask(Some("count")).await?;
    }
    let total = each * addrs.len();
    report(
        &format!("Relay cluster: {total} authenticated connections across 3 nodes (on 3 NATS servers)"),
        &format!(
            "{opened} opened, {still} still open after 5 s; relays' RSS {relay_rss:.1} MB ({relay_idle:.1} MB idle), \
             {:.1} KiB per connection; NATS servers' RSS {nats_rss:.1} MB ({nats_idle:.1} MB idle), \
             {:.1} KiB per connection; all connected and authenticated in {:.1} s",
            (relay_rss - relay_idle) * 1024.0 / total as f64,
            (nats_rss - nats_idle) * 1024.0 / total as f64,
            took.as_secs_f64()
        ),
        "30,000 connections across 3 nodes on this machine",
    );
    Ok(())
}

/// A `relay-hold` child, spoken to line by line; killed on drop.
struct Holder {
    child: Child,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl Holder {
    fn new(mut child: Child) -> Holder {
        let stdout = child.stdout.take().expect("piped");
        Holder {
            child,
            lines: std::io::BufRead::lines(std::io::BufReader::new(stdout)),
        }
    }

    /// Sends `question` (if any) and reads the number the child answers.
    async fn ask(&mut self, question: Option<&str>) -> anyhow::Result<usize> {
        if let Some(q) = question {
            let stdin = self.child.stdin.as_mut().expect("piped");
            writeln!(stdin, "{q}")?;
        }
        let line = tokio::task::block_in_place(|| self.lines.next())
            .transpose()?
            .unwrap_or_default();
        line.trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("relay-hold said {line:?}"))
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `hearth-bench relay-hold`: opens `count` connections to `relay` (clients
/// numbered from `first`), prints how many, then answers each `count` line
/// on stdin with how many are still open, until stdin closes.
pub async fn hold(relay: SocketAddr, count: usize, first: usize) -> anyhow::Result<()> {
    let clients = open_clients_on(&[relay], count, first).await?;
    let open = Arc::new(AtomicU64::new(0));
    for (_, mut ws) in clients {
        let open = open.clone();
        open.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            while let Some(Ok(_)) = ws.next().await {}
            open.fetch_sub(1, Ordering::Relaxed);
        });
    }
    println!("{}", open.load(Ordering::Relaxed));
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let mut line = String::new();
    use tokio::io::AsyncBufReadExt;
    while stdin.read_line(&mut line).await? > 0 {
        println!("{}", open.load(Ordering::Relaxed));
        line.clear();
    }
    Ok(())
}
