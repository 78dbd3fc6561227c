//! TURN through the relay's credentials, against a real coturn on loopback:
//! the relay mints credentials only for clients that proved their key, coturn
//! accepts them and refuses forged or expired ones, a device and a viewer that
//! both use relay candidates only connect through coturn, and
//! `hearth relay --check` says whether the secret matches.

mod support;

use futures_util::{SinkExt, StreamExt};
use hearth::api::{PeerConnection, RtcSettings};
use hearth::contacts::Permission;
use hearth::device::{Device, DeviceOptions};
use hearth::identity::Identity;
use hearth::live_contacts::LiveContacts;
use hearth::node::{Node, NodeOptions};
use hearth::relay::ice::mint;
use hearth::relay::turn_check::{allocate, TurnCheckError};
use hearth::relay::{ClientConfig, RelayClient, RelayIce, RelayServerConfig};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use support::coturn::{unix_now, Coturn};
use support::harness::*;
use tokio_tungstenite::tungstenite::Message;

const SECRET: &str = "kitchen-table-secret";

async fn relay_for(coturn: &Coturn) -> TestRelay {
    let config = RelayServerConfig {
        ice: coturn.ice_config(),
        ..RelayServerConfig::default()
    };
    TestRelay::start_with("127.0.0.1:0".parse().unwrap(), config).await
}

