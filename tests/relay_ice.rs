//! The relay's ICE servers over real WebSockets, without a TURN server: a
//! client gets fresh credentials again before the old ones expire, and asking
//! too often is refused with `ice_rate_limited` while the connection keeps
//! serving.

mod support;

use futures_util::{SinkExt, StreamExt};
use hearth::relay::ice::IceConfig;
use hearth::relay::{ClientConfig, RelayClient, RelayIce, RelayServerConfig};
use serde_json::Value;
use std::time::Duration;
use support::harness::*;
use tokio_tungstenite::tungstenite::Message;

fn ice_config(ttl: u64, burst: u32) -> RelayServerConfig {
    RelayServerConfig {
        ice: IceConfig {
            stun_urls: vec!["stun:127.0.0.1:3478".into()],
            turn_urls: vec!["turn:127.0.0.1:3478".into()],
            turn_secret: "s".into(),
            credential_ttl_secs: ttl,
            grant_burst: burst,
            grant_interval_secs: 3600,
        },
        ..RelayServerConfig::default()
    }
}

fn turn_username(ice: &RelayIce) -> Option<String> {
    ice.current()
        .into_iter()
        .find(|s| !s.username.is_empty())
        .map(|s| s.username)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_gets_fresh_credentials_before_the_old_ones_expire() {
    init_logs();
    // The shortest lifetime the relay accepts: 60 s, so the client asks again after 45 s.
    let relay = TestRelay::start_with("127.0.0.1:0".parse().unwrap(), ice_config(60, 10)).await;
    let ice = RelayIce::new();
    let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let (client, _events) =
        RelayClient::spawn_sharing(relay.url(), key, ClientConfig::default(), ice.clone());
    let mut changes = ice.subscribe();
    tokio::time::timeout(Duration::from_secs(10), changes.changed())
        .await
        .expect("ICE servers after connecting")
        .unwrap();
    let first = turn_username(&ice).expect("TURN credentials");
    assert_eq!(ice.current().len(), 2, "the STUN and the TURN server");
    let expires = changes.borrow().expires_at().unwrap();
    tokio::time::timeout(Duration::from_secs(55), changes.changed())
        .await
        .expect("fresh credentials before the old ones expire")
        .unwrap();
    assert!(std::time::Instant::now() < expires, "refreshed in time");
    let second = turn_username(&ice).unwrap();
    assert_ne!(first, second, "a new expiry in the username");
    client.shutdown();
}

async fn next_frame(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                return serde_json::from_str(text.as_str()).unwrap()
            }
            Ok(Some(Ok(_))) => continue,
            other => panic!("no frame: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_too_often_is_refused_with_its_own_code_and_the_connection_keeps_serving() {
    init_logs();
    let relay = TestRelay::start_with("127.0.0.1:0".parse().unwrap(), ice_config(3600, 2)).await;
    let key = ed25519_dalek::SigningKey::from_bytes(&[4; 32]);
    let (mut ws, _) = tokio_tungstenite::connect_async(relay.url()).await.unwrap();
    let challenge = next_frame(&mut ws).await;
    let nonce: Vec<u8> = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        challenge["nonce"].as_str().unwrap(),
    )
    .unwrap();
    let sig = ed25519_dalek::Signer::sign(
        &key,
        &hearth::relay::protocol::auth_message(&nonce.try_into().unwrap()),
    );
    let auth = serde_json::json!({
        "t": "auth",
        "key": hearth::keys::PeerKey(key.verifying_key().to_bytes()).to_string(),
        "sig": base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig.to_bytes()),
    });
    ws.send(Message::text(auth.to_string())).await.unwrap();
    assert_eq!(next_frame(&mut ws).await["t"], "ready");
    for _ in 0..2 {
        ws.send(Message::text(r#"{"t":"ice"}"#)).await.unwrap();
        let answer = next_frame(&mut ws).await;
        assert_eq!(answer["t"], "ice_servers", "{answer}");
        assert_eq!(answer["expires_in"], 3600);
        let turn = &answer["servers"][1];
        assert!(turn["username"].as_str().unwrap().contains(':'));
        assert!(!turn["credential"].as_str().unwrap().is_empty());
    }
    ws.send(Message::text(r#"{"t":"ice"}"#)).await.unwrap();
    let refused = next_frame(&mut ws).await;
    assert_eq!(refused["t"], "error");
    assert_eq!(refused["code"], "ice_rate_limited", "{refused}");
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("ask again in"));
    ws.send(Message::text(r#"{"t":"ping"}"#)).await.unwrap();
    assert_eq!(next_frame(&mut ws).await["t"], "pong");
}
