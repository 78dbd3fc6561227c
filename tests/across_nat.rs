//! Across the internet: the real `hearth` binary in home A behind a NAT, its
//! family in home B behind another, the relay and coturn in the "internet"
//! between them (tests/support/topology.rs). `hearth watch`, the viewer page
//! in headless Chromium and aiortc (WHEP) watch from home B; the selected
//! candidate pair is read on both ends and asserted, and when no path exists
//! every side says so in words within 15 s. Needs root, iproute2, nftables
//! and coturn; without root it says why and returns.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::chromium::{Chromium, Page};
use support::cli::{self, BIN};
use support::topology::{
    is_root, NatKind, Process, Topology, HOME_A_IP, HOME_B_IP, ROUTER_A_IP, SERVER_IP,
};
use support::turn_server::{TurnAuth, TurnServer};
use support::viewer::{ask_to_watch, keep_screenshot, text_of};
use support::watch_cli::{second_line, Watch};

/// Where `hearth relay` listens in the internet namespace.
const RELAY_PORT: u16 = 7700;
/// The device's web server (WHEP) in home A; router A forwards it.
const HTTP_PORT: u16 = 7600;
/// The device's frame rate.
const FPS: u32 = 15;
/// Item 6: every side says there is no path within this long.
const NO_PATH_LIMIT: Duration = Duration::from_secs(15);

/// The secret coturn shares with the relay (coturn's `static-auth-secret`).
const TURN_SECRET: &str = "kettle-on";

/// What the relay hands out to every side (`[ice]` of its config).
#[derive(Clone, Copy, PartialEq, Eq)]
enum RelayHands {
    /// coturn's STUN URL only.
    Stun,
    /// coturn's STUN URL, and its TURN URL with freshly minted credentials.
    StunAndTurn,
}

/// The network, its servers and the device in home A.
struct Scene {
    dir: tempfile::TempDir,
    device_dir: PathBuf,
    device_config: PathBuf,
    // Dropped in this order: the device, the relay, coturn, then the namespaces.
    _device: Process,
    _relay: Process,
    _turn: TurnServer,
    net: Topology,
    /// One scene at a time: each is an internet, two homes, coturn, a relay,
    /// a device and its players. Several at once on a small machine measure
    /// its load, not the 15 s the no-path words are due within. Dropped last.
    _one_at_a_time: std::fs::File,
}

fn relay_url() -> String {
    format!("ws://{SERVER_IP}:{RELAY_PORT}/relay")
}

fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

