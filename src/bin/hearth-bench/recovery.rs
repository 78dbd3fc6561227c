//! `hearth-bench recovery`: how long media takes to come back after the path
//! breaks (issue #12 item 4, issue #14 item 5). A device and a viewer in one
//! process, on two network namespaces joined by a veth pair: the device's
//! thread in a private namespace (`unshare`), the viewer's and the relay's in
//! a named one. Either the device moves to a new address (`--cut move`), or
//! all UDP between the two is dropped for `--outage` seconds with nftables
//! (`--cut outage`; signalling through the relay, on TCP, stays up). Timed:
//! from the address change, or from the moment the path is back, to the
//! first video frame the viewer receives after it. Needs root.

use crate::household::scratch_dir;
use crate::setup;
use crate::stats::{report, Summary};
use anyhow::{bail, Context as _};
use hearth::api::{PeerConnection, RtcSettings};
use hearth::contacts::Permission;
use hearth::device::{Device, DeviceOptions};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// The home host's address on the veth pair (the device's side).
pub const HOME: &str = "10.98.0.1/24";
const MOVED: [&str; 2] = ["10.98.0.3/24", "10.98.0.1/24"];
/// The far host's address on the veth pair (the viewers' and the relay's side).
pub const FAR_IP: &str = "10.98.0.2";
const RELAY: &str = "10.98.0.2:7811";
/// The home host's end of the veth pair.
pub const HOME_LINK: &str = "hbhome";

fn ip(args: &[&str]) -> anyhow::Result<()> {
    run("ip", args)
}

