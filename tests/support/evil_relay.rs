//! A relay that misbehaves on purpose: it alters, replays or re-addresses the
//! envelopes it forwards. It speaks the real relay protocol (without checking
//! signatures) so real nodes connect to it.

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use hearth::relay::protocol::{ClientFrame, ServerFrame};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// What the relay does to every envelope it forwards.
#[derive(Clone, Copy, Debug)]
pub enum Tamper {
    /// Flips one byte.
    Alter,
    /// Delivers every envelope twice.
    Replay,
    /// Delivers every envelope to this key instead of the addressee.
    Readdress(hearth::keys::PeerKey),
}

type Clients = Arc<Mutex<HashMap<hearth::keys::PeerKey, mpsc::UnboundedSender<ServerFrame>>>>;

#[derive(Clone)]
struct EvilState {
    tamper: Tamper,
    clients: Clients,
}

/// Starts the relay on a loopback port.
pub async fn start(tamper: Tamper) -> SocketAddr {
    let state = EvilState {
        tamper,
        clients: Arc::default(),
    };
    let app = axum::Router::new()
        .route("/relay", get(upgrade))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn upgrade(ws: WebSocketUpgrade, State(state): State<EvilState>) -> axum::response::Response {
    ws.on_upgrade(move |socket| serve(socket, state))
}

async fn serve(socket: WebSocket, state: EvilState) {
    let (mut sink, mut stream) = socket.split();
    let challenge = ServerFrame::Challenge { nonce: [7; 32] };
    if sink
        .send(WsMessage::Text(challenge.to_text().into()))
        .await
        .is_err()
    {
        return;
    }
    let key = loop {
        let Some(Ok(WsMessage::Text(text))) = stream.next().await else {
            return;
        };
        if let Ok(ClientFrame::Auth { key, .. }) = serde_json::from_str::<ClientFrame>(&text) {
            break key;
        }
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<ServerFrame>();
    state.clients.lock().unwrap().insert(key, tx.clone());
    let _ = tx.send(ServerFrame::Ready);
    let writer = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if sink
                .send(WsMessage::Text(frame.to_text().into()))
                .await
                .is_err()
            {
                break;
            }
        }
    });
    while let Some(Ok(message)) = stream.next().await {
        let WsMessage::Text(text) = message else {
            continue;
        };
        match serde_json::from_str::<ClientFrame>(&text) {
            Ok(ClientFrame::Send { id, to, mut data }) => {
                let target = match state.tamper {
                    Tamper::Readdress(other) => other,
                    _ => to,
                };
                if let Tamper::Alter = state.tamper {
                    let i = data.len() / 2;
                    data[i] ^= 0x01;
                }
                let recipient = state.clients.lock().unwrap().get(&target).cloned();
                match recipient {
                    Some(r) => {
                        let deliver = ServerFrame::Deliver { from: key, data };
                        let _ = r.send(deliver.clone());
                        if let Tamper::Replay = state.tamper {
                            let _ = r.send(deliver);
                        }
                        let _ = tx.send(ServerFrame::Sent { id });
                    }
                    None => {
                        let _ = tx.send(ServerFrame::Offline { id });
                    }
                }
            }
            Ok(ClientFrame::Ping) => {
                let _ = tx.send(ServerFrame::Pong);
            }
            _ => {}
        }
    }
    state.clients.lock().unwrap().remove(&key);
    writer.abort();
}
