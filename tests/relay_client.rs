//! End-to-end tests of the reconnecting relay client against a real relay
//! (and a fake, silent one) on loopback sockets.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ed25519_dalek::SigningKey;
use futures_util::{SinkExt, StreamExt};
use hearth::relay::{
    serve, BackoffConfig, ClientConfig, ErrorCode, RelayClient, RelayError, RelayEvent,
    RelayHandle, RelayServerConfig, SendOutcome,
};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(4);

struct Relay {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), RelayError>>,
}

impl Relay {
    async fn start(bind: &str, config: RelayServerConfig) -> Result<Self> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, config, async {
            let _ = stopped.await;
        }));
        Ok(Self { addr, stop, task })
    }

    fn url(&self) -> String {
        format!("ws://{}/relay", self.addr)
    }

    async fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        timeout(WAIT, self.task)
            .await
            .context("relay did not stop")???;
        Ok(())
    }
}

fn fast_config() -> ClientConfig {
    ClientConfig {
        backoff: BackoffConfig {
            initial: Duration::from_millis(20),
            factor: 2,
            max: Duration::from_millis(200),
        },
        ping_interval: Duration::from_millis(100),
        dead_after: Duration::from_millis(400),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
        ..ClientConfig::default()
    }
}

fn signer(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn pk(key: &SigningKey) -> hearth::keys::PeerKey {
    hearth::keys::PeerKey(key.verifying_key().to_bytes())
}

async fn next_event(events: &mut mpsc::Receiver<RelayEvent>) -> Result<RelayEvent> {
    timeout(WAIT, events.recv())
        .await
        .context("no event in time")?
        .context("event stream ended")
}

/// Skips events until one matches; fails on timeout.
async fn wait_for(
    events: &mut mpsc::Receiver<RelayEvent>,
    want: impl Fn(&RelayEvent) -> bool,
) -> Result<RelayEvent> {
    loop {
        let event = next_event(events).await?;
        if want(&event) {
            return Ok(event);
        }
    }
}

async fn connected(
    url: String,
    key: SigningKey,
) -> Result<(RelayHandle, mpsc::Receiver<RelayEvent>)> {
    let (handle, mut events) = RelayClient::spawn_with(url, key, fast_config());
    assert_eq!(next_event(&mut events).await?, RelayEvent::Connected);
    Ok((handle, events))
}

#[tokio::test]
async fn two_clients_exchange_envelopes_and_offline_is_reported() -> Result<()> {
    let relay = Relay::start("127.0.0.1:0", RelayServerConfig::default()).await?;
    let (alice, bob) = (signer(1), signer(2));
    let (a, _a_events) = connected(relay.url(), alice.clone()).await?;
    let (_b, mut b_events) = connected(relay.url(), bob.clone()).await?;

    let envelope: Vec<u8> = (0..=255u8).collect();
    assert_eq!(
        a.send(pk(&bob), envelope.clone()).await?,
        SendOutcome::Delivered
    );
    assert_eq!(
        next_event(&mut b_events).await?,
        RelayEvent::Delivered {
            from: pk(&alice),
            data: envelope
        }
    );
    assert_eq!(
        a.send(pk(&signer(3)), b"nobody".to_vec()).await?,
        SendOutcome::Offline
    );
    Ok(())
}

#[tokio::test]
async fn relay_errors_come_back_as_err() -> Result<()> {
    let relay = Relay::start(
        "127.0.0.1:0",
        RelayServerConfig {
            messages_per_second: 1,
            burst: 2,
            ..RelayServerConfig::default()
        },
    )
    .await?;
    let (a, _events) = connected(relay.url(), signer(1)).await?; // auth takes one token
    assert_eq!(a.send(pk(&signer(2)), vec![1]).await?, SendOutcome::Offline);
    match a.send(pk(&signer(2)), vec![2]).await {
        Err(RelayError::Rejected {
            code: ErrorCode::RateLimited,
            ..
        }) => {}
        other => bail!("expected rate_limited, got {other:?}"),
    }
    let too_big = a.send(pk(&signer(2)), vec![0; 64 * 1024]).await;
    assert!(
        matches!(too_big, Err(RelayError::TooLarge { .. })),
        "{too_big:?}"
    );
    Ok(())
}

#[tokio::test]
async fn send_without_relay_fails_promptly() -> Result<()> {
    let free = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
    let (handle, _events) =
        RelayClient::spawn_with(format!("ws://{free}/relay"), signer(1), fast_config());
    let result = timeout(
        Duration::from_millis(500),
        handle.send(pk(&signer(2)), vec![1]),
    )
    .await?;
    assert_eq!(result, Err(RelayError::NotConnected));
    Ok(())
}

#[tokio::test]
async fn client_reconnects_after_relay_restart() -> Result<()> {
    let relay = Relay::start("127.0.0.1:0", RelayServerConfig::default()).await?;
    let (addr, url) = (relay.addr, relay.url());
    let (alice, bob) = (signer(1), signer(2));
    let (a, mut a_events) = connected(url.clone(), alice).await?;
    let (_b, mut b_events) = connected(url, bob.clone()).await?;

    relay.stop().await?;
    for events in [&mut a_events, &mut b_events] {
        let event = next_event(events).await?;
        assert!(
            matches!(event, RelayEvent::Disconnected { .. }),
            "{event:?}"
        );
    }
    assert_eq!(
        a.send(pk(&bob), vec![1]).await,
        Err(RelayError::NotConnected)
    );

    let _relay = Relay::start(&addr.to_string(), RelayServerConfig::default()).await?;
    wait_for(&mut a_events, |e| *e == RelayEvent::Connected).await?;
    wait_for(&mut b_events, |e| *e == RelayEvent::Connected).await?;
    assert_eq!(
        a.send(pk(&bob), b"again".to_vec()).await?,
        SendOutcome::Delivered
    );
    let got = wait_for(&mut b_events, |e| matches!(e, RelayEvent::Delivered { .. })).await?;
    assert!(matches!(got, RelayEvent::Delivered { data, .. } if data == b"again"));
    Ok(())
}

/// A relay that completes the handshake and then never reads or answers.
async fn silent_relay() -> Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                continue;
            };
            let challenge = format!(r#"{{"t":"challenge","nonce":"{}"}}"#, "A".repeat(43));
            let _ = ws.send(Message::text(challenge)).await;
            let _ = ws.next().await; // the auth frame, accepted unchecked
            let _ = ws.send(Message::text(r#"{"t":"ready"}"#)).await;
            held.push(ws);
        }
    });
    Ok((addr, task))
}