/// Runs `program` with `args` (in the calling thread's network namespace); its
/// standard error is the error if it fails.
pub fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(program).args(args).output()?;
    if !out.status.success() {
        bail!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// A data directory removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(what: &str) -> anyhow::Result<TempDir> {
        Ok(TempDir(scratch_dir(what)?))
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A named network namespace (the far host), deleted however the bench ends.
pub struct Far(pub String);

impl Far {
    /// Creates the namespace `hb{what}{pid}`. Needs root.
    pub fn create(what: &str) -> anyhow::Result<Far> {
        let far = Far(format!("hb{what}{}", std::process::id()));
        ip(&["netns", "add", &far.0])?;
        Ok(far)
    }
}

/// Moves the calling thread (and the threads it starts later) into the named
/// network namespace `name`.
pub fn enter_netns(name: &str) -> anyhow::Result<()> {
    let file = std::fs::File::open(format!("/run/netns/{name}"))?;
    // SAFETY: moves only this thread (and what it starts) to the namespace.
    if unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&file), libc::CLONE_NEWNET) } != 0 {
        bail!("setns: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

/// Moves the calling thread (and the threads it starts later) into a new network
/// namespace, the home host ([`HOME`] on [`HOME_LINK`], loopback up), joined to the
/// named namespace `far` ([`FAR_IP`]) by a veth pair. Needs root.
pub fn join_home_to(far: &str) -> anyhow::Result<()> {
    // SAFETY: moves only this thread (and what it starts) to a new namespace.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        bail!("unshare (needs root): {}", std::io::Error::last_os_error());
    }
    ip(&["link", "set", "lo", "up"])?;
    ip(&[
        "link", "add", HOME_LINK, "type", "veth", "peer", "name", "hbfar", "netns", far,
    ])?;
    ip(&["addr", "add", HOME, "dev", HOME_LINK])?;
    ip(&["link", "set", HOME_LINK, "up"])?;
    ip(&[
        "-n",
        far,
        "addr",
        "add",
        &format!("{FAR_IP}/24"),
        "dev",
        "hbfar",
    ])?;
    ip(&["-n", far, "link", "set", "hbfar", "up"])?;
    ip(&["-n", far, "link", "set", "lo", "up"])?;
    Ok(())
}

impl Drop for Far {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Runs the measurement; `cut` is `move` or `outage`.
pub async fn recovery(cut: String, outage: u64, runs: usize) -> anyhow::Result<()> {
    if cut != "move" && cut != "outage" {
        bail!("--cut {cut}: use move or outage");
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let times = tokio::task::spawn_blocking(move || measure(&cut, outage, runs, seen)).await??;
    let ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    let summary = Summary::of(&ms).context("no runs")?;
    report(
        "Media back after the path breaks (ICE restart)",
        &format!(
            "{} over {} runs; the viewer called {} time(s) in all",
            summary.show("ms", 0),
            ms.len(),
            calls.load(Ordering::Relaxed)
        ),
        "within 3 s of the network coming back",
    );
    Ok(())
}

fn measure(
    cut: &str,
    outage: u64,
    runs: usize,
    calls_seen: Arc<AtomicUsize>,
) -> anyhow::Result<Vec<Duration>> {
    let far = Far::create("far")?;
    let far_name = far.0.clone();
    let (frames_tx, frames_rx) = mpsc::channel::<Instant>();
    let (device_key_tx, device_key_rx) = mpsc::channel();
    let (viewer_code_tx, viewer_code_rx) = mpsc::channel();
    // The viewer and the relay, on the far host.
    let viewer = std::thread::spawn(move || -> anyhow::Result<()> {
        enter_netns(&far_name)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            // Wait for the veth before binding the relay on it.
            let listener = loop {
                if let Ok(l) = tokio::net::TcpListener::bind(RELAY).await {
                    break l;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            tokio::spawn(hearth::relay::serve(
                listener,
                Default::default(),
                std::future::pending(),
            ));
            let dir = TempDir::new("viewer")?;
            let node = setup::start_node(dir.path(), &setup::relay_url(RELAY), "Gran")?;
            viewer_code_tx.send(node.contact_code())?;
            let device_code: hearth::identity::ContactCode = device_key_rx.recv()?;
            let device_key = device_code.peer_key;
            setup::approve_contact(&node, &device_code, &[]).await?;
            while !node.relay_connected() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let settings = RtcSettings {
                bind_addrs: vec![FAR_IP.parse()?],
                ..RtcSettings::default()
            };
            // As `hearth watch` does: call again after a back-off when a session ends.
            let mut delay = Duration::from_millis(500);
            loop {
                while !node.relay_connected() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let call = PeerConnection::with_settings(&node, device_key, settings.clone());
                calls_seen.fetch_add(1, Ordering::Relaxed);
                match call.fetch_stream().await {
                    Ok(mut stream) => {
                        delay = Duration::from_millis(500);
                        let ended = call.ended();
                        tokio::pin!(ended);
                        loop {
                            tokio::select! {
                                frame = stream.next_video_frame() => {
                                    if frame.is_none() {
                                        break;
                                    }
                                    if frames_tx.send(Instant::now()).is_err() {
                                        return Ok(());
                                    }
                                }
                                why = &mut ended => {
                                    eprintln!("viewer: the session ended: {}", why.reason);
                                    break;
                                }
                            }
                        }
                    }
                    Err(e) => eprintln!("viewer: {e}"),
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        })
    });
    // The device, on the home host.
    let cut = cut.to_string();
    let home = std::thread::spawn(move || -> anyhow::Result<Vec<Duration>> {
        join_home_to(&far.0)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let result = runtime.block_on(async move {
            let dir = TempDir::new("device")?;
            let device = Device::start(DeviceOptions {
                config: setup::base_device_config(&[setup::relay_url(RELAY)]),
                data_dir: dir.path().to_path_buf(),
                rtc: Some(RtcSettings::default()),
                media: None,
            })
            .await?;
            let viewer_code: hearth::identity::ContactCode = viewer_code_rx.recv()?;
            setup::approve_contact(&device.node, &viewer_code, &[Permission::LiveVideo]).await?;
            device_key_tx.send(device.node.contact_code())?;
            let next_frame = |after: Instant, limit: Duration| -> anyhow::Result<Instant> {
                let deadline = Instant::now() + limit;
                loop {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let at = frames_rx.recv_timeout(left).context("no video")?;
                    if at >= after {
                        return Ok(at);
                    }
                }
            };
            next_frame(Instant::now(), Duration::from_secs(60)).context("no first frame")?;
            let mut times = vec![];
            for run_index in 0..runs {
                std::thread::sleep(Duration::from_secs(3));
                let back = if cut == "move" {
                    let (from, to) = if run_index % 2 == 0 {
                        (HOME, MOVED[0])
                    } else {
                        (MOVED[0], MOVED[1])
                    };
                    ip(&["addr", "del", from, "dev", "hbhome"])?;
                    ip(&["addr", "add", to, "dev", "hbhome"])?;
                    Instant::now()
                } else {
                    run("nft", &["add", "table", "inet", "hbcut"])?;
                    run(
                        "nft",
                        &["add chain inet hbcut out { type filter hook output priority 0; }"],
                    )?;
                    run("nft", &["add rule inet hbcut out meta l4proto udp drop"])?;
                    run(
                        "nft",
                        &["add chain inet hbcut in { type filter hook input priority 0; }"],
                    )?;
                    run("nft", &["add rule inet hbcut in meta l4proto udp drop"])?;
                    std::thread::sleep(Duration::from_secs(outage));
                    run("nft", &["delete", "table", "inet", "hbcut"])?;
                    Instant::now()
                };
                let frame = next_frame(back, Duration::from_secs(180))
                    .context("no video within 180 s of the path coming back")?;
                let took = frame - back;
                eprintln!("run {}: media back {took:?} after the path", run_index + 1);
                times.push(took);
                // Frames already queued before the cut must not count next time.
                while frames_rx.try_recv().is_ok() {}
            }
            device.stop().await;
            Ok(times)
        });
        // Tasks that never end (the camera) must not hold the bench.
        runtime.shutdown_background();
        drop(far);
        result
    });
    let times = home
        .join()
        .map_err(|_| anyhow::anyhow!("the device thread panicked"))?;
    let _ = viewer; // ends with the process
    times
}
