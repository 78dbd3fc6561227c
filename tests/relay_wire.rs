//! Wire-level tests of the relay server: a raw WebSocket client on a real
//! socket checks auth, error codes, limits and liveness frame by frame.

mod support;

use std::time::Duration;

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use futures_util::SinkExt;
use hearth::relay::{serve, RelayError, RelayServerConfig};
use serde_json::{json, Value};
use support::raw_relay::{pubkey, recv_within, send, send_frame, signer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

type Raw = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(3);

struct Relay {
    url: String,
    _stop: oneshot::Sender<()>,
    _task: JoinHandle<Result<(), RelayError>>,
}

async fn start(config: RelayServerConfig) -> Result<Relay> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("ws://{}/relay", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, config, async {
        let _ = stopped.await;
    }));
    Ok(Relay {
        url,
        _stop: stop,
        _task: task,
    })
}

/// Next protocol frame as JSON, or `None` once the relay closed the socket.
async fn recv(ws: &mut Raw) -> Result<Option<Value>> {
    recv_within(ws, WAIT).await
}

async fn expect(ws: &mut Raw) -> Result<Value> {
    recv(ws).await?.context("relay closed the connection")
}

async fn expect_error(ws: &mut Raw, code: &str, id: Option<u64>) -> Result<()> {
    let frame = expect(ws).await?;
    assert_eq!(frame["t"], "error", "{frame}");
    assert_eq!(frame["code"], code, "{frame}");
    assert_eq!(frame["id"].as_u64(), id, "{frame}");
    assert!(
        frame["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{frame}"
    );
    Ok(())
}

/// Connects and returns the socket with the challenge nonce.
async fn connect(url: &str) -> Result<(Raw, Vec<u8>)> {
    let (mut ws, _) = connect_async(url).await?;
    let challenge = expect(&mut ws).await?;
    assert_eq!(challenge["t"], "challenge", "{challenge}");
    let nonce = URL_SAFE_NO_PAD.decode(challenge["nonce"].as_str().context("nonce")?)?;
    assert_eq!(nonce.len(), 32);
    Ok((ws, nonce))
}

fn auth_frame(key: &SigningKey, nonce: &[u8]) -> Value {
    let msg = [b"hearth-relay-auth-v1".as_slice(), nonce].concat();
    let sig = URL_SAFE_NO_PAD.encode(key.sign(&msg).to_bytes());
    json!({"t": "auth", "key": pubkey(key), "sig": sig})
}

async fn authed(url: &str, key: &SigningKey) -> Result<Raw> {
    let (mut ws, nonce) = connect(url).await?;
    send(&mut ws, auth_frame(key, &nonce)).await?;
    assert_eq!(expect(&mut ws).await?, json!({"t": "ready"}));
    Ok(ws)
}

#[tokio::test]
async fn wrong_signature_is_refused_and_closed() -> Result<()> {
    let relay = start(RelayServerConfig::default()).await?;
    let (mut ws, nonce) = connect(&relay.url).await?;
    let mut other_nonce = nonce.clone();
    other_nonce[0] ^= 1;
    send(&mut ws, auth_frame(&signer(1), &other_nonce)).await?;
    expect_error(&mut ws, "auth_failed", None).await?;
    assert_eq!(
        recv(&mut ws).await?,
        None,
        "connection must close after auth_failed"
    );
    Ok(())
}

#[tokio::test]
async fn frames_before_auth_are_refused_then_auth_still_works() -> Result<()> {
    let relay = start(RelayServerConfig::default()).await?;
    let (mut ws, nonce) = connect(&relay.url).await?;
    send(&mut ws, send_frame(3, &signer(2), b"x")).await?;
    expect_error(&mut ws, "not_authenticated", Some(3)).await?;
    send(&mut ws, json!({"t": "ping"})).await?;
    expect_error(&mut ws, "not_authenticated", None).await?;
    send(&mut ws, auth_frame(&signer(1), &nonce)).await?;
    assert_eq!(expect(&mut ws).await?, json!({"t": "ready"}));
    send(&mut ws, json!({"t": "ping"})).await?;
    assert_eq!(expect(&mut ws).await?, json!({"t": "pong"}));
    Ok(())
}

#[tokio::test]
async fn bad_frames_get_codes_and_connection_keeps_serving() -> Result<()> {
    let relay = start(RelayServerConfig {
        max_frame_bytes: 1024,
        ..RelayServerConfig::default()
    })
    .await?;
    let (alice, bob) = (signer(1), signer(2));
    let mut a = authed(&relay.url, &alice).await?;
    let mut b = authed(&relay.url, &bob).await?;
    let bob_text = pubkey(&bob);

    a.send(Message::text("{not json")).await?;
    expect_error(&mut a, "malformed", None).await?;
    send(&mut a, json!({"t": "shout", "id": 1})).await?;
    expect_error(&mut a, "malformed", Some(1)).await?;
    send(
        &mut a,
        json!({"t": "send", "id": 2, "to": bob_text, "data": "not*base64"}),
    )
    .await?;
    expect_error(&mut a, "malformed", Some(2)).await?;
    let short_key = URL_SAFE_NO_PAD.encode([7u8; 31]);
    send(
        &mut a,
        json!({"t": "send", "id": 3, "to": short_key, "data": ""}),
    )
    .await?;
    expect_error(&mut a, "malformed", Some(3)).await?;
    a.send(Message::binary(vec![1u8, 2, 3])).await?;
    expect_error(&mut a, "malformed", None).await?;
    send(&mut a, send_frame(4, &bob, &[0u8; 1500])).await?;
    expect_error(&mut a, "too_large", None).await?;

    send(&mut a, send_frame(5, &bob, b"sealed envelope")).await?;
    assert_eq!(expect(&mut a).await?, json!({"t": "sent", "id": 5}));
    let delivered = expect(&mut b).await?;
    assert_eq!(delivered["t"], "deliver");
    assert_eq!(delivered["from"], pubkey(&alice));
    assert_eq!(
        URL_SAFE_NO_PAD.decode(delivered["data"].as_str().unwrap())?,
        b"sealed envelope"
    );
    Ok(())
}

#[tokio::test]
async fn burst_beyond_bucket_is_rate_limited_with_ids() -> Result<()> {
    let relay = start(RelayServerConfig {
        messages_per_second: 1,
        burst: 3,
        ..RelayServerConfig::default()
    })
    .await?;
    let mut a = authed(&relay.url, &signer(1)).await?; // auth takes one token
    for id in 0..6 {
        send(&mut a, send_frame(id, &signer(9), b"x")).await?;
    }
    let (mut offline, mut limited) = (0, 0);
    for id in 0..6 {
        let frame = expect(&mut a).await?;
        assert_eq!(frame["id"], id, "answers keep request order: {frame}");
        match frame["t"].as_str() {
            Some("offline") => offline += 1,
            Some("error") if frame["code"] == "rate_limited" => limited += 1,
            _ => bail!("unexpected answer {frame}"),
        }
    }
    // Two tokens are left after auth; at most one more can refill during the test.
    assert!((2..=3).contains(&offline), "offline answers: {offline}");
    assert_eq!(offline + limited, 6);
    Ok(())
}

#[tokio::test]
async fn connections_per_ip_are_capped_and_freed_on_close() -> Result<()> {
    let relay = start(RelayServerConfig {
        max_connections_per_ip: 2,
        ..RelayServerConfig::default()
    })
    .await?;
    let (first, _) = connect(&relay.url).await?;
    let (_second, _) = connect(&relay.url).await?;
    let (mut third, _) = connect_async(relay.url.as_str()).await?;
    expect_error(&mut third, "too_many_connections", None).await?;
    assert_eq!(recv(&mut third).await?, None);
    drop(first);
    let deadline = Instant::now() + WAIT;
    loop {
        let (mut ws, _) = connect_async(relay.url.as_str()).await?;
        if expect(&mut ws).await?["t"] == "challenge" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "slot was never freed after close"
        );
        tokio::task::yield_now().await;
    }
    Ok(())
}