#[tokio::test]
async fn silent_relay_is_detected_and_reconnected() -> Result<()> {
    let (addr, task) = silent_relay().await?;
    let (_handle, mut events) = connected(format!("ws://{addr}/relay"), signer(1)).await?;
    let event = next_event(&mut events).await?;
    match event {
        RelayEvent::Disconnected {
            reason: RelayError::Transport(why),
        } => assert!(why.contains("silent"), "{why}"),
        other => bail!("expected a dead-relay disconnect, got {other:?}"),
    }
    assert_eq!(next_event(&mut events).await?, RelayEvent::Connected);
    task.abort();
    Ok(())
}

#[tokio::test]
async fn shutdown_and_dropping_handles_stop_the_client() -> Result<()> {
    let relay = Relay::start("127.0.0.1:0", RelayServerConfig::default()).await?;
    let (a, mut events) = connected(relay.url(), signer(1)).await?;
    let spare = a.clone();
    a.shutdown();
    assert_eq!(
        next_event(&mut events).await?,
        RelayEvent::Disconnected {
            reason: RelayError::Stopped
        }
    );
    assert_eq!(
        timeout(WAIT, events.recv()).await?,
        None,
        "event stream must end"
    );
    assert_eq!(
        spare.send(pk(&signer(2)), vec![1]).await,
        Err(RelayError::Stopped)
    );

    let (b, mut events) = connected(relay.url(), signer(2)).await?;
    drop(b);
    wait_for(&mut events, |e| {
        matches!(
            e,
            RelayEvent::Disconnected {
                reason: RelayError::Stopped
            }
        )
    })
    .await?;
    assert_eq!(
        timeout(WAIT, events.recv()).await?,
        None,
        "event stream must end"
    );
    Ok(())
}

#[tokio::test]
async fn an_unreachable_relay_is_told_once_per_outage_and_its_return_too() -> Result<()> {
    let addr = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
    let (_handle, mut events) =
        RelayClient::spawn_with(format!("ws://{addr}/relay"), signer(1), fast_config());
    match next_event(&mut events).await? {
        RelayEvent::Unreachable {
            reason: RelayError::Transport(why),
        } => assert!(why.to_lowercase().contains("refused"), "{why}"),
        other => bail!("expected Unreachable first, got {other:?}"),
    }
    // Attempts go on (every 20–200 ms) without telling again.
    assert!(
        timeout(Duration::from_millis(800), events.recv())
            .await
            .is_err(),
        "one outage, one Unreachable"
    );
    let relay = Relay::start(&addr.to_string(), RelayServerConfig::default()).await?;
    assert_eq!(next_event(&mut events).await?, RelayEvent::Connected);
    relay.stop().await?;
    assert!(matches!(
        next_event(&mut events).await?,
        RelayEvent::Disconnected { .. }
    ));
    assert!(matches!(
        next_event(&mut events).await?,
        RelayEvent::Unreachable { .. }
    ));
    Ok(())
}

#[tokio::test]
async fn a_relay_that_swallows_connections_is_told_before_the_connect_timeout() -> Result<()> {
    // Accepts TCP connections and never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let config = ClientConfig {
        connect_timeout: Duration::from_secs(30),
        unreachable_after: Duration::from_millis(300),
        ..fast_config()
    };
    let (_handle, mut events) =
        RelayClient::spawn_with(format!("ws://{addr}/relay"), signer(1), config);
    let event = next_event(&mut events).await?;
    assert_eq!(
        event,
        RelayEvent::Unreachable {
            reason: RelayError::Timeout(Duration::from_millis(300))
        }
    );
    drop(listener);
    Ok(())
}

#[tokio::test]
async fn a_client_with_several_urls_moves_past_dead_ones() -> Result<()> {
    let dead = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
    let first = Relay::start("127.0.0.1:0", RelayServerConfig::default()).await?;
    let second = Relay::start("127.0.0.1:0", RelayServerConfig::default()).await?;
    let urls = vec![format!("ws://{dead}/relay"), first.url(), second.url()];
    let (handle, mut events) = RelayClient::spawn_any(
        urls,
        signer(1),
        fast_config(),
        hearth::relay::RelayIce::new(),
    );
    wait_for(&mut events, |e| *e == RelayEvent::Connected).await?;
    // The relay it found dies: it goes on to the next that answers.
    first.stop().await?;
    wait_for(&mut events, |e| {
        matches!(e, RelayEvent::Disconnected { .. })
    })
    .await?;
    wait_for(&mut events, |e| *e == RelayEvent::Connected).await?;
    let (_b, _b_events) = connected(second.url(), signer(2)).await?;
    assert_eq!(
        handle.send(pk(&signer(2)), vec![1]).await,
        Ok(SendOutcome::Delivered),
        "on the second relay, with signer 2"
    );
    Ok(())
}
