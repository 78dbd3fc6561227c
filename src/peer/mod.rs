//! Hearth's WebRTC peer: a thin, tested wrapper around `webrtc` 0.21.
//!
//! One [`HearthPeer`] is one connection. The viewer offers (receive-only media plus the
//! `hearth` data channel), the device answers (send-only media):
//!
//! ```no_run
//! # async fn demo() -> Result<(), hearth::peer::PeerError> {
//! use hearth::peer::{HearthPeer, PeerEvent, PeerOptions};
//! let (viewer, mut viewer_events) = HearthPeer::new(PeerOptions::viewer()).await?;
//! let (device, mut device_events) = HearthPeer::new(PeerOptions::device()).await?;
//! let offer = viewer.create_offer().await?;          // signalling: viewer -> device
//! let answer = device.accept_offer(&offer).await?;   // signalling: device -> viewer
//! viewer.accept_answer(&answer).await?;
//! while let Some(event) = device_events.recv().await {
//!     if event == PeerEvent::Connected { /* force an IDR, start writing */ break; }
//! }
//! # Ok(()) }
//! ```
//!
//! * ICE: [`IceMode::Gathered`] (default) returns SDPs that already carry the candidates, so
//!   one message per direction suffices; [`IceMode::Trickle`] returns at once and emits
//!   [`PeerEvent::LocalCandidate`]s for [`HearthPeer::add_remote_candidate`].
//! * Media out: [`HearthPeer::media_sender`] → [`MediaSender::write_h264`] /
//!   [`MediaSender::write_opus`]. Start with a keyframe on every [`PeerEvent::Connected`]
//!   and [`PeerEvent::KeyframeRequested`].
//! * Media in: [`HearthPeer::take_remote_video`] yields complete Annex-B access units,
//!   [`HearthPeer::take_remote_audio`] Opus packets.
//! * Data: [`HearthPeer::send_bytes`] / [`HearthPeer::send_text`] wait for send-buffer
//!   room (64 KiB); messages arrive as [`PeerEvent::Message`].
//! * Remote hang-up: with the data channel, a remote `close()` shows up as
//!   [`PeerEvent::DataChannelClosed`] within milliseconds; without it only ICE consent
//!   notices: [`PeerEvent::Disconnected`] after ~5 s, [`PeerEvent::Failed`] after ~30 s.
//! * Identity: [`HearthPeer::remote_certificate_fingerprint`] and [`sdp_fingerprint`] let the
//!   caller bind the DTLS session to a signed SDP ([`HearthPeer::verify_remote_fingerprint`]).

#![warn(missing_docs)]

pub mod abs_capture_time;
mod build;
pub mod codecs;
mod connection;
pub mod data_channel;
mod dtls_repair;
mod error;
mod events;
pub mod fast_start;
pub mod fingerprint;
pub mod h264;
mod handler;
pub mod keyframe;
pub mod loopback;
mod media_recv;
mod media_send;
pub mod nack_responder;
mod options;
pub mod path;
pub mod path_estimator;
mod queue_delay;
pub mod reorder;
mod repair_socket;
pub mod resend_policy;
mod rtp_clock;
mod runtime;
pub mod send_estimate;
mod shared;
mod transceivers;

pub use connection::HearthPeer;
pub use data_channel::DataChannelState;
pub use error::{PeerError, PeerResult};
pub use events::{AudioPacket, DataMessage, IceCandidate, PeerEvent, PeerState, VideoFrame};
pub use fingerprint::{certificate_fingerprint, fingerprints_match, sdp_fingerprint};
pub use media_send::MediaSender;
pub use options::{IceMode, IceServer, PeerOptions, Role};
pub use path::{CandidateKind, PathKind, SelectedPath};