async fn wait_for_ice(ice: &RelayIce) {
    wait_until(
        "ICE servers from the relay",
        Duration::from_secs(10),
        || !ice.current().is_empty(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_credentials_allocate_and_forged_or_expired_ones_are_refused_by_coturn() {
    init_logs();
    let coturn = Coturn::start(SECRET).await;
    let relay = relay_for(&coturn).await;
    let ice = RelayIce::new();
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let (client, _events) =
        RelayClient::spawn_sharing(relay.url(), key, ClientConfig::default(), ice.clone());
    wait_for_ice(&ice).await;
    let servers = ice.current();
    assert_eq!(servers.len(), 1, "{servers:?}");
    let turn = &servers[0];
    assert_eq!(turn.urls, coturn.ice_config().turn_urls);
    let expiry: u64 = turn.username.split(':').next().unwrap().parse().unwrap();
    let now = unix_now();
    assert!(
        (now + 3500..=now + 3600).contains(&expiry),
        "expires {expiry}, now {now}"
    );

    let wait = Duration::from_secs(3);
    let allocated = allocate(&coturn.server(), &turn.username, &turn.credential, wait).await;
    assert!(allocated.is_ok(), "{allocated:?}");

    let forged = mint("a-guessed-secret", "mallory", now + 3600);
    let refused = allocate(&coturn.server(), &forged.username, &forged.credential, wait).await;
    assert!(
        matches!(refused, Err(TurnCheckError::Refused { .. })),
        "{refused:?}"
    );
    // A stolen credential stops working once it expires.
    let expired = mint(SECRET, "gran", now - 60);
    let refused = allocate(
        &coturn.server(),
        &expired.username,
        &expired.credential,
        wait,
    )
    .await;
    assert!(
        matches!(refused, Err(TurnCheckError::Refused { .. })),
        "{refused:?}"
    );
    // The password of one username does not fit another.
    let swapped_user = format!("{}:someone-else", now + 3600);
    let refused = allocate(&coturn.server(), &swapped_user, &turn.credential, wait).await;
    assert!(
        matches!(refused, Err(TurnCheckError::Refused { .. })),
        "{refused:?}"
    );
    client.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_has_not_proven_its_key_gets_no_credentials() {
    init_logs();
    let coturn = Coturn::start(SECRET).await;
    let relay = relay_for(&coturn).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(relay.url()).await.unwrap();
    let next = |text: &str| serde_json::from_str::<Value>(text).unwrap();
    let mut frames = Vec::new();
    ws.send(Message::text(r#"{"t":"ice"}"#)).await.unwrap();
    // A wrong signature next: the relay refuses it and closes.
    let bad_auth = serde_json::json!({
        "t": "auth",
        "key": hearth::keys::PeerKey([7; 32]).to_string(),
        "sig": base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, [0u8; 64]),
    });
    ws.send(Message::text(bad_auth.to_string())).await.unwrap();
    ws.send(Message::text(r#"{"t":"ice"}"#)).await.ok();
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        match msg {
            Message::Text(text) => frames.push(next(text.as_str())),
            Message::Close(_) => break,
            _ => {}
        }
    }
    let tags: Vec<&str> = frames.iter().map(|f| f["t"].as_str().unwrap()).collect();
    assert_eq!(tags, ["challenge", "error", "error"], "{frames:?}");
    assert_eq!(frames[1]["code"], "not_authenticated");
    assert_eq!(frames[2]["code"], "auth_failed");
    assert!(!frames.iter().any(|f| f["t"] == "ice_servers"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_device_and_viewer_connect_through_coturn_with_relay_credentials() {
    init_logs();
    let coturn = Coturn::start(SECRET).await;
    let relay = relay_for(&coturn).await;
    // The device's own config knows no TURN server: only the relay's credentials can work.
    let mut config = device_config(&relay.url());
    config.webrtc.relay_only = true;
    config.webrtc.udp_addresses = vec!["127.0.0.1".into()];
    let (device_dir, viewer_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let device = Device::start(DeviceOptions {
        config,
        data_dir: device_dir.path().to_path_buf(),
        rtc: None,
        media: None,
    })
    .await
    .expect("device starts");
    let settings = RtcSettings {
        relay_only: true,
        ..fast_settings()
    };
    let viewer = Node::start_with(
        Arc::new(Identity::load_or_create(viewer_dir.path()).unwrap()),
        LiveContacts::load(viewer_dir.path()).unwrap(),
        NodeOptions {
            name: "Gran".into(),
            relays: vec![relay.url()],
        },
        settings.relay_ice.clone(),
    );
    befriend(&device.node, &viewer, &[Permission::LiveVideo]).await;
    wait_relay(&device.node).await;
    wait_relay(&viewer).await;
    wait_for_ice(&settings.relay_ice).await;
    wait_for_ice(&device.node.relay_ice()).await;

    let connection = PeerConnection::with_settings(&viewer, device.node.peer_key(), settings);
    let mut remote = connection.fetch_stream().await.expect("stream granted");
    let mut video = remote.take_video().expect("video");
    let frame = tokio::time::timeout(Duration::from_secs(10), video.recv())
        .await
        .expect("a frame through coturn in time");
    assert!(frame.is_some());
    let path = connection.selected_candidate_types().await;
    assert_eq!(
        path,
        Some(("relay".to_string(), "relay".to_string())),
        "both sides should be reachable only through coturn"
    );
    connection.close().await;
    device.stop().await;
}

fn write_relay_config(dir: &std::path::Path, port: u16, secret: &str) -> std::path::PathBuf {
    let path = dir.join("relay.toml");
    let text = format!(
        "[ice]\nturn_urls = [\"turn:127.0.0.1:{port}?transport=udp\"]\nturn_secret = \"{secret}\"\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn hearth_relay_check(config: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["relay", "--check", "--relay-config"])
        .arg(config)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_check_says_ok_with_the_right_secret_and_names_the_cause_otherwise() {
    let coturn = Coturn::start(SECRET).await;
    let dir = tempfile::tempdir().unwrap();

    let good = hearth_relay_check(&write_relay_config(dir.path(), coturn.port, SECRET));
    let stdout = String::from_utf8_lossy(&good.stdout);
    assert!(
        good.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(stdout.contains("ok: turn:127.0.0.1"), "{stdout}");

    let bad = hearth_relay_check(&write_relay_config(
        dir.path(),
        coturn.port,
        "not-the-secret",
    ));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(
        stderr.contains("refused the minted credentials"),
        "{stderr}"
    );
    assert!(stderr.contains("static-auth-secret"), "{stderr}");
    assert!(
        !stderr.contains("not-the-secret"),
        "the secret must not be printed: {stderr}"
    );

    let port = coturn.port;
    drop(coturn);
    let gone = hearth_relay_check(&write_relay_config(dir.path(), port, SECRET));
    let stderr = String::from_utf8_lossy(&gone.stderr);
    assert!(!gone.status.success());
    assert!(stderr.contains("did not answer"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_relayed_before_its_credentials_expire_keeps_its_allocation() {
    // coturn checks the expiry when an allocation is made, not on the
    // permissions a running call keeps asking for: a relayed call outlives
    // the credentials it started with (refreshing only matters for new calls).
    let coturn = Coturn::start(SECRET).await;
    let soon = mint(SECRET, "gran", unix_now() + 2);
    let mut turn = support::coturn::RawTurn::new(&coturn, &soon.username, &soon.credential).await;
    let relayed = turn.allocate().await;
    assert!(turn.permit(relayed, "127.0.0.1:9".parse().unwrap()).await);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        turn.permit(relayed, "127.0.0.1:10".parse().unwrap()).await,
        "a new permission on the running allocation after the credentials expired"
    );
    // A new allocation with the same, now expired, credentials is refused.
    let again = allocate(
        &coturn.server(),
        &soon.username,
        &soon.credential,
        Duration::from_secs(3),
    )
    .await;
    assert!(
        matches!(again, Err(TurnCheckError::Refused { .. })),
        "{again:?}"
    );
}
