//! Client side of the relay handshake: open the WebSocket with bounded
//! frame sizes, read the challenge, sign it and wait for `ready`.

use ed25519_dalek::{Signer, SigningKey};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async_with_config, MaybeTlsStream, WebSocketStream};

use super::client::ClientConfig;
use super::error::RelayError;
use super::protocol::{auth_message, ClientFrame, PeerKey, ServerFrame};

/// A client WebSocket to the relay.
pub(super) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens the WebSocket and answers the relay's challenge.
pub(super) async fn connect_and_auth(
    url: &str,
    key: &SigningKey,
    config: &ClientConfig,
) -> Result<Ws, RelayError> {
    let limit = config.max_frame_bytes.saturating_mul(4);
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit));
    let handshake = async {
        let (mut ws, _) = connect_async_with_config(url, Some(ws_config), true)
            .await
            .map_err(|e| RelayError::Transport(e.to_string()))?;
        let nonce = match next_frame(&mut ws).await? {
            ServerFrame::Challenge { nonce } => nonce,
            other => return Err(unexpected(other)),
        };
        let auth = ClientFrame::Auth {
            key: PeerKey(key.verifying_key().to_bytes()),
            sig: key.sign(&auth_message(&nonce)).to_bytes(),
        };
        ws.send(Message::text(auth.to_text()))
            .await
            .map_err(|e| RelayError::Transport(e.to_string()))?;
        match next_frame(&mut ws).await? {
            ServerFrame::Ready => Ok(ws),
            other => Err(unexpected(other)),
        }
    };
    timeout(config.connect_timeout, handshake)
        .await
        .map_err(|_| RelayError::Timeout(config.connect_timeout))?
}

/// Reads the next protocol frame during the handshake, skipping control frames.
async fn next_frame(ws: &mut Ws) -> Result<ServerFrame, RelayError> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(text.as_str()).map_err(|e| {
                    RelayError::Protocol(format!("unreadable frame during handshake: {e}"))
                });
            }
            Some(Ok(Message::Close(_))) | None => {
                return Err(transport("the relay closed the connection"))
            }
            Some(Ok(Message::Binary(_))) => {
                return Err(RelayError::Protocol("binary frame".into()))
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(RelayError::Transport(e.to_string())),
        }
    }
}

fn unexpected(frame: ServerFrame) -> RelayError {
    match frame {
        ServerFrame::Error { code, message, .. } => RelayError::Rejected { code, message },
        other => RelayError::Protocol(format!("expected challenge or ready, got {}", other.tag())),
    }
}

/// A transport error with a fixed explanation.
pub(super) fn transport(why: &str) -> RelayError {
    RelayError::Transport(why.to_string())
}
