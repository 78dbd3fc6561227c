//! Media over a real loopback connection in the Hearth shape: the viewer offers
//! receive-only, the device answers send-only. The device sends openh264-encoded H.264 and
//! Opus-framed packets; the viewer reassembles access units and decodes them.

mod support;

use hearth::peer::{PeerError, PeerEvent, PeerOptions, VideoFrame};
use openh264::decoder::Decoder;
use openh264::encoder::{Encoder, EncoderConfig};
use openh264::formats::{YUVBuffer, YUVSource};
use openh264::OpenH264API;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::peer::{negotiate, wait_for, STEP};

const WIDTH: usize = 320;
const HEIGHT: usize = 240;
const FRAMES: usize = 90;
const FRAME_TIME: Duration = Duration::from_millis(33);
const AUDIO_PACKETS: usize = 100;

/// A moving test pattern (I420).
fn frame(n: usize) -> YUVBuffer {
    let mut yuv = vec![128u8; WIDTH * HEIGHT * 3 / 2];
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            yuv[y * WIDTH + x] = ((x + y + n * 4) % 256) as u8;
        }
    }
    YUVBuffer::from_vec(yuv, WIDTH, HEIGHT)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_receives_and_decodes_device_video_and_audio() {
    let mut pair = negotiate(PeerOptions::viewer(), PeerOptions::device()).await;
    for line in [
        "m=video 9 UDP/TLS/RTP/SAVPF 102\r\n",
        "a=fmtp:102 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1",
        "a=rtcp-fb:102 nack pli",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n",
        "a=fmtp:111 minptime=10;useinbandfec=1",
    ] {
        assert!(pair.offer.contains(line), "offer lacks {line:?}");
    }
    assert_eq!(
        pair.offer.matches("a=rtpmap:").count(),
        2,
        "only H.264 and Opus"
    );
    assert!(pair.answer.contains("a=sendonly"));
    let viewer = pair.viewer.peer.clone();
    let device = pair.device.peer.clone();
    let mut video_rx = viewer.take_remote_video().expect("viewer receives video");
    let mut audio_rx = viewer.take_remote_audio().expect("viewer receives audio");
    assert!(viewer.take_remote_video().is_none(), "taken once");
    assert!(matches!(
        viewer
            .media_sender()
            .write_h264(&[0, 0, 0, 1, 0x65], std::time::Instant::now(), FRAME_TIME)
            .await,
        Err(PeerError::NotSending("video"))
    ));

    // Device: wait for Connected, then stream; force an IDR first and on every request.
    wait_for(&mut pair.device.events, STEP, "device Connected", |e| {
        *e == PeerEvent::Connected
    })
    .await;
    let keyframe_requests = Arc::new(AtomicUsize::new(0));
    let sender = device.media_sender();
    let requests = keyframe_requests.clone();
    let mut device_events = pair.device.events;
    let video_task = tokio::spawn(async move {
        let config = EncoderConfig::new().skip_frames(false);
        let mut encoder =
            Encoder::with_api_config(OpenH264API::from_source(), config).expect("encoder");
        let mut ticker = tokio::time::interval(FRAME_TIME);
        encoder.force_intra_frame(); // session just connected
        for n in 0..FRAMES {
            ticker.tick().await;
            while let Ok((_, event)) = device_events.try_recv() {
                if event == PeerEvent::KeyframeRequested {
                    requests.fetch_add(1, Ordering::SeqCst);
                    encoder.force_intra_frame();
                }
            }
            let annexb = encoder.encode(&frame(n)).expect("encode").to_vec();
            sender
                .write_h264(&annexb, std::time::Instant::now(), FRAME_TIME)
                .await
                .expect("write_h264");
        }
        device_events
    });
    let audio_sender = device.media_sender();
    let audio_task = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_millis(20));
        for n in 0..AUDIO_PACKETS {
            ticker.tick().await;
            // A CELT 20 ms stereo TOC byte followed by arbitrary "frame" bytes.
            let packet = [0xFC, n as u8, 0xAA, 0x55, 0x01];
            audio_sender
                .write_opus(
                    &packet,
                    std::time::Instant::now(),
                    Duration::from_millis(20),
                )
                .await
                .expect("write_opus");
        }
    });

    // Viewer: collect audio concurrently (an unread channel makes the stack drop packets).
    let audio_collector = tokio::spawn(async move {
        let mut audio = Vec::new();
        while let Ok(Some(packet)) =
            tokio::time::timeout(Duration::from_secs(2), audio_rx.recv()).await
        {
            audio.push(packet);
        }
        audio
    });

    // Viewer: decode everything; ask for a keyframe once along the way.
    let mut decoder = Decoder::new().expect("decoder");
    let mut received: Vec<VideoFrame> = Vec::new();
    let mut decoded = 0usize;
    let mut asked = false;
    loop {
        let frame = match tokio::time::timeout(Duration::from_secs(2), video_rx.recv()).await {
            Ok(Some(frame)) => frame,
            _ => break, // the device stopped sending
        };
        match decoder.decode(&frame.data) {
            Ok(Some(yuv)) => {
                assert_eq!(yuv.dimensions(), (WIDTH, HEIGHT));
                decoded += 1;
            }
            Ok(None) => {}
            Err(e) => eprintln!("decode error: {e}"),
        }
        received.push(frame);
        if received.len() == 30 && !asked {
            asked = viewer.request_keyframe().await;
        }
    }
    video_task.await.unwrap();
    audio_task.await.unwrap();

    let keyframes = received.iter().filter(|f| f.keyframe).count();
    println!(
        "video: {} access units received, {decoded} decoded of {FRAMES} sent, {keyframes} keyframes, {} keyframe requests seen by the device",
        received.len(),
        keyframe_requests.load(Ordering::SeqCst)
    );
    assert!(received[0].keyframe, "delivery starts with a keyframe");
    assert!(
        decoded * 10 >= FRAMES * 9,
        "decoded {decoded} of {FRAMES} frames (need >= 90%)"
    );
    assert!(asked, "request_keyframe found the remote video");
    assert!(
        keyframe_requests.load(Ordering::SeqCst) >= 1,
        "the device saw the viewer's PLI as KeyframeRequested"
    );
    assert!(keyframes >= 2, "the requested keyframe arrived");
    let mut timestamps: Vec<u32> = received.iter().map(|f| f.rtp_timestamp).collect();
    timestamps.dedup();
    assert_eq!(
        timestamps.len(),
        received.len(),
        "one access unit per timestamp"
    );

    let audio = audio_collector.await.unwrap();
    println!(
        "audio: {} of {AUDIO_PACKETS} Opus packets received",
        audio.len()
    );
    assert!(audio.len() * 10 >= AUDIO_PACKETS * 9);
    let first = &audio[0];
    assert_eq!(first.data[0], 0xFC);
    assert_eq!(&first.data[2..], &[0xAA, 0x55, 0x01]);
    assert!(audio
        .windows(2)
        .all(|w| w[1].rtp_timestamp.wrapping_sub(w[0].rtp_timestamp) < 48_000));

    assert!(!viewer.fast_start_active() && !device.fast_start_active());
    viewer.close().await.unwrap();
    device.close().await.unwrap();
}
