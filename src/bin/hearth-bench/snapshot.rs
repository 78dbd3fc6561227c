//! Snapshot (issue #7 item 7): from pressing SHARE until a 2 MP JPEG of the camera's
//! frame is acknowledged by every contact, on loopback.
//!
//! The device is the real `Device` with its panel and a simulated 1920×1080 camera;
//! `[share] max_width` is raised to 1920 so the snapshot stays 2 MP. Each contact is a
//! family member's node that called the device (a data-only session, as a member's
//! device or app keeps one open) and runs the receiving side of the share transfer —
//! the same `ShareSession` and on-disk `Inbox` a Hearth device runs — so it verifies
//! every chunk, writes it durably and acknowledges the whole JPEG.
//!
//! SHARE is pressed through `buttons.sock` (what `hearth press snapshot` does). The clock
//! stops when the device has handled the last contact's `share_ack` (its "share
//! delivered" log line, see [`crate::hooks`]). Along the way: when the press reached the
//! panel, when the share was queued (snapshot taken, JPEG encoded, signed, written to
//! the outbox), and when each contact had stored it.

use crate::hooks::{self, ms_between};
use crate::household::{
    jpeg_size, receive_shares, wait_until, Family, Home, Member, NoisyCamera, OpenMedia, Stored,
    StoredLog,
};
use crate::stats::{report, Summary};
use crate::Size;
use hearth::api::LocalMedia;
use hearth::config::Config;
use hearth::contacts::Permission;
use hearth::hardware::buttons::Button;
use hearth::media::{H264Config, OpenH264Encoder, VideoPipeline};
use hearth::share::inbox::Inbox;
use hearth::share::ReceiveRules;
use std::time::Duration;

/// One timed SHARE.
struct Run {
    /// Press → the panel got it from the socket.
    to_panel: f64,
    /// Press → share queued (snapshot + JPEG + signature + outbox).
    to_queued: f64,
    /// Press → the offer reached the last contact.
    to_offered: f64,
    /// Press → every contact had stored it.
    to_stored: f64,
    /// Press → the device handled the last acknowledgement.
    total: f64,
    /// JPEG size in bytes.
    jpeg_bytes: u64,
}

