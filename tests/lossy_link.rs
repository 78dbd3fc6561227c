//! The device on a lossy, slow path: the real `hearth` binary in one
//! namespace, our own WHEP player in another, and between them a router
//! whose impairer (tests/support/impaired_link.rs) loses 5% of the packets
//! each way and delays each by 50 ms. Loss is repaired without flooding the
//! link: no RTP packet is sent more than 3 times again, and the picture
//! never stops for more than 500 ms. Needs root; without it the test says
//! why and returns.

mod support;

use hearth::media::H264Decoder;
use hearth::peer::{HearthPeer, PeerOptions};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::cli::{self, BIN};
use support::http::request;
use support::impaired_link::{ImpairedLink, Impairment, DEVICE_IP, PLAYER_IP};
use support::topology::is_root;

const PORT: u16 = 7610;
/// How long the player watches.
const WATCH: Duration = Duration::from_secs(20);

/// Adds a token contact with the CLI; returns the token it printed once.
fn add_token(data_dir: &Path, name: &str, allow: &str) -> String {
    let out = cli::run_ok(&mut cli::bare_command(
        data_dir,
        &["contacts", "add-token", name, "--allow", allow],
    ));
    out.lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .unwrap_or_else(|| panic!("no token printed:\n{out}"))
        .to_string()
}

/// Starts the device in its namespace; returns its token for a player.
fn start_device(link: &ImpairedLink, dir: &Path) -> (support::topology::Process, String) {
    let data = dir.join("data");
    let config = dir.join("hearth.toml");
    std::fs::write(
        &config,
        format!(
            "name = \"Kitchen\"\n[http]\nlisten = \"{DEVICE_IP}:{PORT}\"\n\
             [relay]\nurls = [\"ws://{DEVICE_IP}:{PORT}/relay\"]\n\
             [video]\nwidth = 640\nheight = 480\nbitrate_kbps = 600\n\
             [webrtc]\nudp_addresses = [\"{DEVICE_IP}\"]\n"
        ),
    )
    .unwrap();
    let token = add_token(&data, "TV", "live_video");
    let log = std::fs::File::create(dir.join("device.log")).unwrap();
    let device = link.device.spawn(
        link.device
            .command(BIN)
            .arg("--data-dir")
            .arg(&data)
            .arg("--config")
            .arg(&config)
            .arg("run")
            .env("HEARTH_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log),
    );
    (device, token)
}

/// Watches over WHEP from the player's namespace for [`WATCH`]; returns
/// when each frame was decoded.
fn watch(link: &ImpairedLink, token: &str) -> Vec<Instant> {
    ImpairedLink::run_in(&link.player, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let options = PeerOptions {
                data_channel: false,
                bind_addrs: vec![(PLAYER_IP, 0).into()],
                ..PeerOptions::viewer()
            };
            let (peer, _events) = HearthPeer::new(options).await.unwrap();
            let offer = peer.create_offer().await.unwrap();
            let auth = format!("Bearer {token}");
            let device = (DEVICE_IP, PORT).into();
            let mut created = None;
            // The device may still be starting.
            for _ in 0..100 {
                let res = tokio::time::timeout(
                    Duration::from_secs(5),
                    request(
                        device,
                        "POST",
                        "/whep",
                        &[
                            ("Authorization", &auth),
                            ("Content-Type", "application/sdp"),
                        ],
                        offer.as_bytes(),
                    ),
                )
                .await;
                if let Ok(res) = res {
                    created = Some(res);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let created = created.expect("the device answers WHEP");
            assert_eq!(created.status, 201, "{}", created.body);
            peer.accept_answer(&created.body).await.unwrap();
            let mut frames = peer.take_remote_video().unwrap();
            let mut decoder = H264Decoder::new().unwrap();
            let mut decoded = vec![];
            let first = tokio::time::timeout(Duration::from_secs(30), frames.recv())
                .await
                .expect("video comes")
                .expect("video open");
            let _ = decoder.decode(&first.data);
            let end = Instant::now() + WATCH;
            while Instant::now() < end {
                let Ok(Some(frame)) =
                    tokio::time::timeout(Duration::from_secs(5), frames.recv()).await
                else {
                    break;
                };
                if let Ok(Some(_)) = decoder.decode(&frame.data) {
                    decoded.push(Instant::now());
                }
            }
            let _ = peer.close().await;
            decoded
        })
    })
}

#[test]
fn five_percent_loss_and_50_ms_are_repaired_without_a_flood() {
    if !is_root() {
        eprintln!("skipped: network namespaces need root (CI runs as root)");
        return;
    }
    let link = ImpairedLink::build(Impairment {
        loss: 0.05,
        delay: Duration::from_millis(50),
    });
    let dir = tempfile::tempdir().unwrap();
    let (_device, token) = start_device(&link, dir.path());
    let decoded = watch(&link, &token);
    let counts = link.counts();
    let down = &counts.down;
    let longest = decoded
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or(WATCH);
    eprintln!(
        "{} frames decoded in {WATCH:?}; longest stop {longest:?}; device sent {} packets \
         ({} dropped), {} RTP resends, most for one packet {}",
        decoded.len(),
        down.packets,
        down.dropped,
        down.resends(),
        down.most_resends()
    );
    assert!(
        decoded.len() as f64 > WATCH.as_secs_f64() * 15.0,
        "only {} frames in {WATCH:?}",
        decoded.len()
    );
    assert!(
        down.most_resends() <= 3,
        "a packet was sent {} times again",
        down.most_resends()
    );
    assert!(
        longest <= Duration::from_millis(500),
        "the picture stopped for {longest:?}"
    );
}
