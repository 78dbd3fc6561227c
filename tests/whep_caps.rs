//! The WHEP player cap is exact: 40 POSTs at once create at most 16 sessions,
//! and players that never connect give their slots back within seconds.
//! Our own `HearthPeer` makes the offer; it never takes the answers, as a
//! hostile or broken player would not.

mod support;

use futures_util::future::join_all;
use hearth::contacts::Permission;
use hearth::device::Device;
use hearth::whep::MAX_SESSIONS;
use std::time::Duration;
use support::harness::*;
use support::http::{request, HttpResponse};
use tokio::time::{sleep, Instant};

/// An offer from a real player that will never take the answer.
async fn offer() -> String {
    let peer = whep_player().await;
    let offer = peer.create_offer().await.unwrap();
    drop(peer);
    offer
}

async fn post(device: &Device, token: &str, offer: &str) -> HttpResponse {
    let auth = format!("Bearer {token}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/sdp"),
    ];
    request(
        device.http_addr.unwrap(),
        "POST",
        "/whep",
        &headers,
        offer.as_bytes(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_concurrent_posts_create_at_most_sixteen_sessions() {
    init_logs();
    let relay = TestRelay::start().await;
    let dir = tempfile::tempdir().unwrap();
    let device = start_device(dir.path(), &relay.url()).await;
    let tv = add_token(&device, "TV", &[Permission::LiveVideo]).await;
    let offer = offer().await;

    let posts = (0..40).map(|_| post(&device, &tv, &offer));
    let statuses: Vec<u16> = join_all(posts).await.iter().map(|r| r.status).collect();
    let created = statuses.iter().filter(|s| **s == 201).count();
    let busy = statuses.iter().filter(|s| **s == 503).count();
    eprintln!("40 concurrent POSTs: {created} × 201, {busy} × 503");
    assert!(
        created <= MAX_SESSIONS,
        "{created} sessions created: {statuses:?}"
    );
    assert_eq!(created + busy, 40, "{statuses:?}");
    assert!(created > 0, "{statuses:?}");
    device.stop().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn players_that_never_connect_give_their_slots_back() {
    init_logs();
    let relay = TestRelay::start().await;
    let dir = tempfile::tempdir().unwrap();
    let device = start_device(dir.path(), &relay.url()).await;
    let tv = add_token(&device, "TV", &[Permission::LiveVideo]).await;
    let offer = offer().await;

    let mut locations = Vec::new();
    for _ in 0..MAX_SESSIONS {
        let r = post(&device, &tv, &offer).await;
        assert_eq!(r.status, 201, "{}", r.body);
        locations.push(r.header("location").unwrap().to_string());
    }
    let filled = Instant::now();
    let full = post(&device, &tv, &offer).await;
    assert_eq!(full.status, 503, "the 17th player waits: {}", full.body);

    // DELETE gives a slot back at once.
    let auth = format!("Bearer {tv}");
    let deleted = request(
        device.http_addr.unwrap(),
        "DELETE",
        &locations[0],
        &[("Authorization", auth.as_str())],
        b"",
    )
    .await;
    assert_eq!(deleted.status, 200);
    let again = post(&device, &tv, &offer).await;
    assert_eq!(
        again.status, 201,
        "the slot of a deleted session: {}",
        again.body
    );

    // None of the players ever connects: their slots come back within seconds.
    let mut freed = None;
    while filled.elapsed() < Duration::from_secs(10) {
        let r = post(&device, &tv, &offer).await;
        if r.status == 201 {
            freed = Some(filled.elapsed());
            break;
        }
        assert_eq!(r.status, 503, "{}", r.body);
        sleep(Duration::from_millis(250)).await;
    }
    eprintln!("a slot came back {freed:?} after 16 players that never connect filled them");
    assert!(freed.is_some(), "no slot came back within 10 s");
    device.stop().await;
    relay.stop().await;
}
