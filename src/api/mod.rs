//! The original network's API, in Rust: streams and peer connections with
//! approved contacts. The device is built on it, and so is any program that
//! wants to watch a Hearth or talk to one.
//!
//! - [`VideoStream`], [`AudioStream`], [`AudioVideoStream`] open a
//!   [`MediaStream`] on this peer's camera and microphone. Opening completes
//!   once the source is open and the owner's privacy settings allow it.
//! - [`PeerConnection`] is a link to one contact: [`PeerConnection::add_stream`]
//!   shares a local stream, [`PeerConnection::fetch_stream`] asks for the
//!   contact's stream (which arrives only as far as the contact's owner allowed),
//!   [`PeerConnection::send`] and [`PeerConnection::send_json`] talk on its data
//!   channel and [`PeerConnection::recv`] listens.
//! - [`IncomingCall`] is the other side: a contact's request, answered with
//!   the streams its permissions allow.
//! - [`Access`] is what the answering side tells an open session whenever
//!   what it may receive changes (privacy on or off, permissions changed);
//!   [`PeerConnection::access`] follows it. [`EndCode`] says, beside the
//!   words, why a session was refused or ended.
//! - [`PictureNotice`] is what a device says about the caller's own camera:
//!   shown on its screen (and the size it would like), or not and why.
//! - [`WhepSession`] answers an offer that came over HTTP (WHEP) from a token
//!   contact, with the same media pumps and no signalling.
//!
//! ```no_run
//! # async fn demo(node: hearth::node::Node, media: hearth::api::LocalMedia, grandma: hearth::keys::PeerKey) -> Result<(), hearth::api::RtcError> {
//! use hearth::api::{PeerConnection, VideoStream};
//!
//! // Create a video stream and add it to a connection with a contact.
//! let stream = VideoStream::open(&media).await?;
//! let connection = PeerConnection::new(&node, grandma);
//! connection.add_stream(&stream)?;
//!
//! // Fetch the contact's stream; it carries what they allowed us to see.
//! let mut remote = connection.fetch_stream().await?;
//! let first_frame = remote.next_video_frame().await;
//!
//! // Talk on the data channel.
//! connection.send("Hello World!").await?;
//! connection.send_json(&serde_json::json!({ "foo": "bar" })).await?;
//! let reply = connection.recv().await;
//! # Ok(()) }
//! ```

mod access;
mod connection;
mod incoming;
mod local_media;
mod message;
mod picture_notice;
mod recovery;
mod session;
mod settings;
pub mod setup;
mod setup_io;
mod stream;
mod whep;

pub use crate::policy::Grant;
pub use crate::signal::EndCode;
pub use access::{Access, AccessCode};
pub use connection::PeerConnection;
pub use incoming::IncomingCall;
pub use local_media::LocalMedia;
pub use message::Message;
pub use picture_notice::PictureNotice;
pub use session::Ended;
pub use settings::RtcSettings;
pub use stream::{AudioStream, AudioVideoStream, MediaStream, RemoteStream, VideoStream};
pub use whep::{OfferWants, WhepSession};

/// Why there is no network path, and what helps, in words (`turn`: whether
/// this side had a TURN relay to try). [`RtcError::NoPath`] reads "no network
/// path: " and then these words.
pub fn no_path_words(turn: bool) -> &'static str {
    if turn {
        "not even through the TURN relay; check that the TURN server can be reached \
         from both sides and accepts its credentials"
    } else {
        "both sides are behind routers that need a TURN relay to connect, and none is \
         configured (the relay hands out none: give it an [ice] TURN server, or add one \
         to [webrtc] ice_servers)"
    }
}

impl RtcError {
    /// The code to tell the other side when this error ends a session.
    pub fn end_code(&self) -> EndCode {
        match self {
            RtcError::NoPath { .. } => EndCode::NoPath,
            RtcError::Refused { code, .. } => *code,
            _ => EndCode::Failed,
        }
    }

    /// `error`, read as the missing network path it may be (`turn`: whether
    /// this side had a TURN server to try).
    pub(crate) fn from_connect(error: crate::peer::PeerError, turn: bool) -> RtcError {
        match error {
            crate::peer::PeerError::NoPath(_) => RtcError::NoPath { turn },
            other => RtcError::Peer(other),
        }
    }
}

/// Errors from streams and connections.
#[derive(Debug, thiserror::Error)]
pub enum RtcError {
    /// This peer has no camera.
    #[error("this device has no camera configured")]
    NoCamera,
    /// This peer has no microphone.
    #[error("this device has no microphone configured")]
    NoMicrophone,
    /// The contact refused the session, or ended it before it started.
    #[error("the contact refused: {reason}")]
    Refused {
        /// Why, for programs.
        code: EndCode,
        /// Why, in words.
        reason: String,
    },
    /// The contact did not allow what was asked for.
    #[error("not allowed by the contact's owner: {0}")]
    NotAllowed(String),
    /// The contact did not answer in time.
    #[error("the contact did not answer within {0:?}; is it online?")]
    NoAnswer(std::time::Duration),
    /// No network path to the contact: ICE found no candidate pair that works
    /// within the connect timeout. `turn` says whether a TURN relay was
    /// configured on this side (the words say what helps).
    #[error("no network path: {}", no_path_words(*turn))]
    NoPath {
        /// Whether this side had a TURN server to try.
        turn: bool,
    },
    /// The DTLS certificate is not the one the contact signed for.
    #[error("the connection's DTLS certificate does not match the fingerprint the contact signed; someone may be in the middle, so the session was refused")]
    FingerprintMismatch,
    /// An offer (from a WHEP player) could not be answered.
    #[error("the offer cannot be answered: {0}")]
    BadOffer(String),
    /// The session has ended.
    #[error("the session has ended: {0}")]
    Closed(String),
    /// A call that must come before connecting came after.
    #[error("{0} must be called before the connection is first used")]
    TooLate(&'static str),
    /// The stream was already fetched.
    #[error("the remote stream was already fetched")]
    AlreadyFetched,
    /// Signalling failed.
    #[error("signalling: {0}")]
    Signalling(#[from] crate::node::NodeError),
    /// WebRTC failed.
    #[error("webrtc: {0}")]
    Peer(#[from] crate::peer::PeerError),
    /// A message could not be encoded or decoded as JSON.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_path_says_what_helps_and_travels_as_no_path() {
        let without = RtcError::NoPath { turn: false };
        assert!(without.to_string().starts_with("no network path: "));
        assert!(without.to_string().contains("none is configured"));
        let with = RtcError::NoPath { turn: true };
        assert!(with.to_string().contains("not even through the TURN relay"));
        assert_eq!(without.end_code(), EndCode::NoPath);
        assert_eq!(
            RtcError::NoAnswer(std::time::Duration::from_secs(1)).end_code(),
            EndCode::Failed
        );
        let timeout = crate::peer::PeerError::NoPath(std::time::Duration::from_secs(10));
        assert!(matches!(
            RtcError::from_connect(timeout, true),
            RtcError::NoPath { turn: true }
        ));
        let other = crate::peer::PeerError::Closed;
        assert!(matches!(
            RtcError::from_connect(other, false),
            RtcError::Peer(_)
        ));
    }
}