/// Presses SHARE `runs` times (after one warm-up) with `contacts` contacts connected.
/// With `noisy`, the camera adds sensor-like noise (a realistic JPEG size).
pub async fn snapshot(size: Size, contacts: usize, runs: usize, noisy: bool) -> anyhow::Result<()> {
    let Size(width, height) = size;
    let media: Option<OpenMedia> = match noisy {
        false => None,
        true => Some(Box::new(|config: &Config| {
            let v = &config.video;
            let camera = NoisyCamera::new(v.width, v.height, v.fps)?;
            let encoder = OpenH264Encoder::new(
                H264Config::new(v.width, v.height, v.fps).with_bitrate(v.bitrate_kbps * 1000),
            )?;
            let video = VideoPipeline::start(Box::new(camera), Box::new(encoder))?;
            Ok(LocalMedia::new(Some(video), None))
        })),
    };
    let home = Home::start(
        |config| {
            config.video.width = width;
            config.video.height = height;
            config.video.bitrate_kbps = 4000;
            config.share.max_width = width;
        },
        media,
    )
    .await?;
    let family = Family::new()?;
    let mut members: Vec<Member> = vec![];
    let mut connections = vec![];
    let stored: Vec<StoredLog> = (0..contacts).map(|_| StoredLog::default()).collect();
    for (i, log) in stored.iter().enumerate() {
        let member = home
            .member(
                &family,
                &format!("Family {}", i + 1),
                &[Permission::Snapshots],
            )
            .await?;
        let connection = home.call(&member);
        let c = connection.clone();
        family.run(async move { c.connect().await }).await??;
        family.spawn(receive_shares(
            connection.clone(),
            member.node.peer_key(),
            Inbox::new(&member.dir),
            ReceiveRules {
                snapshots: true,
                photos_and_thoughts: false,
            },
            log.clone(),
        ));
        connections.push(connection);
        members.push(member);
    }
    wait_until(
        "every contact has a share session with the device",
        Duration::from_secs(20),
        || home.device.status().connected.len() == contacts,
    )
    .await?;

    let mut results: Vec<Run> = vec![];
    for run in 0..=runs {
        // Random spacing, so runs do not lock to the camera's frame phase.
        let jitter = rand::random::<u64>() % 34;
        tokio::time::sleep(Duration::from_millis(300 + jitter)).await;
        hooks::clear();
        let pressed = home.press(Button::Snapshot).await?;
        let delivered = hooks::wait_for(
            pressed,
            "share delivered",
            contacts,
            Duration::from_secs(30),
        )
        .await?;
        let queued = hooks::wait_for(pressed, "share queued", 1, Duration::from_secs(1)).await?;
        let to_panel = hooks::matching(pressed, "button pressed through the socket")
            .first()
            .map_or(f64::NAN, |h| ms_between(pressed, h.at));
        let last = delivered.iter().map(|h| h.at).max().expect("delivered");
        let id_and_stored: Vec<Stored> = stored
            .iter()
            .filter_map(|log| log.lock().expect("log").last().cloned())
            .collect();
        anyhow::ensure!(
            id_and_stored.len() == contacts
                && id_and_stored
                    .iter()
                    .all(|s| s.id == id_and_stored[0].id && s.at >= pressed),
            "not every contact stored this run's share"
        );
        wait_until("the outbox is empty", Duration::from_secs(10), || {
            home.device.status().outbox.is_empty()
        })
        .await?;
        if run == 0 {
            continue; // warm-up: first decoder, first JPEG tables, first files
        }
        results.push(Run {
            to_panel,
            to_queued: ms_between(pressed, queued[0].at),
            to_offered: id_and_stored
                .iter()
                .map(|s| ms_between(pressed, s.offered))
                .fold(f64::MIN, f64::max),
            to_stored: id_and_stored
                .iter()
                .map(|s| ms_between(pressed, s.at))
                .fold(f64::MIN, f64::max),
            total: ms_between(pressed, last),
            jpeg_bytes: id_and_stored[0].jpeg_bytes,
        });
    }

    // What arrived is a whole JPEG of the camera's size.
    let entry = Inbox::new(&members[0].dir)
        .list()?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("nothing in the first contact's inbox"))?;
    let jpeg = std::fs::read(entry.jpeg_path.expect("a snapshot has a JPEG"))?;
    let dims = jpeg_size(&jpeg);
    anyhow::ensure!(
        dims == Some((width as u16, height as u16)),
        "the snapshot is {dims:?}, not {width}×{height}"
    );

    for connection in connections {
        family.run(async move { connection.close().await }).await?;
    }
    for member in &members {
        member.remove();
    }
    home.stop().await;
    drop(family);

    let col = |f: fn(&Run) -> f64| -> Summary {
        Summary::of(&results.iter().map(f).collect::<Vec<_>>()).expect("runs")
    };
    let (total, queued, offered, stored_all, panel) = (
        col(|r| r.total),
        col(|r| r.to_queued),
        col(|r| r.to_offered),
        col(|r| r.to_stored),
        col(|r| r.to_panel),
    );
    let bytes = col(|r| r.jpeg_bytes as f64);
    report(
        &format!(
            "Snapshot: SHARE pressed (`buttons.sock`) → {width}×{height} JPEG acknowledged by \
             {contacts} contacts, loopback, {}",
            if noisy {
                "test pattern with sensor-like noise"
            } else {
                "plain test pattern"
            }
        ),
        &format!(
            "{}; of which press → panel p50 {:.1} ms, press → share queued (frame, JPEG, \
             signature, outbox) {}, → offered to the last contact p50 {:.1} ms, → stored \
             (verified, on disk) by every contact p50 {:.1} ms; JPEG p50 {:.0} KB (quality 80)",
            total.show("ms", 1),
            panel.p50,
            queued.show("ms", 1),
            offered.p50,
            stored_all.p50,
            bytes.p50 / 1000.0,
        ),
        "≤ 300 ms p50",
    );
    Ok(())
}