#[tokio::test]
async fn same_key_replaces_older_connection() -> Result<()> {
    let relay = start(RelayServerConfig::default()).await?;
    let (alice, bob) = (signer(1), signer(2));
    let mut old = authed(&relay.url, &alice).await?;
    let mut new = authed(&relay.url, &alice).await?;
    expect_error(&mut old, "replaced", None).await?;
    assert_eq!(recv(&mut old).await?, None);
    let mut b = authed(&relay.url, &bob).await?;
    send(&mut b, send_frame(1, &alice, b"hi")).await?;
    assert_eq!(expect(&mut b).await?, json!({"t": "sent", "id": 1}));
    assert_eq!(expect(&mut new).await?["t"], "deliver");
    Ok(())
}

#[tokio::test]
async fn unauthenticated_connection_times_out() -> Result<()> {
    let relay = start(RelayServerConfig {
        auth_timeout_ms: 100,
        ..RelayServerConfig::default()
    })
    .await?;
    let (mut ws, _) = connect(&relay.url).await?;
    expect_error(&mut ws, "auth_timeout", None).await?;
    assert_eq!(recv(&mut ws).await?, None);
    Ok(())
}

#[tokio::test]
async fn silent_client_is_dropped_by_websocket_pings() -> Result<()> {
    let config = RelayServerConfig {
        ping_interval_ms: 50,
        idle_timeout_ms: 200,
        ..RelayServerConfig::default()
    };
    let relay = start(config).await?;
    let (alice, bob) = (signer(1), signer(2));
    // Alice authenticates and then never reads again, so she never answers pings.
    let _silent = authed(&relay.url, &alice).await?;
    let mut b = authed(&relay.url, &bob).await?;
    let deadline = Instant::now() + WAIT;
    for id in 0.. {
        send(&mut b, send_frame(id, &alice, b"x")).await?;
        if expect(&mut b).await?["t"] == "offline" {
            return Ok(());
        }
        assert!(Instant::now() < deadline, "silent client was never dropped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    unreachable!()
}
