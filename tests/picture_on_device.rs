//! A contact's camera on the device (issue #16): a Rust caller sends the
//! test pattern with its call, and the device's simulated picture output
//! (PNG frames under `<data>/picture/`) shows it, only if the contact holds
//! `show_on_device`. The owner stays in charge: privacy on and the NO
//! button take it off at once, and the caller is told why each time.

mod support;

use hearth::api::{LocalMedia, PeerConnection, VideoStream};
use hearth::config::hardware::PictureTarget;
use hearth::contacts::Permission;
use hearth::hardware::buttons::{press, socket_path, Action, Button};
use hearth::media::{H264Config, OpenH264Encoder, TestPatternCamera, VideoPipeline};
use hearth::privacy::PrivacyInput;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use support::harness::*;
use support::shown_frame::{frames_shown, hdmi_area, screen_area, Area, Shown};

/// A caller's camera: the test pattern at 320×240.
fn camera() -> LocalMedia {
    let camera = TestPatternCamera::new(320, 240, 30).unwrap();
    let encoder = OpenH264Encoder::new(H264Config::new(320, 240, 30)).unwrap();
    LocalMedia::new(
        Some(VideoPipeline::start(Box::new(camera), Box::new(encoder)).unwrap()),
        None,
    )
}

/// Calls the household's device from its viewer, sending [`camera`]; returns
/// once answered, with the camera (kept alive by the caller).
async fn call_with_camera(home: &Household) -> (PeerConnection, LocalMedia) {
    let media = camera();
    let connection =
        PeerConnection::with_settings(&home.viewer, home.device.node.peer_key(), fast_settings());
    connection
        .add_stream(&VideoStream::open(&media).await.unwrap())
        .unwrap();
    connection.connect().await.expect("the call is answered");
    (connection, media)
}

/// The next `picture` message the device sends on `connection`.
async fn told_about_picture(connection: &PeerConnection) -> Value {
    let told = async {
        while let Some(message) = connection.recv().await {
            if let Ok(value) = message.json::<Value>() {
                if value["type"] == "picture" {
                    return value;
                }
            }
        }
        panic!("the session ended before the device said anything about the picture");
    };
    tokio::time::timeout(Duration::from_secs(10), told)
        .await
        .expect("the device tells the caller about its picture")
}

/// Whether the output's latest picture is all black (blanked).
fn output_is_blank(dir: &Path) -> bool {
    let file = std::fs::File::open(dir.join("picture/latest.png")).expect("latest.png");
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    pixels[..info.buffer_size()].iter().all(|&b| b == 0)
}

