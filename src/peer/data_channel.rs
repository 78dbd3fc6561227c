//! The single reliable, ordered data channel `hearth`: creation/acceptance, the pump that
//! turns its events into [`PeerEvent`]s, and sending with back-pressure.
//!
//! Back-pressure: the connection is built with a 64 KiB per-channel send-buffer limit
//! ([`SEND_BUFFER_LIMIT`]), so `send` waits until SCTP has acknowledged enough data. Nothing is
//! queued without bound on either side: incoming messages wait for room in the owner's event
//! channel, which in turn stalls the SCTP receive window of the remote sender.

use crate::peer::error::{PeerError, PeerResult};
use crate::peer::events::{DataMessage, PeerEvent};
use crate::peer::fast_start::Milestone;
use crate::peer::shared::Shared;
use bytes::BytesMut;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use webrtc::data_channel::{DataChannel, DataChannelEvent};

/// Label of Hearth's data channel.
pub const DATA_CHANNEL_LABEL: &str = "hearth";
/// Per-channel send-buffer limit: `send` waits while this much is unacknowledged.
pub const SEND_BUFFER_LIMIT: usize = 64 * 1024;

/// Lifecycle of the data channel as seen by senders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataChannelState {
    /// Not open yet.
    Pending,
    /// Open: sends go through.
    Open,
    /// Closed: sends fail with [`PeerError::DataChannelClosed`].
    Closed,
}

/// How long a send waits for a data channel that is still opening.
const OPEN_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Holds the data channel once it exists and tracks its state.
pub(crate) struct DataLink {
    channel: Mutex<Option<Arc<dyn DataChannel>>>,
    state_tx: watch::Sender<DataChannelState>,
}

impl DataLink {
    pub fn new() -> Self {
        DataLink {
            channel: Mutex::new(None),
            state_tx: watch::channel(DataChannelState::Pending).0,
        }
    }

    /// Current state.
    pub fn state(&self) -> DataChannelState {
        *self.state_tx.borrow()
    }

    /// Adopts `channel` (created by us or announced by the remote) and starts its pump.
    pub fn attach(shared: &Arc<Shared>, channel: Arc<dyn DataChannel>) {
        {
            let mut slot = shared
                .data
                .channel
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if slot.is_some() {
                tracing::warn!("a second data channel was offered; ignoring it");
                drop(slot);
                tokio::spawn(async move {
                    let _ = channel.close().await;
                });
                return;
            }
            *slot = Some(channel.clone());
        }
        tokio::spawn(pump(shared.clone(), channel));
    }

    /// Marks the channel closed (used when the whole peer closes).
    pub fn mark_closed(&self) {
        self.state_tx.send_replace(DataChannelState::Closed);
    }

    /// The open channel; waits (up to [`OPEN_WAIT`]) while it is still
    /// opening, so a send right after connecting does not fail.
    async fn open_channel(&self) -> PeerResult<Arc<dyn DataChannel>> {
        let mut state = self.state_tx.subscribe();
        let _ = tokio::time::timeout(
            OPEN_WAIT,
            state.wait_for(|s| *s != DataChannelState::Pending),
        )
        .await;
        match self.state() {
            DataChannelState::Pending => Err(PeerError::DataChannelNotOpen),
            DataChannelState::Closed => Err(PeerError::DataChannelClosed),
            DataChannelState::Open => self
                .channel
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
                .ok_or(PeerError::DataChannelNotOpen),
        }
    }

    /// Sends a binary message, waiting while the send buffer is full.
    pub async fn send_bytes(&self, data: &[u8]) -> PeerResult<()> {
        let channel = self.open_channel().await?;
        channel
            .send(BytesMut::from(data))
            .await
            .map_err(|e| map_send_error(e, data.len()))
    }

    /// Sends a text message, waiting while the send buffer is full.
    pub async fn send_text(&self, text: &str) -> PeerResult<()> {
        let channel = self.open_channel().await?;
        channel
            .send_text(text)
            .await
            .map_err(|e| map_send_error(e, text.len()))
    }
}

fn map_send_error(e: webrtc::error::Error, len: usize) -> PeerError {
    match e {
        webrtc::error::Error::ErrOutboundPacketTooLarge => PeerError::MessageTooLarge(len),
        webrtc::error::Error::ErrDataChannelClosed | webrtc::error::Error::ErrConnectionClosed => {
            PeerError::DataChannelClosed
        }
        other => PeerError::WebRtc {
            context: "sending on the data channel",
            source: other,
        },
    }
}

/// Turns the channel's events into `PeerEvent`s until it closes.
async fn pump(shared: Arc<Shared>, channel: Arc<dyn DataChannel>) {
    let mut listening = true;
    while let Some(event) = channel.poll().await {
        let out = match event {
            DataChannelEvent::OnOpen => {
                shared.data.state_tx.send_replace(DataChannelState::Open);
                if let Some(fast) = &shared.fast {
                    fast.reached(Milestone::DataChannelOpen);
                }
                tracing::debug!("data channel open");
                PeerEvent::DataChannelOpen
            }
            DataChannelEvent::OnMessage(message) => {
                let message = if message.is_string {
                    match String::from_utf8(message.data.to_vec()) {
                        Ok(text) => DataMessage::Text(text),
                        Err(e) => DataMessage::Binary(e.into_bytes()),
                    }
                } else {
                    DataMessage::Binary(message.data.to_vec())
                };
                PeerEvent::Message(message)
            }
            DataChannelEvent::OnClose => break,
            _ => continue,
        };
        if listening && !shared.emit_data(out).await {
            // The owner dropped its receiver; keep draining so SCTP does not stall.
            listening = false;
        }
    }
    let closed_locally = shared.data.state() == DataChannelState::Closed;
    shared.data.mark_closed();
    tracing::debug!("data channel closed");
    if listening && !closed_locally {
        shared.emit_data(PeerEvent::DataChannelClosed).await;
    }
}
