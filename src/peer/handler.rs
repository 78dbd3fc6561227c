//! The `webrtc` event handler: translates driver callbacks into [`Shared`] state changes and
//! [`PeerEvent`]s.
//!
//! These callbacks run on the connection's driver task, so nothing here may block: events go
//! out with `try_send`, and anything that awaits the connection is spawned.

use crate::peer::data_channel::{DataLink, DATA_CHANNEL_LABEL};
use crate::peer::events::{IceCandidate, PeerEvent, PeerState};
use crate::peer::media_recv::spawn_track_pump;
use crate::peer::shared::Shared;
use std::sync::Arc;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnectionEventHandler, RTCIceGatheringState, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState,
};

/// See the module documentation.
pub(crate) struct PeerHandler {
    pub shared: Arc<Shared>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for PeerHandler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let init = match event.candidate.to_json() {
            Ok(init) => init,
            Err(e) => {
                tracing::debug!("cannot serialise local candidate: {e}");
                return;
            }
        };
        let mut gate = self.shared.gate.lock().await;
        gate.seen += 1;
        tracing::trace!(candidate = %init.candidate, emit = gate.emit, "local candidate");
        if gate.emit {
            self.shared
                .emit_control(PeerEvent::LocalCandidate(IceCandidate {
                    candidate: init.candidate,
                    sdp_mid: gate.mid.clone().or(init.sdp_mid),
                    sdp_mline_index: Some(0),
                    username_fragment: None,
                }));
        }
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        tracing::debug!(?state, "ICE gathering state");
        if state == RTCIceGatheringState::Complete {
            self.shared.gathering_tx.send_replace(true);
            self.shared.emit_control(PeerEvent::GatheringComplete);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::debug!(%state, "peer connection state");
        let state = match state {
            RTCPeerConnectionState::Connecting => PeerState::Connecting,
            RTCPeerConnectionState::Connected => PeerState::Connected,
            RTCPeerConnectionState::Disconnected => PeerState::Disconnected,
            RTCPeerConnectionState::Failed => PeerState::Failed,
            RTCPeerConnectionState::Closed => PeerState::Closed,
            _ => return,
        };
        self.shared.set_state(state);
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let label = channel.label().await.unwrap_or_default();
            if shared.accept_data_channel && label == DATA_CHANNEL_LABEL {
                DataLink::attach(&shared, channel);
            } else {
                tracing::info!(%label, "rejecting unexpected data channel");
                let _ = channel.close().await;
            }
        });
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        spawn_track_pump(self.shared.clone(), track);
    }
}
