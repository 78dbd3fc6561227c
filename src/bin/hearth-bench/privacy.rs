//! Privacy switch timing (issue #5 item 6): one press of PRIVACY must turn camera and
//! microphone off for everyone within 100 ms — tracks stop sending, the LED goes out,
//! the screen says PRIVATE.
//!
//! The device is the real `Device` with its panel (simulated camera, microphone, LED and
//! screen); the viewers are family members' nodes that called it and receive its live
//! video and audio. PRIVACY is pressed through `buttons.sock` (what `hearth press
//! privacy` does; on a Pi a GPIO press reaches the same panel loop). Measured from the
//! press: when the panel got it, when the device switched privacy on, when the LED went
//! out and when the PRIVATE screen was written (from the device's log lines, see
//! [`crate::hooks`]), and the last video frame and audio packet any viewer received.
//! After each run the screen file is compared with the PRIVATE home screen drawn here,
//! and privacy is switched off again (and media seen flowing) before the next press.

use crate::hooks::{self, ms_between};
use crate::household::{scratch_dir, wait_until, Family, Home};
use crate::stats::{report, Summary};
use hearth::contacts::Permission;
use hearth::hardware::buttons::Button;
use hearth::hardware::display::png::{render_rgb, save_png};
use hearth::hardware::display::{simulated_size, Home as HomeScreen, Network, Screen};
use hearth::hardware::Board;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// When a viewer last received a video frame and an audio packet.
#[derive(Debug, Default, Clone, Copy)]
struct Arrivals {
    video: Option<Instant>,
    audio: Option<Instant>,
}

type Seen = Arc<Mutex<Arrivals>>;

/// The last arrival of each kind over every viewer.
fn latest(seen: &[Seen]) -> (Option<Instant>, Option<Instant>) {
    let all: Vec<Arrivals> = seen.iter().map(|s| *s.lock().expect("seen")).collect();
    (
        all.iter().filter_map(|a| a.video).max(),
        all.iter().filter_map(|a| a.audio).max(),
    )
}

/// Whether every viewer got video and audio in the last `within`.
fn all_flowing(seen: &[Seen], within: Duration) -> bool {
    let now = Instant::now();
    seen.iter().all(|s| {
        let a = *s.lock().expect("seen");
        let fresh = |t: Option<Instant>| t.is_some_and(|t| now.duration_since(t) < within);
        fresh(a.video) && fresh(a.audio)
    })
}

/// One timed press.
struct Run {
    to_panel: f64,
    to_private: f64,
    to_led: f64,
    to_screen: f64,
    /// Press → the last video frame any viewer received (≤ 0: none after the press).
    last_video: f64,
    /// Press → the last audio packet any viewer received.
    last_audio: f64,
}