/// Waits until `host` listens on TCP `port` (the relay, whose log is `log`).
fn wait_listening(host: &support::topology::Host, port: u16, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while String::from_utf8_lossy(
        &host
            .exec("ss", &["-Hltn", &format!("sport = :{port}")])
            .stdout,
    )
    .trim()
    .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "the relay did not listen within 30 s; it said:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Scene {
    /// The topology, coturn (STUN and TURN), the relay handing out `hands`,
    /// and the device "Kitchen" in home A (no ICE servers of its own: it
    /// uses the relay's).
    fn start(a: NatKind, b: NatKind, hands: RelayHands) -> Scene {
        let one_at_a_time =
            std::fs::File::create(Path::new(env!("CARGO_TARGET_TMPDIR")).join("across_nat.lock"))
                .unwrap();
        one_at_a_time.lock().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let net = Topology::build(a, b);
        let turn = TurnServer::start(&net.internet, TurnAuth::Secret(TURN_SECRET), dir.path());
        let turn_table = match hands {
            RelayHands::Stun => String::new(),
            RelayHands::StunAndTurn => format!(
                "turn_urls = {}\nturn_secret = \"{TURN_SECRET}\"\n",
                toml_list(&[TurnServer::turn_url()])
            ),
        };
        let relay_config = dir.path().join("relay.toml");
        std::fs::write(
            &relay_config,
            format!(
                "[ice]\nstun_urls = {}\n{turn_table}",
                toml_list(&[TurnServer::stun_url()])
            ),
        )
        .unwrap();
        let relay_log = std::fs::File::create(dir.path().join("relay.log")).unwrap();
        let relay = net.internet.spawn(
            net.internet
                .command(BIN)
                .args(["relay", "--listen", &format!("{SERVER_IP}:{RELAY_PORT}")])
                .arg("--relay-config")
                .arg(&relay_config)
                .stdout(relay_log.try_clone().unwrap())
                .stderr(relay_log),
        );
        wait_listening(&net.internet, RELAY_PORT, &dir.path().join("relay.log"));

        let device_dir = dir.path().join("kitchen");
        let device_config = dir.path().join("kitchen.toml");
        std::fs::write(
            &device_config,
            format!(
                "name = \"Kitchen\"\n\
                 [http]\nlisten = \"{HOME_A_IP}:{HTTP_PORT}\"\n\
                 [relay]\nembedded = false\nurls = [\"{}\"]\n\
                 [video]\nwidth = 320\nheight = 240\nfps = {FPS}\nbitrate_kbps = 300\n\
                 [webrtc]\nudp_addresses = [\"{HOME_A_IP}\"]\n",
                relay_url(),
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("device.log")).unwrap();
        let device = net.home_a.spawn(
            net.home_a
                .command(BIN)
                .arg("--data-dir")
                .arg(&device_dir)
                .arg("--config")
                .arg(&device_config)
                .arg("run")
                .env("HEARTH_LOG", "info")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log),
        );
        net.forward_tcp_to_home_a(HTTP_PORT);
        let scene = Scene {
            dir,
            device_dir,
            device_config,
            _device: device,
            _relay: relay,
            _turn: turn,
            net,
            _one_at_a_time: one_at_a_time,
        };
        scene.wait_log("the device on the relay", Duration::from_secs(30), |l| {
            l.contains("signalling relay connected")
        });
        scene
    }

    /// `hearth --data-dir KITCHEN --config … ARGS…`, as the owner types it.
    fn owner(&self, args: &[&str]) -> String {
        let mut all = vec!["--config", self.device_config.to_str().unwrap()];
        all.extend_from_slice(args);
        cli::owner(&self.device_dir, &all)
    }

    /// The device's log so far, without its colours.
    fn device_log(&self) -> String {
        let raw = std::fs::read_to_string(self.dir.path().join("device.log")).unwrap_or_default();
        let mut plain = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                // An escape sequence: up to and with its final letter.
                chars.by_ref().find(|c| c.is_ascii_alphabetic());
            } else {
                plain.push(c);
            }
        }
        plain
    }

    /// Waits for a device log line that `found` accepts; returns it.
    fn wait_log(&self, what: &str, limit: Duration, found: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(line) = self.device_log().lines().find(|l| found(l)) {
                return line.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what} in the device log:\n{}",
                self.device_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A family member's `hearth` in home B, paired both ways with the
    /// device (allowed video and sound), with no ICE servers of its own (it
    /// uses the relay's); returns its data dir.
    fn family_member(&self, name: &str) -> PathBuf {
        let dir = self.dir.path().join(name);
        let member = cli::owner(&dir, &["id", "--quiet"]);
        self.owner(&[
            "contacts",
            "add",
            member.trim(),
            "--name",
            name,
            "--allow",
            "live_video,live_audio",
        ]);
        let kitchen = self.owner(&["id", "--quiet"]);
        cli::owner(&dir, &["contacts", "add", kitchen.trim()]);
        std::fs::write(
            dir.join("hearth.toml"),
            format!("[relay]\nembedded = false\n[webrtc]\nudp_addresses = [\"{HOME_B_IP}\"]\n"),
        )
        .unwrap();
        dir
    }

    /// `hearth watch Kitchen` for `seconds`, run by the member at `dir` in home B.
    fn watch(&self, dir: &Path, seconds: u64) -> Watch {
        let mut command = self.net.home_b.command(BIN);
        command
            .arg("--data-dir")
            .arg(dir)
            .arg("--config")
            .arg(dir.join("hearth.toml"))
            .args(["watch", "Kitchen", "--seconds", &seconds.to_string()])
            .env("HEARTH_LOG", "warn");
        Watch::spawn(command)
    }

    /// aiortc in home B watches over WHEP (through router A's forwarded
    /// port) for `seconds` as the token contact `name`, with the given ICE
    /// server flags; returns what it saw.
    fn aiortc_watches(&self, name: &str, seconds: u32, ice_flags: &[String]) -> Value {
        let python = support::aiortc::python();
        let out = self.owner(&["contacts", "add-token", name, "--allow", "live_video"]);
        let token = out
            .lines()
            .find_map(|l| l.trim().strip_prefix("token: "))
            .unwrap_or_else(|| panic!("no token printed:\n{out}"))
            .to_string();
        let client = self
            .net
            .home_b
            .command(python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/support/whep_watch.py"
            ))
            .arg(format!("--url=http://{ROUTER_A_IP}:{HTTP_PORT}/whep"))
            .arg(format!("--token={token}"))
            .arg(format!("--fps={FPS}"))
            .arg(format!("--seconds={seconds}"))
            .args(ice_flags)
            .arg("--log")
            .output()
            .expect("run the aiortc client");
        std::fs::write(self.dir.path().join("aiortc.log"), &client.stderr).unwrap();
        let stdout = String::from_utf8_lossy(&client.stdout);
        assert!(
            client.status.success(),
            "aiortc client failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&client.stderr)
        );
        let seen: Value = serde_json::from_str(stdout.trim()).expect("the client's JSON");
        eprintln!("aiortc saw: {seen}");
        seen
    }
}

