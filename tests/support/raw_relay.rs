//! A raw relay client for the exposure tests: WebSocket handshake, the
//! challenge and auth, and `send` frames, on real loopback sockets.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{client_async, WebSocketStream};

/// Starts a relay with the default limits on a loopback port, serving until
/// the test ends; its address.
pub async fn spawn_relay() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(hearth::relay::serve(
        listener,
        hearth::relay::RelayServerConfig::default(),
        std::future::pending(),
    ));
    Ok(addr)
}

/// A relay WebSocket over a plain TCP stream.
pub type Ws = WebSocketStream<TcpStream>;

/// How long one expected frame may take.
pub const WAIT: Duration = Duration::from_secs(5);

/// A deterministic signing key.
pub fn signer(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The relay's text form of `key`'s public key.
pub fn pubkey(key: &SigningKey) -> String {
    hearth::keys::PeerKey(key.verifying_key().to_bytes()).to_string()
}

/// A `send` frame for the relay.
pub fn send_frame(id: u64, to: &SigningKey, data: &[u8]) -> Value {
    json!({"t": "send", "id": id, "to": pubkey(to), "data": URL_SAFE_NO_PAD.encode(data)})
}

/// A TCP connection to `relay` from `source` (port 0), with a receive buffer of
/// `recv_buffer` bytes when given.
pub async fn tcp_from(
    source: [u8; 4],
    relay: SocketAddr,
    recv_buffer: Option<u32>,
) -> Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size)?;
    }
    Ok(socket.connect(relay).await?)
}

/// Next protocol frame as JSON, or `None` once the relay closed the socket;
/// an error if nothing comes within [`WAIT`].
pub async fn recv(ws: &mut Ws) -> Result<Option<Value>> {
    recv_within(ws, WAIT).await
}

/// Next protocol frame as JSON on any relay WebSocket (plain or from
/// `connect_async`), or `None` once the relay closed the socket; an error if
/// nothing comes within `wait`.
pub async fn recv_within<S>(ws: &mut WebSocketStream<S>, wait: Duration) -> Result<Option<Value>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        match timeout(wait, ws.next())
            .await
            .context("relay sent nothing in time")?
        {
            Some(Ok(Message::Text(text))) => return Ok(Some(serde_json::from_str(text.as_str())?)),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(None),
            Some(Ok(other)) => bail!("unexpected message {other:?}"),
        }
    }
}

/// Sends one JSON frame on any relay WebSocket.
pub async fn send<S>(ws: &mut WebSocketStream<S>, frame: Value) -> Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    Ok(ws.send(Message::text(frame.to_string())).await?)
}

/// WebSocket handshake on `stream`, then challenge, auth and `ready` as `key`.
pub async fn authed_on(stream: TcpStream, relay: SocketAddr, key: &SigningKey) -> Result<Ws> {
    let url = format!("ws://{relay}/relay");
    let (mut ws, _) = client_async(url.as_str(), stream).await?;
    let challenge = recv(&mut ws)
        .await?
        .context("closed before the challenge")?;
    if challenge["t"] != "challenge" {
        bail!("expected a challenge, got {challenge}");
    }
    let nonce = URL_SAFE_NO_PAD.decode(challenge["nonce"].as_str().context("nonce")?)?;
    let msg = [b"hearth-relay-auth-v1".as_slice(), &nonce].concat();
    let sig = URL_SAFE_NO_PAD.encode(key.sign(&msg).to_bytes());
    send(
        &mut ws,
        json!({"t": "auth", "key": pubkey(key), "sig": sig}),
    )
    .await?;
    let ready = recv(&mut ws).await?.context("closed before ready")?;
    if ready != json!({"t": "ready"}) {
        bail!("expected ready, got {ready}");
    }
    Ok(ws)
}

/// An authenticated relay WebSocket from 127.0.0.1.
pub async fn authed(relay: SocketAddr, key: &SigningKey) -> Result<Ws> {
    authed_on(tcp_from([127, 0, 0, 1], relay, None).await?, relay, key).await
}

/// VmRSS of this process in KiB (0 if unreadable), for the report.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