/// Starts a household whose viewer Gran may be shown, calls with the
/// camera, and waits until the device shows some frames.
async fn gran_on_the_screen(relay: &TestRelay) -> (Household, PeerConnection, LocalMedia) {
    let home = Household::start(&relay.url(), "Gran", Some(&[Permission::ShowOnDevice])).await;
    let (connection, media) = call_with_camera(&home).await;
    let told = told_about_picture(&connection).await;
    assert_eq!(told["shown"], true, "{told}");
    let dir = home.device_dir.path().to_path_buf();
    wait_until("Gran shown", Duration::from_secs(20), || {
        frames_shown(&dir) >= 10
    })
    .await;
    assert!(!output_is_blank(&dir));
    (home, connection, media)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_allowed_on_the_screen_is_shown_and_asked_for_a_size_that_fits() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(&relay.url(), "Gran", Some(&[Permission::ShowOnDevice])).await;
    let (connection, _media) = call_with_camera(&home).await;
    let told = told_about_picture(&connection).await;
    // The simulated output is 640×480.
    assert_eq!(
        (&told["shown"], &told["width"], &told["height"]),
        (&Value::from(true), &Value::from(640), &Value::from(480)),
        "{told}"
    );
    let dir = home.device_dir.path();
    wait_until("30 frames of Gran shown", Duration::from_secs(20), || {
        frames_shown(dir) >= 30
    })
    .await;
    // Golden frame: the test pattern, its frame counter advancing.
    let latest = dir.join("picture/latest.png");
    let area = hdmi_area((640, 480), (320, 240));
    let first = shown_number(&latest, area).await;
    wait_until(
        "a later frame of Gran shown",
        Duration::from_secs(10),
        || {
            Shown::read(&latest)
                .and_then(|shown| shown.frame_number(area, (320, 240)))
                .is_some_and(|n| n >= first + 10)
        },
    )
    .await;
    // Gran hangs up: her picture leaves the screen.
    connection.close().await;
    wait_until("the screen blank again", Duration::from_secs(10), || {
        output_is_blank(dir)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_to_start_is_shown_and_the_one_replaced_is_told() {
    init_logs();
    let relay = TestRelay::start().await;
    let (home, gran, _gran_media) = gran_on_the_screen(&relay).await;
    let tom_dir = tempfile::tempdir().unwrap();
    let tom = start_viewer(tom_dir.path(), &relay.url(), "Tom");
    approve_contact(
        &home.device.node,
        &tom.contact_code(),
        &[Permission::ShowOnDevice],
    )
    .await;
    approve_contact(&tom, &home.device.node.contact_code(), &[]).await;
    wait_relay(&tom).await;
    let tom_media = camera();
    let tom_call =
        PeerConnection::with_settings(&tom, home.device.node.peer_key(), fast_settings());
    tom_call
        .add_stream(&VideoStream::open(&tom_media).await.unwrap())
        .unwrap();
    tom_call.connect().await.expect("Tom's call is answered");
    let told_tom = told_about_picture(&tom_call).await;
    assert_eq!(told_tom["shown"], true, "{told_tom}");
    let told_gran = told_about_picture(&gran).await;
    assert_eq!(
        (&told_gran["shown"], &told_gran["code"]),
        (&false.into(), &"replaced".into())
    );
    // Gran hanging up now leaves Tom on the screen.
    gran.close().await;
    let dir = home.device_dir.path();
    let shown = frames_shown(dir);
    wait_until("Tom still shown", Duration::from_secs(10), || {
        frames_shown(dir) >= shown + 20
    })
    .await;
    assert!(!output_is_blank(dir));
    tom_call.close().await;
}

/// The test pattern's frame number in `area` of the PNG at `path`, once one reads.
async fn shown_number(path: &Path, area: Area) -> u32 {
    let mut number = None;
    wait_until(
        "a frame number on the output",
        Duration::from_secs(10),
        || {
            number = Shown::read(path).and_then(|shown| shown.frame_number(area, (320, 240)));
            number.is_some()
        },
    )
    .await;
    number.expect("read")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_small_screen_the_picture_is_smaller_and_live_always_shows() {
    init_logs();
    let relay = TestRelay::start().await;
    let relays = [relay.url()];
    let grants = [Permission::ShowOnDevice, Permission::LiveVideo];
    let home = Household::start_configured(&relays, &relays, "Gran", Some(&grants), |config| {
        config.picture.output = PictureTarget::Screen;
    })
    .await;
    home.device.start_panel().expect("simulated panel starts");
    let media = camera();
    let connection = home.call();
    connection
        .add_stream(&VideoStream::open(&media).await.unwrap())
        .unwrap();
    // Gran watches the kitchen too: the device is LIVE.
    connection.fetch_stream().await.expect("Gran may watch");
    let told = told_about_picture(&connection).await;
    assert_eq!(
        (&told["shown"], &told["width"], &told["height"]),
        (&Value::from(true), &Value::from(320), &Value::from(240)),
        "the small screen asks for 320×240: {told}"
    );
    let screen = home.device_dir.path().join("screen.png");
    let area = screen_area((240, 240), (320, 240), 2);
    let first = shown_number(&screen, area).await;
    wait_until(
        "later frames of Gran on the screen",
        Duration::from_secs(10),
        || {
            Shown::read(&screen)
                .and_then(|shown| shown.frame_number(area, (320, 240)))
                .is_some_and(|n| n >= first + 10)
        },
    )
    .await;
    // LIVE wins: the band over the picture is the LIVE band.
    let golden = Shown::read(&golden("picture_live_240x240.png")).unwrap();
    let shown = Shown::read(&screen).unwrap();
    assert_eq!(shown.pixel(4, 4), golden.pixel(2, 2), "the LIVE band is up");
    // Privacy on: PRIVATE, never the picture.
    home.device.privacy(PrivacyInput::Set(true)).unwrap();
    wait_until(
        "the picture is off the screen",
        Duration::from_secs(5),
        || Shown::read(&screen).is_some_and(|shown| shown.frame_number(area, (320, 240)).is_none()),
    )
    .await;
    connection.close().await;
}

fn golden(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_without_the_permission_is_not_shown_and_is_told_why() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(&relay.url(), "Tom", Some(&[Permission::LiveVideo])).await;
    let (connection, _media) = call_with_camera(&home).await;
    let told = told_about_picture(&connection).await;
    assert_eq!(told["shown"], false, "{told}");
    assert_eq!(told["code"], "show_not_allowed", "{told}");
    assert_eq!(
        told["reason"],
        "The owner has not allowed your camera on this device's screen."
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(frames_shown(home.device_dir.path()), 0);
    connection.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_on_blanks_the_picture_before_the_switch_returns() {
    init_logs();
    let relay = TestRelay::start().await;
    let (home, connection, _media) = gran_on_the_screen(&relay).await;
    let dir = home.device_dir.path();
    let switched = Instant::now();
    assert!(home.device.privacy(PrivacyInput::Set(true)).unwrap());
    let took = switched.elapsed();
    // Blanked by the time the switch returns: nothing to wait for.
    assert!(output_is_blank(dir), "the picture is still on the screen");
    tracing::info!(?took, "privacy on blanked the picture");
    let told = told_about_picture(&connection).await;
    assert_eq!(
        (&told["shown"], &told["code"]),
        (&false.into(), &"privacy".into())
    );
    // Nothing more of Gran follows while the frames keep coming.
    let shown = frames_shown(dir);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(frames_shown(dir), shown);
    assert!(output_is_blank(dir));
    connection.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_no_button_takes_the_picture_off_and_the_caller_is_told() {
    init_logs();
    let relay = TestRelay::start().await;
    let (home, connection, _media) = gran_on_the_screen(&relay).await;
    home.device.start_panel().expect("simulated panel starts");
    let dir = home.device_dir.path();
    let socket = socket_path(dir);
    tokio::task::spawn_blocking(move || press(&socket, Button::No, Action::Press))
        .await
        .unwrap()
        .expect("NO is taken");
    assert!(output_is_blank(dir), "the picture is still on the screen");
    let told = told_about_picture(&connection).await;
    assert_eq!(
        (&told["shown"], &told["code"]),
        (&false.into(), &"ended_by_owner".into())
    );
    let shown = frames_shown(dir);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(frames_shown(dir), shown);
    connection.close().await;
}