impl Drop for Scene {
    /// On failure, what the servers and the device said, to see why.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for name in ["device.log", "relay.log", "turnserver.log", "aiortc.log"] {
            let text = std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(60)..];
            eprintln!(
                "---- {name} (last {} lines)\n{}",
                tail.len(),
                tail.join("\n")
            );
        }
    }
}

/// The page's connection now: video frames decoded, the RTP timestamp of
/// the last video packet, and the path from `getStats` (`connection.path()`).
const PAGE_VIDEO: &str = "(async () => {
    const c = window.hearthViewer && window.hearthViewer.connection;
    if (!c || c.state !== 'connected' || !c.pc) return null;
    let frames = 0;
    (await c.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded || 0;
    });
    const receiver = c.pc.getReceivers().find((r) => r.track && r.track.kind === 'video');
    const sources = receiver ? receiver.getSynchronizationSources() : [];
    return { frames, rtp: sources.length ? sources[0].rtpTimestamp : null, path: await c.path() };
})()";

/// Headless Chromium in home B opens the viewer link (served by the relay),
/// asks to watch as `name`, and the owner approves with the CLI; returns
/// when the owner started approving.
async fn page_asks_to_watch(scene: &Scene, name: &str) -> (Chromium, Page, Instant) {
    let origin = format!("http://{SERVER_IP}:{RELAY_PORT}");
    let browser = Chromium::launch_in(
        Some(&scene.net.home_b),
        &[&format!(
            "--unsafely-treat-insecure-origin-as-secure={origin}"
        )],
    )
    .await;
    let page = browser.new_page(900, 820).await;
    let code = scene.owner(&["id", "--quiet"]);
    page.goto(&hearth::web::viewer_link(
        &format!("{origin}/"),
        code.trim(),
    ))
    .await;
    ask_to_watch(&page, &scene.device_dir, name).await;
    let approved = Instant::now();
    scene.owner(&["contacts", "approve", name]);
    scene.owner(&["contacts", "allow", name, "live_video,live_audio"]);
    (browser, page, approved)
}

