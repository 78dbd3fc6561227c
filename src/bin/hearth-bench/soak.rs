//! `hearth-bench soak --minutes N` (issue #14 item 7): a device lives through N
//! minutes of ordinary trouble, and its process must not grow.
//!
//! The device is the real `Device` (simulated camera and microphone, its panel) on a
//! network namespace of its own, the home host; four viewers (family members' nodes,
//! calling it with `PeerConnection` and receiving its video, calling again when a
//! session ends, as `hearth watch` does) and the relay sit on another, the far host,
//! joined to it by a veth pair (as `hearth-bench recovery`; needs root). Every few
//! seconds the device shares a snapshot or a thought with its contacts
//! (`Device::share`); each viewer receives it on its session — the same
//! `ShareSession` and on-disk `Inbox` a Hearth device runs — or later, from the
//! device's outbox, once it is back. Each minute privacy goes on for a few seconds
//! (frames must stop, then resume), the relay is stopped and started again on the same
//! port, and the link is cut for 8 or 20 seconds (nftables drops every packet arriving
//! at either end of the veth pair: the relay's TCP and the media both go silent).
//!
//! Every 10 s the bench samples its own process (device, relay and viewers are one
//! process): RSS (`/proc/self/status` VmRSS), open file descriptors (`/proc/self/fd`)
//! and threads (`/proc/self/status` Threads). At the end it waits for every share to
//! reach every viewer and prints the numbers, with a verdict: flat or growing.

use crate::household::{receive_shares, wait_until, Family, Home, Network, StoredLog};
use crate::recovery::{enter_netns, join_home_to, run, Far, FAR_IP, HOME, HOME_LINK};
use crate::stats::report;
use anyhow::Context as _;
use hearth::api::{EndCode, PeerConnection, RtcError, RtcSettings};
use hearth::contacts::Permission;
use hearth::device::shares::ShareRequest;
use hearth::device::Device;
use hearth::keys::PeerKey;
use hearth::node::Node;
use hearth::privacy::PrivacyInput;
use hearth::share::inbox::Inbox;
use hearth::share::{ReceiveRules, ShareKind};
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Viewers watching the device.
const VIEWERS: usize = 4;
/// Samples before this are not judged (caches, pools and first sessions fill up).
const WARM_UP: Duration = Duration::from_secs(60);
/// How often the process is sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// How often the device shares something.
const SHARE_EVERY: Duration = Duration::from_secs(5);
/// One round of trouble: privacy, a relay restart, a link cut.
const CYCLE: Duration = Duration::from_secs(60);
/// When in each round privacy goes on, the relay restarts and the link is cut.
const PRIVACY_AT: Duration = Duration::from_secs(10);
const RELAY_AT: Duration = Duration::from_secs(25);
const CUT_AT: Duration = Duration::from_secs(35);
/// How long privacy stays on, and the grace after it goes on before frames count as leaks.
const PRIVATE_FOR: Duration = Duration::from_secs(6);
const PRIVACY_GRACE: Duration = Duration::from_millis(500);
/// How long the relay is down when restarted.
const RELAY_DOWN: Duration = Duration::from_secs(2);
/// How long the link is cut, by turns.
const CUTS: [Duration; 2] = [Duration::from_secs(8), Duration::from_secs(20)];
/// How long, after privacy goes off or the link comes back, every viewer may take to
/// receive a frame before the round counts as one without media back.
const MEDIA_BACK_WITHIN: Duration = Duration::from_secs(60);
/// How long the end waits for every share to reach every viewer.
const DRAIN_WITHIN: Duration = Duration::from_secs(120);
/// The verdict's rule: the median of the last minute of samples minus the median of
/// the first minute after the warm-up must stay within these.
const FLAT_RSS_MIB: f64 = 5.0;
const FLAT_FDS: f64 = 10.0;
const FLAT_THREADS: f64 = 5.0;

/// The nftables table that cuts the link (in the home namespace only).
const CUT_TABLE: &str = "hbsoak";

