//! WHEP on a simulated device, with our own `HearthPeer` as the player on
//! loopback: 201 + Location + answer, media from the shared pipelines, DELETE,
//! 401 for unknown and revoked tokens, revocation ending sessions at once, and
//! a 4xx with a reason for every kind of bad input.

mod support;

use hearth::contacts::Permission;
use hearth::device::Device;
use hearth::media::H264Decoder;
use hearth::peer::{HearthPeer, PeerState};
use hearth::whep::token;
use std::time::Duration;
use support::harness::*;
use support::http::{request, HttpResponse};
use tokio::time::timeout;

async fn post_offer(device: &Device, token: &str, content_type: &str, body: &str) -> HttpResponse {
    let auth = format!("Bearer {token}");
    request(
        device.http_addr.unwrap(),
        "POST",
        "/whep",
        &[("Authorization", &auth), ("Content-Type", content_type)],
        body.as_bytes(),
    )
    .await
}

async fn delete(device: &Device, token: &str, location: &str) -> u16 {
    let auth = format!("Bearer {token}");
    let headers = [("Authorization", auth.as_str())];
    request(device.http_addr.unwrap(), "DELETE", location, &headers, b"")
        .await
        .status
}

/// Starts a session for `token`; returns the player, its Location, and
/// asserts that it decodes `frames` video frames and hears audio.
async fn watch(device: &Device, token: &str, frames: usize) -> (HearthPeer, String) {
    let peer = whep_player().await;
    let offer = peer.create_offer().await.unwrap();
    let created = post_offer(device, token, "application/sdp", &offer).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("content-type"), Some("application/sdp"));
    assert_eq!(created.header("access-control-allow-origin"), Some("*"));
    let location = created.header("location").expect("Location").to_string();
    assert!(location.starts_with("/whep/session/"), "{location}");
    peer.accept_answer(&created.body).await.unwrap();
    let mut video = peer.take_remote_video().unwrap();
    let mut audio = peer.take_remote_audio().unwrap();
    let mut decoder = H264Decoder::new().unwrap();
    let mut decoded = 0;
    while decoded < frames {
        let frame = timeout(Duration::from_secs(20), video.recv())
            .await
            .expect("video keeps coming")
            .expect("video open");
        if let Ok(Some(_)) = decoder.decode(&frame.data) {
            decoded += 1;
        }
    }
    let packet = timeout(Duration::from_secs(20), audio.recv())
        .await
        .expect("audio comes")
        .expect("audio open");
    assert!(!packet.data.is_empty());
    (peer, location)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whep_sessions_start_end_and_are_revoked() {
    init_logs();
    let relay = TestRelay::start().await;
    let dir = tempfile::tempdir().unwrap();
    let device = start_device(dir.path(), &relay.url()).await;
    let both = [Permission::LiveVideo, Permission::LiveAudio];
    let tv = add_token(&device, "TV", &both).await;
    let tablet = add_token(&device, "Tablet", &both).await;

    // Two players at once share the device's one encoder.
    let (_tv_peer, tv_session) = watch(&device, &tv, 30).await;
    let (_tablet_peer, tablet_session) = watch(&device, &tablet, 30).await;
    assert_eq!(
        device.watchers(),
        vec!["TV".to_string(), "Tablet".to_string()]
    );

    // DELETE needs the token that made the session.
    assert_eq!(delete(&device, &tablet, &tv_session).await, 404);
    assert_eq!(delete(&device, "wrong", &tv_session).await, 401);
    assert_eq!(delete(&device, &tv, &tv_session).await, 200);
    assert_eq!(delete(&device, &tv, &tv_session).await, 404);
    wait_until("TV gone", Duration::from_secs(10), || {
        device.watchers() == vec!["Tablet".to_string()]
    })
    .await;

    // Denying what the tablet uses ends its session at once; its token is then refused.
    device
        .node
        .contacts()
        .update(|book| {
            let entry = book.find_mut("Tablet").unwrap();
            entry.permissions.set(Permission::LiveVideo, false);
            entry.permissions.set(Permission::LiveAudio, false);
        })
        .await
        .unwrap();
    wait_until("tablet session ended", Duration::from_secs(10), || {
        device.watchers().is_empty()
    })
    .await;
    assert_eq!(delete(&device, &tablet, &tablet_session).await, 401);
    let offer = whep_player().await.create_offer().await.unwrap();
    let refused = post_offer(&device, &tablet, "application/sdp", &offer).await;
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (401, "unauthorized\n")
    );

    // Removing the TV's contact ends its new session too.
    let (_tv_peer, tv_session) = watch(&device, &tv, 5).await;
    device
        .node
        .contacts()
        .update(|book| book.remove("TV").map(|_| ()))
        .await
        .unwrap()
        .unwrap();
    wait_until("TV session ended", Duration::from_secs(10), || {
        device.watchers().is_empty()
    })
    .await;
    assert_eq!(delete(&device, &tv, &tv_session).await, 401);
    device.stop().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_a_reason_and_nothing_starts() {
    init_logs();
    let relay = TestRelay::start().await;
    let dir = tempfile::tempdir().unwrap();
    let device = start_device(dir.path(), &relay.url()).await;
    let tv = add_token(&device, "TV", &[Permission::LiveVideo]).await;
    let nothing = add_token(&device, "Idle", &[]).await;
    let offer = whep_player().await.create_offer().await.unwrap();
    let addr = device.http_addr.unwrap();

    let no_auth = request(
        addr,
        "POST",
        "/whep",
        &[("Content-Type", "application/sdp")],
        offer.as_bytes(),
    )
    .await;
    assert_eq!(
        (no_auth.status, no_auth.body.as_str()),
        (401, "unauthorized\n")
    );
    for token in [token::generate(), nothing.clone(), token::hash(&tv)] {
        let r = post_offer(&device, &token, "application/sdp", &offer).await;
        assert_eq!((r.status, r.body.as_str()), (401, "unauthorized\n"));
    }

    let cases: [(&str, &str, u16); 5] = [
        ("text/plain", offer.as_str(), 415),
        ("application/sdp", "", 400),
        ("application/sdp", "hello, camera", 400),
        ("application/sdp", "v=0\r\nthis is not SDP\r\n", 400),
        ("application/sdp", "v=0\r\nm=video x\r\nm=audio\r\n", 400),
    ];
    for (content_type, body, status) in cases {
        let r = post_offer(&device, &tv, content_type, body).await;
        assert_eq!(r.status, status, "{content_type} {body:?}: {}", r.body);
        assert!(!r.body.trim().is_empty(), "a reason is given");
    }
    let auth = format!("Bearer {tv}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/sdp"),
    ];
    let binary = request(addr, "POST", "/whep", &headers, b"v=0\r\n\xff\xfe").await;
    assert_eq!(binary.status, 400, "{}", binary.body);
    let huge = format!("v=0\r\n{}", "a=x\r\n".repeat(14_000));
    let r = post_offer(&device, &tv, "application/sdp", &huge).await;
    assert_eq!(r.status, 413, "{}", r.body);
    let declared = request(
        addr,
        "POST",
        "/whep",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/sdp"),
            ("Content-Length", "100000"),
        ],
        b"",
    )
    .await;
    assert_eq!(declared.status, 413);
    let chunk = format!("v=0\r\n{}", "a=x\r\n".repeat(14_000));
    let chunked_body = format!("{:x}\r\n{chunk}\r\n0\r\n\r\n", chunk.len());
    let chunked = request(
        addr,
        "POST",
        "/whep",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/sdp"),
            ("Transfer-Encoding", "chunked"),
        ],
        chunked_body.as_bytes(),
    )
    .await;
    assert_eq!(chunked.status, 413, "{}", chunked.body);

    let patch = request(
        addr,
        "PATCH",
        "/whep/session/abc",
        &[("Authorization", &auth)],
        b"",
    )
    .await;
    assert_eq!(patch.status, 405);
    assert!(patch.body.contains("trickle"), "{}", patch.body);
    let preflight = request(
        addr,
        "OPTIONS",
        "/whep",
        &[("Origin", "https://example.org")],
        b"",
    )
    .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert!(preflight
        .header("access-control-allow-headers")
        .is_some_and(|h| h.contains("Authorization")));
    assert!(preflight
        .header("access-control-expose-headers")
        .is_some_and(|h| h.contains("Location")));
    assert!(device.watchers().is_empty());

    // A video-only token still gets its session from an offer asking for both.
    let peer = whep_player().await;
    let created = post_offer(
        &device,
        &tv,
        "application/sdp",
        &peer.create_offer().await.unwrap(),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    peer.accept_answer(&created.body).await.unwrap();
    peer.wait_connected(Duration::from_secs(20)).await.unwrap();
    assert_eq!(peer.state(), PeerState::Connected);
    assert_eq!(device.watchers(), vec!["TV".to_string()]);
    device.stop().await;
    relay.stop().await;
}
