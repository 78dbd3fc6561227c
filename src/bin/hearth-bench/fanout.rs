//! Fan-out cost: the real `hearth` binary (a separate process, so its CPU and memory
//! are its own) streams 720p30 to 0, 1, 2, 4 and 8 WHEP players in this process. The
//! players only count access units (no decoding), so they take as little of the shared
//! CPU as possible. CPU comes from `/proc/PID/stat`, memory from `/proc/PID/status`.

use crate::stats::{cpu_seconds, report, status_mib};
use crate::world::{watch, Player};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The `hearth` binary next to this one.
pub fn hearth_binary() -> PathBuf {
    let me = std::env::current_exe().expect("own path");
    me.with_file_name("hearth")
}

/// A `hearth run` child process; killed on drop.
pub struct DeviceProcess {
    /// The process.
    pub child: Child,
    /// Its HTTP address.
    pub addr: std::net::SocketAddr,
    /// A WHEP token allowed live video.
    pub token: String,
    dir: PathBuf,
}

impl Drop for DeviceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn hearth(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(hearth_binary())
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "hearth {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

impl DeviceProcess {
    /// Starts `hearth run` at `width`×`height`@30 on loopback with a WHEP token contact.
    pub fn start(width: u32, height: u32, kbps: u32) -> anyhow::Result<DeviceProcess> {
        let dir = std::env::temp_dir().join(format!("hearth-bench-dev-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let config = dir.join("hearth.toml");
        std::fs::write(
            &config,
            format!(
                "name = \"Bench\"\n[http]\nlisten = \"{addr}\"\n[relay]\nurls = [\"ws://{addr}/relay\"]\n\
                 [video]\nwidth = {width}\nheight = {height}\nfps = 30\nbitrate_kbps = {kbps}\n\
                 [webrtc]\nudp_addresses = [\"127.0.0.1\"]\n"
            ),
        )?;
        let out = hearth(
            &dir,
            &["contacts", "add-token", "Bench", "--allow", "live_video"],
        )?;
        let token = out
            .lines()
            .find_map(|l| l.trim().strip_prefix("token: "))
            .ok_or_else(|| anyhow::anyhow!("no token printed"))?
            .to_string();
        let child = Command::new(hearth_binary())
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--config")
            .arg(&config)
            .arg("run")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let device = DeviceProcess {
            child,
            addr,
            token,
            dir,
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(addr).is_ok() {
                return Ok(device);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        anyhow::bail!("hearth run did not start listening on {addr}")
    }
}

/// Measures the device's CPU and RSS with each number of viewers in `counts`.
pub async fn fanout(counts: &[usize], seconds: u64) -> anyhow::Result<()> {
    let device = DeviceProcess::start(1280, 720, 2500)?;
    let pid = device.child.id();
    let received = Arc::new(AtomicU64::new(0));
    let mut players: Vec<Player> = Vec::new();
    let mut rows = Vec::new();
    let mut base_cpu = None;
    for &n in counts {
        while players.len() < n {
            let mut player = watch(device.addr, &device.token).await?;
            let mut video = std::mem::replace(&mut player.video, tokio::sync::mpsc::channel(1).1);
            let counter = received.clone();
            tokio::spawn(async move {
                while video.recv().await.is_some() {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
            players.push(player);
        }
        tokio::time::sleep(Duration::from_secs(3)).await; // settle
        let (cpu0, units0) = (cpu_seconds(pid), received.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let (cpu1, units1) = (cpu_seconds(pid), received.load(Ordering::Relaxed));
        let cpu = match (cpu0, cpu1) {
            (Some(a), Some(b)) => (b - a) / seconds as f64 * 100.0,
            _ => anyhow::bail!("cannot read the device's CPU time"),
        };
        let rss = status_mib(pid, "VmRSS:").unwrap_or(f64::NAN);
        let fps = (units1 - units0) as f64 / seconds as f64 / n.max(1) as f64;
        if n == 1 {
            base_cpu = Some(cpu);
        }
        rows.push((n, cpu, rss, fps));
    }
    let peak = status_mib(pid, "VmHWM:").unwrap_or(f64::NAN);
    for p in players {
        p.stop(device.addr, &device.token).await;
    }
    let mut table = String::from("\n\n  | viewers | device CPU (% of one core) | × CPU of 1 viewer | RSS (MB) | frames/s per viewer |\n  |---|---|---|---|---|\n");
    for (n, cpu, rss, fps) in &rows {
        let ratio = base_cpu.map_or("–".into(), |b| format!("{:.2}", cpu / b));
        table.push_str(&format!(
            "  | {n} | {cpu:.1} | {ratio} | {rss:.1} | {fps:.1} |\n"
        ));
    }
    table.push_str(&format!(
        "\n  Peak RSS over the run: {peak:.1} MB. CPU averaged over {seconds} s per row."
    ));
    report(
        "Fan-out, `hearth run` at 1280×720@30 (2.5 Mbps, simulated camera), WHEP players on loopback",
        &table,
        "8 viewers ≤ 1.2× the CPU of 1; RSS ≤ 40 MB with 4 viewers",
    );
    Ok(())
}
