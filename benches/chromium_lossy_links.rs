//! Chromium watching across lossy and slow links, Hearth beside the aiortc
//! sender (`cargo bench --bench chromium_lossy_links`; as root: network
//! namespaces; needs Debian's `chromium` and `python3-venv`).
//!
//! For each condition (2% loss; 5% loss + 50 ms; 500, 250 and 150 kbit/s,
//! each with 20 ms each way) and each sender, in the same run: the sender in
//! one namespace, headless Chromium in another, the impairer between them
//! (tests/support/impaired_link.rs; rates are a `tbf` with 400 ms of queue,
//! set before the call starts). Chromium plays over WHEP from the sender's
//! own page; once it has decoded 10 frames, 20 s are measured:
//!
//! - frames decoded per second, freezes and seconds frozen (Chromium's
//!   `inbound-rtp` stats), packets lost after repair (`packetsLost`);
//! - the sender's rate on the wire (every IP packet it offered the link) and
//!   the share of it that was resends (Hearth: RTP packets sent again;
//!   aiortc: its RTX stream).
//!
//! Hearth is the `hearth` binary at 640×480, 600 kbit/s, its test pattern;
//! aiortc 1.16 sends a similar moving 640×480 picture with its own H.264
//! encoder and rate control (benches/support/aiortc_whep_sender.py). Prints
//! a Markdown table for BENCHMARKS.md; asserts nothing.

#[path = "../tests/support/mod.rs"]
mod support;

use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};
use support::chromium::{Chromium, Page};
use support::impaired_link::{ImpairedLink, Impairment, DEVICE_IP};
use support::topology::{is_root, Process};
use support::whep_page::WHEP_PAGE_PLAYER;

/// How long each run is measured.
const MEASURE: Duration = Duration::from_secs(20);
const PORT: u16 = 7700;

/// One link condition.
struct Condition {
    name: &'static str,
    loss: f64,
    delay_ms: u64,
    kbit: Option<u32>,
}

const CONDITIONS: [Condition; 5] = [
    Condition {
        name: "2% loss",
        loss: 0.02,
        delay_ms: 20,
        kbit: None,
    },
    Condition {
        name: "5% loss + 50 ms",
        loss: 0.05,
        delay_ms: 50,
        kbit: None,
    },
    Condition {
        name: "500 kbit/s",
        loss: 0.0,
        delay_ms: 20,
        kbit: Some(500),
    },
    Condition {
        name: "250 kbit/s",
        loss: 0.0,
        delay_ms: 20,
        kbit: Some(250),
    },
    Condition {
        name: "150 kbit/s",
        loss: 0.0,
        delay_ms: 20,
        kbit: Some(150),
    },
];

/// Who sends.
#[derive(Clone, Copy)]
enum Sender {
    Hearth,
    Aiortc,
}

impl Sender {
    fn name(self) -> &'static str {
        match self {
            Sender::Hearth => "Hearth",
            Sender::Aiortc => "aiortc 1.16",
        }
    }
}

/// What one run saw.
struct Seen {
    fps: f64,
    freezes: u64,
    frozen: f64,
    lost: i64,
    wire_kbps: f64,
    resent_share: f64,
}

/// Starts `sender` in `link`'s device namespace on `port`; returns it and
/// the WHEP token to play with.
fn start(sender: Sender, link: &ImpairedLink, dir: &Path, port: u16) -> (Process, String) {
    match sender {
        Sender::Hearth => link.start_device(dir, port),
        Sender::Aiortc => {
            let script =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/support/aiortc_whep_sender.py");
            let log = std::fs::File::create(dir.join("aiortc.log")).unwrap();
            let process = link.device.spawn(
                link.device
                    .command(support::aiortc::python())
                    .arg(script)
                    .args([
                        "--host",
                        &DEVICE_IP.to_string(),
                        "--port",
                        &port.to_string(),
                    ])
                    .stdout(std::process::Stdio::null())
                    .stderr(log),
            );
            (process, "aiortc".into())
        }
    }
}

