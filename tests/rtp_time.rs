//! RTP time is the capture clock's: a WHEP player watching a simulated device
//! for 60 s gets every frame's RTP timestamp within 1 ms of when the camera
//! took it (counted from the first frame it got). Before, each 30 fps frame
//! advanced 2,999 ticks of 90 kHz instead of 3,000: 20 ms behind after a minute.

mod support;

use hearth::api::LocalMedia;
use hearth::contacts::Permission;
use hearth::media::{read_frame_number, H264Config, H264Decoder, OpenH264Encoder, VideoPipeline};
use std::time::{Duration, Instant};
use support::harness::*;
use support::http::post_whep;
use support::noting_camera::NotingCamera;
use tokio::time::timeout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp_timestamps_follow_the_capture_clock_for_a_minute() {
    init_logs();
    let (camera, taken) = NotingCamera::new(320, 240, 30);
    let encoder = OpenH264Encoder::new(H264Config::new(320, 240, 30)).unwrap();
    let video = VideoPipeline::start(Box::new(camera), Box::new(encoder)).unwrap();
    let relay = TestRelay::start().await;
    let dir = tempfile::tempdir().unwrap();
    let media = LocalMedia::new(Some(video), None);
    let device = start_device_with(dir.path(), device_config(&relay.url()), Some(media)).await;
    let token = add_token(&device, "TV", &[Permission::LiveVideo]).await;

    let peer = whep_player().await;
    let offer = peer.create_offer().await.unwrap();
    let created = post_whep(device.http_addr.unwrap(), &token, &offer).await;
    assert_eq!(created.status, 201, "{}", created.body);
    peer.accept_answer(&created.body).await.unwrap();
    let mut frames = peer.take_remote_video().unwrap();

    // (RTP timestamp, capture time) of every frame decoded in 60 s.
    let mut decoder = H264Decoder::new().unwrap();
    let mut seen: Vec<(u32, Instant)> = vec![];
    let end = Instant::now() + Duration::from_secs(60);
    while Instant::now() < end {
        let frame = timeout(Duration::from_secs(10), frames.recv())
            .await
            .expect("video keeps coming")
            .expect("video open");
        let Ok(Some(picture)) = decoder.decode(&frame.data) else {
            continue;
        };
        let n = read_frame_number(&picture).expect("the pattern carries its number");
        let at = *taken.lock().unwrap().get(&n).expect("the camera noted it");
        seen.push((frame.rtp_timestamp, at));
    }
    assert!(seen.len() > 1500, "only {} frames in 60 s", seen.len());

    let (ts0, at0) = seen[0];
    let mut worst = Duration::ZERO;
    for &(ts, at) in &seen {
        let rtp = Duration::from_secs_f64(f64::from(ts.wrapping_sub(ts0)) / 90_000.0);
        let capture = at - at0;
        let off = rtp.abs_diff(capture);
        worst = worst.max(off);
    }
    let span = seen.last().unwrap().1 - at0;
    eprintln!(
        "{} frames over {span:?}: RTP time off the capture clock by {worst:?} at most",
        seen.len()
    );
    assert!(
        worst <= Duration::from_millis(1),
        "RTP time drifts from the capture clock: {worst:?} over {span:?}"
    );
    device.stop().await;
}