/// Presses PRIVACY `runs` times (after one warm-up) with `viewers` watching and listening.
pub async fn privacy(viewers: usize, runs: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let home = Home::start(|_| {}, None).await?;
    let expected = expected_private_screen(&home)?;
    let family = Family::new()?;
    let mut members = vec![];
    let mut connections = vec![];
    let seen: Vec<Seen> = (0..viewers).map(|_| Seen::default()).collect();
    for (i, s) in seen.iter().enumerate() {
        let member = home
            .member(
                &family,
                &format!("Viewer {}", i + 1),
                &[Permission::LiveVideo, Permission::LiveAudio],
            )
            .await?;
        let connection = home.call(&member);
        let (c, s) = (connection.clone(), s.clone());
        family
            .run(async move {
                let mut remote = c.fetch_stream().await?;
                let (mut video, mut audio) = (
                    remote
                        .take_video()
                        .ok_or_else(|| anyhow::anyhow!("no video granted"))?,
                    remote
                        .take_audio()
                        .ok_or_else(|| anyhow::anyhow!("no audio granted"))?,
                );
                let s1 = s.clone();
                tokio::spawn(async move {
                    while video.recv().await.is_some() {
                        s1.lock().expect("seen").video = Some(Instant::now());
                    }
                });
                tokio::spawn(async move {
                    while audio.recv().await.is_some() {
                        s.lock().expect("seen").audio = Some(Instant::now());
                    }
                });
                Ok::<_, anyhow::Error>(())
            })
            .await??;
        connections.push(connection);
        members.push(member);
    }

    hooks::wait_for_fields(started, "live LED", "lit=true", 1, Duration::from_secs(5)).await?;
    let mut results = vec![];
    let mut leaks = 0usize;
    for run in 0..=runs {
        wait_until(
            "every viewer receives video and audio",
            Duration::from_secs(10),
            || all_flowing(&seen, Duration::from_millis(100)),
        )
        .await?;
        anyhow::ensure!(!home.device.status().private, "privacy is off");
        // Random phase against the 33 ms frames and 20 ms audio packets.
        let jitter = 200 + rand::random::<u64>() % 34;
        tokio::time::sleep(Duration::from_millis(jitter)).await;
        hooks::clear();
        let pressed = home.press(Button::Privacy).await?;
        let limit = Duration::from_secs(5);
        let private = hooks::wait_for(
            pressed,
            "PRIVATE: camera and microphone off for everyone",
            1,
            limit,
        )
        .await?;
        let led = hooks::wait_for_fields(pressed, "live LED", "lit=false", 1, limit).await?;
        let screen = hooks::wait_for(pressed, "screen written", 1, limit).await?;
        let to_panel = hooks::matching(pressed, "button pressed through the socket")
            .first()
            .map_or(f64::NAN, |h| ms_between(pressed, h.at));
        // Anything still in flight arrives well within this.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (video, audio) = latest(&seen);
        let since = |t: Option<Instant>| t.map_or(f64::NAN, |t| ms_between(pressed, t));
        let (last_video, last_audio) = (since(video), since(audio));
        if last_video > 100.0 || last_audio > 100.0 {
            leaks += 1;
        }
        anyhow::ensure!(home.device.status().private, "privacy is on");
        let shown = std::fs::read(home.dir.join("screen.png"))?;
        anyhow::ensure!(
            shown == expected,
            "the screen does not show the PRIVATE home screen"
        );
        // Privacy off again for the next run.
        let off = home.press(Button::Privacy).await?;
        hooks::wait_for_fields(off, "live LED", "lit=true", 1, limit).await?;
        if run == 0 {
            continue; // warm-up
        }
        results.push(Run {
            to_panel,
            to_private: ms_between(pressed, private[0].at),
            to_led: ms_between(pressed, led[0].at),
            to_screen: ms_between(pressed, screen[0].at),
            last_video,
            last_audio,
        });
    }
    let hung_up = Instant::now();
    for connection in connections {
        family.run(async move { connection.close().await }).await?;
    }
    // Nobody watches now: the LED goes out (the panel follows sessions at once).
    hooks::wait_for_fields(hung_up, "live LED", "lit=false", 1, Duration::from_secs(5)).await?;
    let led_on = led_for_a_new_viewer(&home, &family, runs.min(10)).await?;
    for member in &members {
        member.remove();
    }
    home.stop().await;
    drop(family);

    let col = |f: fn(&Run) -> f64| -> Summary {
        Summary::of(&results.iter().map(f).collect::<Vec<_>>()).expect("runs")
    };
    let last_after = |f: fn(&Run) -> f64| results.iter().filter(|r| f(r) > 0.0).count();
    let (video, audio) = (col(|r| r.last_video), col(|r| r.last_audio));
    report(
        &format!(
            "Privacy: PRIVACY pressed (`buttons.sock`) → media stops for {viewers} viewers \
             (video + audio), LED off, screen PRIVATE; 640×480@30 + Opus, loopback"
        ),
        &format!(
            "screen PRIVATE written {}; LED off {}; privacy on (pipelines paused) p50 {:.1} ms; \
             press → panel p50 {:.1} ms. Last video frame any viewer received: p50 {:.1} ms \
             after the press (max {:.1}; in {} of {} runs one arrived after the press), last \
             audio packet p50 {:.1} ms (max {:.1}; {} of {} after the press); runs with \
             anything later than 100 ms: {leaks}",
            col(|r| r.to_screen).show("ms", 1),
            col(|r| r.to_led).show("ms", 1),
            col(|r| r.to_private).p50,
            col(|r| r.to_panel).p50,
            video.p50,
            video.max,
            last_after(|r| r.last_video),
            results.len(),
            audio.p50,
            audio.max,
            last_after(|r| r.last_audio),
            results.len(),
        ),
        "≤ 100 ms from the press to media stopped, LED off and PRIVATE on screen",
    );
    report(
        "LED: a viewer's session starts (the device logs LIVE) → the live LED lights, 640×480@30, loopback",
        &led_on.show("ms", 1),
        "none set (the LED is the promise that nobody watches unseen)",
    );
    Ok(())
}

/// How long the LED takes to light when someone starts watching, `joins` times: a
/// viewer calls, the device logs LIVE, the LED lights; then the viewer hangs up and
/// the LED goes out again before the next join. The LED must be out when called.
async fn led_for_a_new_viewer(
    home: &Home,
    family: &Family,
    joins: usize,
) -> anyhow::Result<Summary> {
    let member = home
        .member(family, "Late viewer", &[Permission::LiveVideo])
        .await?;
    let limit = Duration::from_secs(5);
    let mut delays = vec![];
    for _ in 0..joins {
        let since = Instant::now();
        let connection = home.call(&member);
        let c = connection.clone();
        family
            .run(async move { c.fetch_stream().await.map(drop) })
            .await??;
        let live = hooks::wait_for(since, "LIVE: now sharing with this contact", 1, limit).await?;
        let lit = hooks::wait_for_fields(since, "live LED", "lit=true", 1, limit).await?;
        delays.push(ms_between(live[0].at, lit[0].at));
        let hung_up = Instant::now();
        family.run(async move { connection.close().await }).await?;
        hooks::wait_for_fields(hung_up, "live LED", "lit=false", 1, limit).await?;
        let jitter = rand::random::<u64>() % 1000; // random phase against the panel's 1 s tick
        tokio::time::sleep(Duration::from_millis(jitter)).await;
    }
    member.remove();
    Ok(Summary::of(&delays).expect("joins"))
}

/// The PRIVATE home screen as the simulated display writes it (same size and scale).
fn expected_private_screen(home: &Home) -> anyhow::Result<Vec<u8>> {
    let board = Board::load(&home.config.board.profile)?;
    let size = simulated_size(&home.config.display, &board)?;
    let scale = hearth::hardware::display::png::viewing_scale(size);
    let screen = Screen::Home(HomeScreen {
        private: true,
        watchers: vec![],
        network: Network::Online,
    });
    let dir = scratch_dir("screen")?;
    let path = dir.join("expected.png");
    save_png(&render_rgb(&screen, size), &path, scale)?;
    let bytes = std::fs::read(&path)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(bytes)
}