/// What one viewer saw.
#[derive(Default)]
struct Viewer {
    frames: AtomicU64,
    last_frame: Mutex<Option<Instant>>,
    calls: AtomicU64,
    sessions: AtomicU64,
    privacy_answers: AtomicU64,
    failed_calls: AtomicU64,
    stored: StoredLog,
}

impl Viewer {
    fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    fn frame_since(&self, since: Instant) -> bool {
        self.last_frame
            .lock()
            .expect("last frame")
            .is_some_and(|t| t > since)
    }

    fn received(&self) -> HashSet<String> {
        let stored = self.stored.lock().expect("stored");
        stored.iter().map(|s| s.id.clone()).collect()
    }
}

/// A share the device queued: its id, kind, and when (seconds since the start).
#[derive(Debug, Clone)]
struct Sent {
    id: String,
    kind: ShareKind,
    at: f64,
}

/// One sample of the process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Seconds since the start.
    at: f64,
    rss_mib: f64,
    fds: f64,
    threads: f64,
}

impl Sample {
    fn now(start: Instant) -> Option<Sample> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let field = |name: &str| -> Option<f64> {
            let line = status.lines().find(|l| l.starts_with(name))?;
            line.split_whitespace().nth(1)?.parse().ok()
        };
        Some(Sample {
            at: start.elapsed().as_secs_f64(),
            rss_mib: field("VmRSS:")? / 1024.0,
            threads: field("Threads:")?,
            fds: std::fs::read_dir("/proc/self/fd").ok()?.count() as f64,
        })
    }
}

/// The trouble the device went through, and how it came out of it.
#[derive(Default)]
struct Trouble {
    privacy_toggles: u64,
    /// Frames viewers received while privacy was on (after the grace).
    frames_while_private: u64,
    relay_restarts: u64,
    link_cuts: u64,
    /// Seconds from privacy off / link back / relay up to media or the relay again.
    media_after_privacy: Vec<f64>,
    media_after_cut: Vec<f64>,
    relay_back: Vec<f64>,
    /// Rounds after which media (or the relay) was not back within the limit.
    not_back: u64,
    /// What happened when (seconds since the start), in order.
    events: Vec<(f64, String)>,
}

impl Trouble {
    fn note(&mut self, start: Instant, what: String) {
        let at = start.elapsed().as_secs_f64();
        eprintln!("soak: {at:.0} s: {what}");
        self.events.push((at, what));
    }

    /// The last thing that happened at or before `at`.
    fn before(&self, at: f64) -> String {
        match self.events.iter().rev().find(|(t, _)| *t <= at) {
            Some((t, what)) => format!("{what} at {t:.0} s"),
            None => "nothing".into(),
        }
    }
}

/// Runs the soak for `minutes` and prints the result.
pub async fn soak(minutes: u64) -> anyhow::Result<()> {
    anyhow::ensure!(minutes >= 2, "--minutes: at least 2 (1 minute is warm-up)");
    // Bounded whatever happens: the run, the drain and the stop, with room to spare.
    let limit = Duration::from_secs(minutes * 60) + DRAIN_WITHIN + Duration::from_secs(180);
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("soak: still running after {limit:?}; giving up");
        std::process::exit(2);
    });
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("soak-home".into())
        .spawn(move || {
            let _ = done.send(on_two_hosts(minutes));
        })?;
    result.await?
}