/// Once the page shows video: the frames it decoded over 10 s, the frames
/// the device sent meanwhile (from the RTP timestamps: one frame period
/// apart), and the path kind `getStats` gives.
async fn page_frames_over_ten_seconds(page: &Page) -> (u64, u64, String) {
    let ready = |v: &Value| v["frames"].as_u64().unwrap_or(0) > 0 && v["rtp"].is_u64();
    let first = page
        .poll(
            "video on the page",
            PAGE_VIDEO,
            Duration::from_secs(60),
            ready,
        )
        .await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let last = page
        .poll(
            "video on the page",
            PAGE_VIDEO,
            Duration::from_secs(5),
            ready,
        )
        .await;
    let received = last["frames"].as_u64().unwrap() - first["frames"].as_u64().unwrap();
    let ticks = last["rtp"]
        .as_u64()
        .unwrap()
        .wrapping_sub(first["rtp"].as_u64().unwrap())
        % (1 << 32);
    let sent = ticks / (90_000 / u64::from(FPS));
    let kind = last["path"]["kind"].as_str().unwrap_or("none").to_string();
    eprintln!(
        "the page: {received} of {sent} frames in 10 s, path {}",
        last["path"]
    );
    (received, sent, kind)
}

/// `hearth watch`'s once-a-second lines: (frames decoded that second, the
/// last frame number seen).
fn per_second(lines: &[String]) -> Vec<(u64, u64)> {
    lines
        .iter()
        .filter(|line| line.trim().starts_with("video "))
        .filter_map(|line| second_line(line))
        .collect()
}

