//! The relay faces the internet: a host that opens 1,100 idle TCP connections
//! must not lock anyone else out, and a WebSocket ping flood is cut without
//! starving well-behaved clients. Real sockets on loopback only.

mod support;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::future::join_all;
use futures_util::{SinkExt, StreamExt};
use support::raw_relay::*;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Idle connections the hostile host opens (more than the relay's 1,024 files).
const IDLE: usize = 1_100;
/// The relay process's file limit: the default soft limit of most systems.
const RELAY_FILES: u32 = 1_024;

/// Raises this test process's soft file limit to `want` (within the hard
/// limit): its 1,100 client sockets must not be what runs out.
fn raise_own_file_limit(want: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < want {
            limit.rlim_cur = want.min(limit.rlim_max);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
    }
    assert!(
        limit.rlim_cur >= (IDLE as u64) + 200,
        "this test needs {} open files; the hard limit is {}",
        IDLE + 200,
        limit.rlim_max
    );
}

/// `hearth relay` in its own process with `files` as its soft file limit.
struct RelayProcess {
    addr: SocketAddr,
    child: tokio::process::Child,
    log: tempfile::NamedTempFile,
}

impl RelayProcess {
    async fn start(files: u32) -> Result<Self> {
        let log = tempfile::NamedTempFile::new()?;
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -Sn {files} && exec \"$0\" relay --listen 127.0.0.1:0"
            ))
            .arg(env!("CARGO_BIN_EXE_hearth"))
            .env("HEARTH_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log.reopen()?)
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = timeout(Duration::from_secs(20), lines.next_line())
            .await
            .context("relay did not start")??
            .context("relay exited")?;
        let addr = line
            .split("ws://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .context("no address in the relay's first line")?
            .parse()?;
        // Keep reading: a closed pipe would make the relay's next line fail.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { addr, child, log })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_tcp_flood_from_one_address_does_not_lock_out_others() -> Result<()> {
    raise_own_file_limit(4_096);
    let mut relay = RelayProcess::start(RELAY_FILES).await?;
    let addr = relay.addr;

    // The hostile host: 1,100 connections from 127.0.0.1 that never send a byte.
    let mut idle: Vec<TcpStream> = Vec::new();
    for _ in 0..IDLE / 100 {
        let batch = (0..100).map(|_| timeout(Duration::from_secs(3), TcpStream::connect(addr)));
        idle.extend(join_all(batch).await.into_iter().flatten().flatten());
    }
    let opened = idle.len();
    eprintln!("idle connections opened by the hostile host: {opened}");

    // A well-behaved client from another address connects, authenticates and is served.
    let started = Instant::now();
    let good = timeout(Duration::from_secs(5), async {
        let stream = tcp_from([127, 0, 0, 2], addr, None).await?;
        authed_on(stream, addr, &signer(1)).await
    })
    .await;
    eprintln!(
        "well-behaved client: {:?} after {:?}",
        good.as_ref().map(|r| r.is_ok()),
        started.elapsed()
    );
    let mut good = good
        .context("the well-behaved client got no answer within 5 s")?
        .context("the well-behaved client was refused")?;
    send(&mut good, serde_json::json!({"t": "ping"})).await?;
    let pong = recv(&mut good).await?.context("closed")?;
    assert_eq!(pong["t"], "pong", "{pong}");

    // The idle connections the relay kept are closed once the header timeout passes.
    let deadline = Instant::now() + Duration::from_secs(25);
    let closed = join_all(idle.iter_mut().map(|s| async move {
        let mut byte = [0u8; 1];
        matches!(
            timeout_at(deadline, s.read(&mut byte)).await,
            Ok(Ok(0) | Err(_))
        )
    }))
    .await;
    let closed = closed.iter().filter(|c| **c).count();
    eprintln!("idle connections closed by the relay within 25 s: {closed} of {opened}");
    assert_eq!(closed, opened, "idle connections are held open");

    // The cap was logged, without the address at info level.
    let log = relay.log();
    let cap_lines: Vec<&str> = log.lines().filter(|l| l.contains("cap")).collect();
    assert!(!cap_lines.is_empty(), "no log line about the cap:\n{log}");
    for line in &cap_lines {
        assert!(
            !line.contains("127.0.0."),
            "an address at info level: {line}"
        );
    }
    relay.child.start_kill()?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_flood_is_cut_and_does_not_starve_others() -> Result<()> {
    let addr = spawn_relay().await?;

    let (alice, bob) = (signer(1), signer(2));
    let mut a = authed(addr, &alice).await?;
    let mut b = authed(addr, &bob).await?;
    let flooder = authed(addr, &signer(9)).await?;
    let (mut flood, mut replies) = flooder.split();
    let cut_seen = tokio::spawn(async move {
        while let Some(message) = replies.next().await {
            if matches!(message, Err(_) | Ok(Message::Close(_))) {
                break;
            }
        }
    });

    // A well-behaved pair exchanges 40 envelopes while the flood runs.
    let good = tokio::spawn(async move {
        let mut rtts = Vec::new();
        for id in 0..40u64 {
            let sent_at = Instant::now();
            send(&mut a, send_frame(id, &bob, b"hello")).await?;
            let ack = recv(&mut a).await?.context("a closed")?;
            anyhow::ensure!(ack == serde_json::json!({"t": "sent", "id": id}), "{ack}");
            let got = recv(&mut b).await?.context("b closed")?;
            anyhow::ensure!(got["t"] == "deliver", "{got}");
            rtts.push(sent_at.elapsed());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        anyhow::Ok(rtts)
    });

    let deadline = Instant::now() + Duration::from_secs(5);
    let mut pings = 0u64;
    let mut cut = false;
    while Instant::now() < deadline {
        if cut_seen.is_finished() {
            cut = true;
            break;
        }
        if flood.send(Message::Ping(Vec::new().into())).await.is_err() {
            cut = true;
            break;
        }
        pings += 1;
    }
    let mut rtts = good.await??;
    rtts.sort();
    eprintln!(
        "flooder sent {pings} pings, cut: {cut}; well-behaved round trips p50 {:?}, max {:?}",
        rtts[rtts.len() / 2],
        rtts[rtts.len() - 1]
    );
    assert_eq!(rtts.len(), 40, "the well-behaved pair was served");
    assert!(cut, "the relay still took pings after {pings} in 5 s");
    Ok(())
}