/// Makes the two hosts, with this thread on the home one, and runs the soak there.
fn on_two_hosts(minutes: u64) -> anyhow::Result<()> {
    let far = Far::create("soak")?;
    join_home_to(&far.0)?;
    let name = far.0.clone();
    let family = std::thread::spawn(move || {
        enter_netns(&name)?;
        Family::new()
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the far host's thread panicked"))??;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(soak_here(minutes, &far.0, &family));
    runtime.shutdown_timeout(Duration::from_secs(5));
    drop(family);
    drop(far);
    result
}

async fn soak_here(minutes: u64, far: &str, family: &Family) -> anyhow::Result<()> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(minutes * 60);
    let home_ip: IpAddr = HOME.split('/').next().expect("address").parse()?;
    let far_ip: IpAddr = FAR_IP.parse()?;
    let members_rtc = RtcSettings {
        bind_addrs: vec![far_ip],
        ..RtcSettings::default()
    };
    let network = Network {
        relay: SocketAddr::new(far_ip, 0),
        device: RtcSettings {
            bind_addrs: vec![home_ip],
            ..RtcSettings::default()
        },
        members: members_rtc.clone(),
    };
    let mut home = Home::start_on(network, family.handle().clone(), |_| {}, None).await?;
    let device_key = home.device.node.peer_key();
    let (stop_viewers, stopped) = watch::channel(false);
    let mut members = vec![];
    let mut viewers = vec![];
    for i in 0..VIEWERS {
        let member = home
            .member(
                family,
                &format!("Viewer {}", i + 1),
                &[Permission::LiveVideo, Permission::Snapshots],
            )
            .await?;
        let viewer = Arc::new(Viewer::default());
        family.spawn(watch_device(
            member.node.clone(),
            device_key,
            members_rtc.clone(),
            member.dir.clone(),
            viewer.clone(),
            stopped.clone(),
        ));
        members.push(member);
        viewers.push(viewer);
    }
    wait_until(
        "every viewer receives video",
        Duration::from_secs(30),
        || viewers.iter().all(|v| v.frames() > 0),
    )
    .await?;

    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let sampler = tokio::spawn(sample(start, deadline, samples.clone(), viewers.clone()));
    let sent: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let refused = Arc::new(AtomicU64::new(0));
    let sharer = tokio::spawn(share_now_and_then(
        home.device.clone(),
        start,
        deadline,
        sent.clone(),
        refused.clone(),
    ));
    let trouble = make_trouble(&mut home, far, &viewers, start, deadline).await;
    let frames: Vec<u64> = viewers.iter().map(|v| v.frames()).collect();
    sharer.await?;
    sampler.await?;
    let trouble = trouble?;

    // Nothing lost: every share reaches every viewer (late ones from the outbox).
    let sent_ids: HashSet<String> = sent
        .lock()
        .expect("sent")
        .iter()
        .map(|s| s.id.clone())
        .collect();
    let drained_from = Instant::now();
    while drained_from.elapsed() < DRAIN_WITHIN
        && !viewers.iter().all(|v| v.received().is_superset(&sent_ids))
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let drain_secs = drained_from.elapsed().as_secs_f64();
    let outbox_left: usize = home.device.status().outbox.iter().map(|(_, n)| n).sum();

    stop_viewers.send_replace(true);
    tokio::time::sleep(Duration::from_secs(1)).await;
    home.stop().await;
    for member in &members {
        member.remove();
    }
    let samples = samples.lock().expect("samples").clone();
    let sent = sent.lock().expect("sent").clone();
    print_report(
        minutes,
        &samples,
        &viewers,
        &frames,
        &sent,
        refused.load(Ordering::Relaxed),
        &trouble,
        drain_secs,
        outbox_left,
    );
    Ok(())
}

/// One viewer, as `hearth watch` does: calls the device, receives its video (and its
/// shares, on the same session), calls again after a back-off when the session ends,
/// and at once when the device allows more than the session carries.
async fn watch_device(
    node: Node,
    device: PeerKey,
    rtc: RtcSettings,
    dir: PathBuf,
    me: Arc<Viewer>,
    mut stop: watch::Receiver<bool>,
) {
    let mut delay = Duration::from_millis(500);
    loop {
        while !node.relay_connected() {
            if *stop.borrow() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let call = PeerConnection::with_settings(&node, device, rtc.clone());
        me.calls.fetch_add(1, Ordering::Relaxed);
        let next = tokio::select! {
            next = one_session(&call, node.peer_key(), &dir, &me, &mut delay) => next,
            _ = stopping(&mut stop) => {
                call.close().await;
                return;
            }
        };
        if next == Next::Reconnect {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stopping(&mut stop) => return,
            }
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    }
}

/// Waits until `stop` says so.
async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// What a viewer does once a session is over.
#[derive(PartialEq, Eq)]
enum Next {
    CallAgain,
    Reconnect,
}

async fn one_session(
    call: &PeerConnection,
    me_key: PeerKey,
    dir: &std::path::Path,
    me: &Viewer,
    delay: &mut Duration,
) -> Next {
    let result = call.fetch_stream().await;
    if matches!(result, Ok(_) | Err(RtcError::NotAllowed(_))) {
        // Shares come on every session the device answers, whatever it grants.
        *delay = Duration::from_millis(500);
        let rules = ReceiveRules {
            snapshots: true,
            photos_and_thoughts: true,
        };
        tokio::spawn(receive_shares(
            call.clone(),
            me_key,
            Inbox::new(dir),
            rules,
            me.stored.clone(),
        ));
    }
    let granted = call.granted().unwrap_or_default();
    let mut access = call.access();
    let ended = call.ended();
    tokio::pin!(ended);
    let mut video = match result {
        Ok(mut remote) => {
            me.sessions.fetch_add(1, Ordering::Relaxed);
            remote.take_video()
        }
        Err(RtcError::NotAllowed(_)) => {
            me.privacy_answers.fetch_add(1, Ordering::Relaxed);
            None
        }
        Err(_) => {
            me.failed_calls.fetch_add(1, Ordering::Relaxed);
            return Next::Reconnect;
        }
    };
    loop {
        tokio::select! {
            frame = async { video.as_mut()?.recv().await }, if video.is_some() => {
                if frame.is_none() {
                    video = None;
                    continue;
                }
                me.frames.fetch_add(1, Ordering::Relaxed);
                *me.last_frame.lock().expect("last frame") = Some(Instant::now());
            }
            told = next_access(&mut access) => {
                if told.is_some_and(|told| told.widens(&granted)) {
                    call.close().await;
                    return Next::CallAgain;
                }
            }
            why = &mut ended => {
                return match why.code {
                    EndCode::AccessWithdrawn => Next::CallAgain,
                    _ => Next::Reconnect,
                };
            }
        }
    }
}

/// The next access message on the session; never, if it cannot say any.
async fn next_access(
    access: &mut Option<watch::Receiver<Option<hearth::api::Access>>>,
) -> Option<hearth::api::Access> {
    let Some(rx) = access.as_mut() else {
        return std::future::pending().await;
    };
    if rx.changed().await.is_err() {
        *access = None;
        return None;
    }
    rx.borrow_and_update().clone()
}

/// Shares every [`SHARE_EVERY`] until `deadline`: snapshots and thoughts by turns
/// (thoughts while privacy is on, when the camera is off).
async fn share_now_and_then(
    device: Device,
    start: Instant,
    deadline: Instant,
    sent: Arc<Mutex<Vec<Sent>>>,
    refused: Arc<AtomicU64>,
) {
    let mut n = 0u64;
    loop {
        tokio::time::sleep(SHARE_EVERY).await;
        if Instant::now() >= deadline {
            return;
        }
        let kind = if n.is_multiple_of(2) && !device.status().private {
            ShareKind::Snapshot
        } else {
            ShareKind::Thought
        };
        let request = ShareRequest {
            kind,
            text: format!("soak {n}"),
            photo: None,
            to: vec![],
        };
        let at = start.elapsed().as_secs_f64();
        match device.share(request).await {
            Ok(receipt) => {
                if receipt.audience.len() != VIEWERS {
                    eprintln!("soak: share {n} went to {:?} only", receipt.audience);
                }
                let id = receipt.id;
                sent.lock().expect("sent").push(Sent { id, kind, at });
            }
            Err(e) => {
                eprintln!("soak: share {n} refused: {e}");
                refused.fetch_add(1, Ordering::Relaxed);
            }
        }
        n += 1;
    }
}

/// Samples the process every [`SAMPLE_EVERY`] until `deadline`, with a progress line
/// a minute on standard error.
async fn sample(
    start: Instant,
    deadline: Instant,
    samples: Arc<Mutex<Vec<Sample>>>,
    viewers: Vec<Arc<Viewer>>,
) {
    let mut at = start;
    loop {
        at += SAMPLE_EVERY;
        if at > deadline {
            return;
        }
        tokio::time::sleep_until(at.into()).await;
        let Some(s) = Sample::now(start) else {
            continue;
        };
        samples.lock().expect("samples").push(s);
        if (s.at.round() as u64).is_multiple_of(60) {
            let frames: Vec<u64> = viewers.iter().map(|v| v.frames()).collect();
            eprintln!(
                "soak: {:.0} min: RSS {:.1} MiB, {} fds, {} threads; frames {frames:?}",
                s.at / 60.0,
                s.rss_mib,
                s.fds,
                s.threads
            );
        }
    }
}

/// Each [`CYCLE`] until `deadline`: privacy on and off, the relay restarted, the link cut.
async fn make_trouble(
    home: &mut Home,
    far: &str,
    viewers: &[Arc<Viewer>],
    start: Instant,
    deadline: Instant,
) -> anyhow::Result<Trouble> {
    let mut trouble = Trouble::default();
    for round in 0.. {
        let at = start + CYCLE * round;
        if at >= deadline {
            break;
        }
        // Privacy on for a while: no frames; off again: frames back at every viewer.
        if at + PRIVACY_AT + PRIVATE_FOR < deadline {
            tokio::time::sleep_until((at + PRIVACY_AT).into()).await;
            home.device.privacy(PrivacyInput::Set(true))?;
            trouble.privacy_toggles += 1;
            trouble.note(start, "privacy on".into());
            tokio::time::sleep(PRIVACY_GRACE).await;
            let before: u64 = viewers.iter().map(|v| v.frames()).sum();
            tokio::time::sleep(PRIVATE_FOR - PRIVACY_GRACE).await;
            let after: u64 = viewers.iter().map(|v| v.frames()).sum();
            trouble.frames_while_private += after - before;
            home.device.privacy(PrivacyInput::Set(false))?;
            trouble.note(start, "privacy off".into());
            let off = Instant::now();
            match wait_until("frames after privacy", MEDIA_BACK_WITHIN, || {
                viewers.iter().all(|v| v.frame_since(off))
            })
            .await
            {
                Ok(()) => trouble
                    .media_after_privacy
                    .push(off.elapsed().as_secs_f64()),
                Err(_) => trouble.not_back += 1,
            }
        }
        // The relay stopped and started again on the same port.
        if at + RELAY_AT + RELAY_DOWN < deadline {
            tokio::time::sleep_until((at + RELAY_AT).max(Instant::now()).into()).await;
            trouble.note(start, "relay stopped".into());
            home.relay.stop().await;
            tokio::time::sleep(RELAY_DOWN).await;
            home.relay.start_again().await?;
            trouble.relay_restarts += 1;
            trouble.note(start, "relay started again".into());
            let up = Instant::now();
            match wait_until("the device back on the relay", MEDIA_BACK_WITHIN, || {
                home.device.node.relay_connected()
            })
            .await
            {
                Ok(()) => trouble.relay_back.push(up.elapsed().as_secs_f64()),
                Err(_) => trouble.not_back += 1,
            }
        }
        // The link cut: every packet on the device's end of the veth dropped.
        let cut = CUTS[round as usize % CUTS.len()];
        if at + CUT_AT + cut < deadline {
            tokio::time::sleep_until((at + CUT_AT).max(Instant::now()).into()).await;
            cut_link(far, true).await?;
            trouble.link_cuts += 1;
            trouble.note(start, format!("link cut for {} s", cut.as_secs()));
            tokio::time::sleep(cut).await;
            cut_link(far, false).await?;
            trouble.note(start, "link back".into());
            let back = Instant::now();
            match wait_until("frames after the cut", MEDIA_BACK_WITHIN, || {
                viewers.iter().all(|v| v.frame_since(back))
            })
            .await
            {
                Ok(()) => trouble.media_after_cut.push(back.elapsed().as_secs_f64()),
                Err(_) => trouble.not_back += 1,
            }
        }
    }
    tokio::time::sleep_until(deadline.into()).await;
    Ok(trouble)
}

/// Cuts the link or mends it: every packet arriving on either end of the veth pair
/// is dropped (nftables, input hook, in the home namespace and in `far`), so both
/// sides send into the void, as over a cable pulled out somewhere between them.
async fn cut_link(far: &str, cut: bool) -> anyhow::Result<()> {
    let far = far.to_string();
    tokio::task::spawn_blocking(move || {
        for (netns, link) in [(None, HOME_LINK), (Some(far.as_str()), "hbfar")] {
            let nft = |command: &str| match netns {
                None => run("nft", &[command]),
                Some(name) => run("ip", &["netns", "exec", name, "nft", command]),
            };
            if !cut {
                nft(&format!("delete table inet {CUT_TABLE}"))?;
                continue;
            }
            nft(&format!("add table inet {CUT_TABLE}"))?;
            nft(&format!(
                "add chain inet {CUT_TABLE} in {{ type filter hook input priority 0; }}"
            ))?;
            nft(&format!(
                "add rule inet {CUT_TABLE} in iifname \"{link}\" drop"
            ))?;
        }
        Ok::<(), anyhow::Error>(())
    })
    .await?
    .context("nftables (the link cut)")
}

/// The least-squares slope of `y` over `x`, per 600 units of `x` (10 minutes).
fn trend_per_10_min(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return f64::NAN;
    }
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    sxy / sxx * 600.0
}

/// A row of the report's table: name, what it reads from a sample, the verdict's
/// bound, decimals.
type Row = (&'static str, fn(&Sample) -> f64, f64, usize);

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn max_of(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NAN, f64::max)
}

#[allow(clippy::too_many_arguments)]
fn print_report(
    minutes: u64,
    samples: &[Sample],
    viewers: &[Arc<Viewer>],
    frames: &[u64],
    sent: &[Sent],
    refused: u64,
    trouble: &Trouble,
    drain_secs: f64,
    outbox_left: usize,
) {
    let judged: Vec<Sample> = samples
        .iter()
        .copied()
        .filter(|s| s.at >= WARM_UP.as_secs_f64())
        .collect();
    let per_minute = (60 / SAMPLE_EVERY.as_secs()) as usize;
    let first = &judged[..per_minute.min(judged.len())];
    let last = &judged[judged.len().saturating_sub(per_minute)..];
    let mut table = String::from(
        "\n\n  | whole bench process | after warm-up (1 min) | end | max | trend per 10 min | last minute − first minute (medians) | flat if within |\n  |---|---|---|---|---|---|---|\n",
    );
    let mut flat = true;
    let rows: [Row; 3] = [
        ("RSS (MiB)", |s| s.rss_mib, FLAT_RSS_MIB, 1),
        ("open file descriptors", |s| s.fds, FLAT_FDS, 0),
        ("threads", |s| s.threads, FLAT_THREADS, 0),
    ];
    for (name, f, within, d) in rows {
        let all: Vec<f64> = judged.iter().map(f).collect();
        let growth = median(&last.iter().map(f).collect::<Vec<_>>())
            - median(&first.iter().map(f).collect::<Vec<_>>());
        flat &= growth <= within;
        let trend = trend_per_10_min(&judged.iter().map(|s| (s.at, f(s))).collect::<Vec<_>>());
        table.push_str(&format!(
            "  | {name} | {:.d$} | {:.d$} | {:.d$} | {trend:+.2} | {growth:+.d$} | {within} |\n",
            all.first().copied().unwrap_or(f64::NAN),
            all.last().copied().unwrap_or(f64::NAN),
            max_of(&all),
        ));
    }
    let sent_ids: HashSet<String> = sent.iter().map(|s| s.id.clone()).collect();
    let snapshots = sent
        .iter()
        .filter(|s| s.kind == ShareKind::Snapshot)
        .count();
    let received: Vec<usize> = viewers
        .iter()
        .map(|v| v.received().intersection(&sent_ids).count())
        .collect();
    let lost: usize = received.iter().map(|r| sent.len() - r).sum();
    let waited = match lost {
        0 => format!("the last arrived {drain_secs:.1} s after the end"),
        _ => format!("still missing after waiting {drain_secs:.0} s"),
    };
    let mut missing = String::new();
    for share in sent {
        let at = viewers
            .iter()
            .filter(|v| !v.received().contains(&share.id))
            .count();
        if at > 0 {
            missing.push_str(&format!(
                "\n    - not received: a {} queued at {:.0} s, by {at} viewer(s); before it: {}",
                share.kind.name(),
                share.at,
                trouble.before(share.at)
            ));
        }
    }
    let sum = |f: fn(&Viewer) -> u64| viewers.iter().map(|v| f(v)).sum::<u64>();
    let sessions = sum(|v| v.sessions.load(Ordering::Relaxed));
    let show = |v: &[f64]| match v.is_empty() {
        true => "–".to_string(),
        false => format!("median {:.2} s, max {:.2} s", median(v), max_of(v)),
    };
    table.push_str(&format!(
        "\n  Samples every {} s, {} judged (after the {} s warm-up); RSS, fds and threads are \
         the whole bench process (device, relay and the 4 viewers run in it).\n\
         \n  - frames received per viewer (until the end, before the wait for shares): {frames:?}\n\
         \n  - shares sent: {} ({snapshots} snapshots, {} thoughts; {refused} refused by the device); \
         received by each viewer: {received:?}; not received (share × viewer): {lost}, \
         {waited}; still waiting in the device's outbox (share × contact): {outbox_left}{missing}\n\
         \n  - privacy toggles: {} (on for {} s each; frames received while on, after a {} ms \
         grace: {}); frames back at every viewer after privacy off: {}\n\
         \n  - relay restarts: {} (down {} s each); the device back on the relay: {}\n\
         \n  - link cuts: {} ({} s and {} s by turns; nftables drops everything arriving at either end of the \
         veth pair, both ways); frames back at every viewer after the link: {}\n\
         \n  - rounds where media or the relay was not back within {} s: {}\n\
         \n  - sessions re-established: {} ({} sessions with video in all, {} calls, {} answered \
         while privacy was on, {} failed)\n\
         \n  - verdict: **{}**, {} (rule: the median of the last minute of samples minus the \
         median of the first minute after the warm-up within {FLAT_RSS_MIB} MiB RSS, \
         {FLAT_FDS} fds, {FLAT_THREADS} threads; nothing lost: every share at every viewer)",
        SAMPLE_EVERY.as_secs(),
        judged.len(),
        WARM_UP.as_secs(),
        sent.len(),
        sent.len() - snapshots,
        trouble.privacy_toggles,
        PRIVATE_FOR.as_secs(),
        PRIVACY_GRACE.as_millis(),
        trouble.frames_while_private,
        show(&trouble.media_after_privacy),
        trouble.relay_restarts,
        RELAY_DOWN.as_secs(),
        show(&trouble.relay_back),
        trouble.link_cuts,
        CUTS[0].as_secs(),
        CUTS[1].as_secs(),
        show(&trouble.media_after_cut),
        MEDIA_BACK_WITHIN.as_secs(),
        trouble.not_back,
        sessions.saturating_sub(VIEWERS as u64),
        sessions,
        sum(|v| v.calls.load(Ordering::Relaxed)),
        sum(|v| v.privacy_answers.load(Ordering::Relaxed)),
        sum(|v| v.failed_calls.load(Ordering::Relaxed)),
        if flat { "flat" } else { "growing" },
        if lost == 0 { "nothing lost" } else { "shares missing" },
    ));
    report(
        &format!(
            "Soak, {minutes} min: the device (640×480@30 simulated camera and microphone) \
             with {VIEWERS} viewers, a share every {} s, privacy on each minute, the relay \
             restarted each minute, the link cut each minute; two network namespaces",
            SHARE_EVERY.as_secs()
        ),
        &table,
        "RSS, open files and threads flat; nothing lost",
    );
}