/// Waits until `hearth watch` has printed 11 once-a-second lines with
/// pictures, and returns over the 10 s between the first and the last: the
/// frames it decoded, and the frames the device sent (from the frame numbers
/// the test pattern draws into each picture).
async fn frames_over_ten_seconds(watch: &Watch) -> (u64, u64) {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let lines: Vec<String> = watch.lines().into_iter().map(|(_, l)| l).collect();
        let seconds = per_second(&lines);
        if let Some(first) = seconds.iter().position(|(decoded, _)| *decoded > 0) {
            if seconds.len() >= first + 11 {
                let window = &seconds[first..first + 11];
                let received: u64 = window[1..].iter().map(|(decoded, _)| decoded).sum();
                let sent = window[10].1 - window[0].1;
                return (received, sent);
            }
        }
        assert!(
            Instant::now() < deadline,
            "`hearth watch` did not show 10 s of pictures; it printed:\n{}",
            watch.transcript()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The path a pair of candidate types makes: relay if either end is a
/// relay, srflx if either is reflexive, else host (as `getStats` reads).
fn pair_kind(pair: &[&str]) -> &'static str {
    if pair.contains(&"relay") {
        "relay"
    } else if pair.contains(&"srflx") || pair.contains(&"prflx") {
        "srflx"
    } else {
        "host"
    }
}

/// aiortc decoded at least 90% of the frames sent over its window, over a
/// `kind` path.
fn assert_aiortc_watched(seen: &Value, kind: &str) {
    let (received, sent) = (seen["received"].as_u64(), seen["sent"].as_u64());
    assert!(
        sent > Some(0) && received.unwrap_or(0) * 10 >= sent.unwrap_or(0) * 9,
        "{seen}"
    );
    let pair: Vec<&str> = seen["pair"]
        .as_array()
        .unwrap_or_else(|| panic!("no pair selected: {seen}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(pair_kind(&pair), kind, "{seen}");
}

/// The TURN server's flags for aiortc, with credentials minted as the relay
/// mints them (valid for ten minutes).
fn aiortc_turn_flags() -> Vec<String> {
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let minted = hearth::relay::ice::mint(TURN_SECRET, "aiortc", expires);
    vec![
        format!("--stun={}", TurnServer::stun_url()),
        format!("--turn={}", TurnServer::turn_url()),
        format!("--turn-user={}", minted.username),
        format!("--turn-password={}", minted.credential),
    ]
}

/// Each session's path as the device last logged it (`path=` of the line
/// saying it connected, or of a later one saying the path changed: the
/// controlling side may nominate a direct pair after a relayed one), in the
/// order the sessions connected.
fn device_paths(log: &str) -> Vec<String> {
    let mut paths: Vec<(String, String)> = vec![];
    for line in log
        .lines()
        .filter(|l| l.contains("connected: media travels") || l.contains("the media path changed"))
    {
        let field = |name: &str| {
            line.split(&format!("{name}="))
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or("")
                .to_string()
        };
        let (contact, path) = (field("contact"), field("path"));
        match paths.iter_mut().find(|(c, _)| *c == contact) {
            Some(entry) => entry.1 = path,
            None => paths.push((contact, path)),
        }
    }
    paths.into_iter().map(|(_, path)| path).collect()
}

/// From home B, `hearth watch` (Gran), the viewer page (Nan) and aiortc
/// (TV, over WHEP) each watch for 10 s: each receives at least 90% of the
/// frames the device sent meanwhile, over a `kind` path as the player reads
/// it (`hearth watch`'s line, `getStats`, aiortc's nominated pair) and as
/// the device does (`hearth status`, its log).
async fn every_player_watches_over(scene: &Scene, kind: &str) {
    let gran = scene.family_member("Gran");
    let watch = scene.watch(&gran, 40);
    let (_, connected) = watch
        .line_after(
            Instant::now() - Duration::from_secs(60),
            "how it connected",
            Duration::from_secs(30),
            |l| l.starts_with("Connected to Kitchen:"),
        )
        .await;
    assert!(connected.ends_with(&format!("[{kind}].")), "{connected}");
    let (received, sent) = frames_over_ten_seconds(&watch).await;
    eprintln!("hearth watch: {received} of {sent} frames in 10 s");
    assert!(
        sent > 0 && received * 10 >= sent * 9,
        "{received} of {sent}"
    );
    // The device's own view of the session: `hearth status`.
    let status = scene.owner(&["status"]);
    assert!(status.contains(&format!("Gran [{kind}]")), "{status}");
    drop(watch);

    let (browser, page, _) = page_asks_to_watch(scene, "Nan").await;
    let (received, sent, path) = page_frames_over_ten_seconds(&page).await;
    assert!(
        sent > 0 && received * 10 >= sent * 9,
        "{received} of {sent}"
    );
    assert_eq!(path, kind, "the page's getStats");
    let status = scene.owner(&["status"]);
    assert!(status.contains(&format!("Nan [{kind}]")), "{status}");
    keep_screenshot(&page, &format!("across-nat-{kind}")).await;
    drop(page);
    drop(browser);

    let seen = scene.aiortc_watches("TV", 10, &aiortc_turn_flags());
    assert_aiortc_watched(&seen, kind);
    let log = scene.device_log();
    let paths = device_paths(&log);
    let path_lines: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.contains("connected: media travels")
                || l.contains("the media path changed")
                || l.contains("session started")
                || l.contains("restarting ICE")
                || l.contains("session ended")
        })
        .collect();
    assert_eq!(paths, [kind, kind, kind], "{}", path_lines.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_homes_cone_like_media_goes_directly_over_srflx() {
    if !is_root() {
        eprintln!("skipped: network namespaces need root (CI runs as root)");
        return;
    }
    // TURN is there too: ICE still prefers the direct path.
    let scene = Scene::start(NatKind::Cone, NatKind::Cone, RelayHands::StunAndTurn);
    every_player_watches_over(&scene, "srflx").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_b_behind_a_symmetric_nat_media_goes_through_turn() {
    if !is_root() {
        eprintln!("skipped: network namespaces need root (CI runs as root)");
        return;
    }
    let scene = Scene::start(NatKind::Cone, NatKind::Symmetric, RelayHands::StunAndTurn);
    every_player_watches_over(&scene, "relay").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stun_only_through_a_symmetric_nat_every_side_says_there_is_no_path() {
    if !is_root() {
        eprintln!("skipped: network namespaces need root (CI runs as root)");
        return;
    }
    let scene = Scene::start(NatKind::Cone, NatKind::Symmetric, RelayHands::Stun);
    let gran = scene.family_member("Gran");

    let started = Instant::now();
    let watch = scene.watch(&gran, 30);
    let (at, said) = watch
        .line_after(started, "that there is no path", NO_PATH_LIMIT, |l| {
            l.starts_with("No network path to Kitchen:")
        })
        .await;
    eprintln!("hearth watch said after {:?}: {said}", at - started);
    assert!(
        said.contains("need a TURN relay") && said.contains("none is configured"),
        "{said}"
    );
    assert!(
        !watch.transcript().contains("Picture from"),
        "{}",
        watch.transcript()
    );
    let logged = scene.wait_log(
        "the device saying there is no path",
        NO_PATH_LIMIT.saturating_sub(started.elapsed()),
        |l| l.contains("NO PATH"),
    );
    assert!(logged.contains("no network path to Gran"), "{logged}");
    assert!(logged.contains("code=\"no_path\""), "{logged}");
    assert!(logged.contains("none is configured"), "{logged}");

    // The viewer page in home B, served by the relay, asks to watch; once the
    // owner approves, it tries and says in words that there is no path.
    let (_browser, page, approved) = page_asks_to_watch(&scene, "Nan").await;
    let status = page
        .poll(
            "the page to say there is no path",
            &text_of("status-text"),
            NO_PATH_LIMIT,
            |v| {
                v.as_str()
                    .is_some_and(|s| s.starts_with("No network path to Kitchen:"))
            },
        )
        .await;
    eprintln!("the page said after {:?}: {status}", approved.elapsed());
    let status = status.as_str().unwrap();
    assert!(
        status.contains("need a TURN relay") && status.contains("none is configured"),
        "{status}"
    );
    keep_screenshot(&page, "across-nat-no-path").await;
    scene.wait_log(
        "the device saying there is no path to Nan",
        NO_PATH_LIMIT.saturating_sub(approved.elapsed()),
        |l| l.contains("NO PATH: no network path to Nan"),
    );
}

/// BENCHMARKS.md, "Across NATs": WHEP offer → first decoded frame in aiortc
/// (home B) from the device (home A), 7 times over srflx (both NATs
/// cone-like, STUN) and 7 times through TURN (home B symmetric). Prints the
/// figures; asserts only that each run got its picture over the path meant.
/// `cargo test --test across_nat -- --ignored --nocapture first_frame`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement for BENCHMARKS.md, not a check"]
async fn first_frame_across_nats() {
    assert!(is_root(), "network namespaces need root");
    for (b, kind, flags) in [
        (
            NatKind::Cone,
            "srflx",
            vec![format!("--stun={}", TurnServer::stun_url())],
        ),
        (NatKind::Symmetric, "relay", aiortc_turn_flags()),
    ] {
        // The device has STUN from the relay; aiortc has its own servers.
        let scene = Scene::start(NatKind::Cone, b, RelayHands::Stun);
        let mut times = vec![];
        for run in 0..7 {
            let seen = scene.aiortc_watches(&format!("TV{run}"), 1, &flags);
            assert_aiortc_watched(&seen, kind);
            times.push(seen["first_frame_s"].as_f64().unwrap() * 1000.0);
        }
        // The last run's ICE and DTLS steps, with times, for reading.
        let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("across-nat-{kind}.log"));
        std::fs::copy(scene.dir.path().join("aiortc.log"), &kept).unwrap();
        std::fs::copy(
            scene.dir.path().join("device.log"),
            kept.with_extension("device.log"),
        )
        .unwrap();
        times.sort_by(f64::total_cmp);
        println!(
            "BENCH across NATs, {kind}: offer → first decoded frame p50 {:.1} ms (min {:.1}, max {:.1}) over {} runs; all: {:?}",
            times[times.len() / 2],
            times[0],
            times[times.len() - 1],
            times.len(),
            times.iter().map(|t| format!("{t:.1}")).collect::<Vec<_>>()
        );
    }
}