/// Opens the sender's page in `page` (it may still be starting) and plays;
/// says why not if no frame was decoded within 30 s.
async fn play(page: &Page, port: u16, token: &str) -> Result<(), String> {
    let url = format!("http://{DEVICE_IP}:{port}/");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        page.goto(&url).await;
        if page
            .eval(
                "document.readyState === 'complete' && !!document.body \
                 && document.body.innerText.length > 0",
            )
            .await
            == json!(true)
        {
            break;
        }
        if Instant::now() > deadline {
            return Err("its page never came".into());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // A POST made while the page is still loading is cut off ("Failed to
    // fetch", and the player is gone with the page); a player would try
    // again, and so does this.
    let mut posted = json!(null);
    for _ in 0..3 {
        page.eval(WHEP_PAGE_PLAYER).await;
        posted = page
            .eval(&format!(
                "window.play({}).catch((e) => 'failed: ' + e)",
                json!(token)
            ))
            .await;
        if posted == json!("posted") {
            break;
        }
        eprintln!("WHEP {posted}; trying again");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    if posted != json!("posted") {
        return Err(format!("WHEP {posted}"));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if page.eval("window.video()").await["framesDecoded"]
            .as_u64()
            .unwrap_or(0)
            > 10
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let state = page
        .eval("[pc.connectionState, pc.iceConnectionState].join(' / ')")
        .await;
    Err(format!("no frame in 30 s, connection {state}"))
}

/// The RTX SSRC in an answer's `a=ssrc-group:FID media rtx`, if any.
fn rtx_ssrc(answer: &str) -> Option<u32> {
    answer
        .lines()
        .find_map(|l| l.strip_prefix("a=ssrc-group:FID "))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

async fn run(sender: Sender, condition: &Condition, port: u16) -> Result<Seen, String> {
    let link = ImpairedLink::build(Impairment {
        loss: condition.loss,
        delay: Duration::from_millis(condition.delay_ms),
        ..Impairment::default()
    });
    if condition.kbit.is_some() {
        link.limit_rate(condition.kbit);
    }
    let dir = tempfile::tempdir().unwrap();
    let (_sender, token) = start(sender, &link, dir.path(), port);
    let browser = Chromium::launch_in(Some(&link.player), &[]).await;
    let page = browser.new_page(640, 480).await;
    if let Err(why) = play(&page, port, &token).await {
        let log = std::fs::read_to_string(dir.path().join("aiortc.log")).unwrap_or_default();
        eprintln!(
            "{} on {}: {why}; its log:\n{log}",
            sender.name(),
            condition.name
        );
        return Err(why);
    }
    let answer = page.eval("pc.remoteDescription.sdp").await;
    if let Some(ssrc) = answer.as_str().and_then(rtx_ssrc) {
        link.count_down_as_resends(ssrc);
    }
    let first = page.eval("window.video()").await;
    let from = Instant::now();
    tokio::time::sleep(MEASURE).await;
    let last = page.eval("window.video()").await;
    let to = Instant::now();
    let counts = link.counts();
    let delta = |key: &str| last[key].as_f64().unwrap_or(0.0) - first[key].as_f64().unwrap_or(0.0);
    let wire = counts.down.rate_between(from, to);
    Ok(Seen {
        fps: delta("framesDecoded") / (to - from).as_secs_f64(),
        freezes: delta("freezeCount") as u64,
        frozen: delta("totalFreezesDuration"),
        lost: delta("packetsLost") as i64,
        wire_kbps: wire / 1000.0,
        resent_share: counts.down.resent_rate_between(from, to) / wire.max(1.0),
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if !is_root() {
        eprintln!("skipped: network namespaces need root");
        return;
    }
    println!(
        "| Link | Sender | fps decoded | freezes | frozen (s) | lost after repair | wire rate (kbit/s) | resends |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut port = PORT;
    for condition in &CONDITIONS {
        for sender in [Sender::Hearth, Sender::Aiortc] {
            port += 1;
            let row = match run(sender, condition, port).await {
                Ok(s) => format!(
                    "{:.1} | {} | {:.2} | {} | {:.0} | {:.0}%",
                    s.fps,
                    s.freezes,
                    s.frozen,
                    s.lost,
                    s.wire_kbps,
                    100.0 * s.resent_share
                ),
                Err(why) => format!("no picture: {why} | | | | | "),
            };
            println!("| {} | {} | {row} |", condition.name, sender.name());
        }
    }
}
