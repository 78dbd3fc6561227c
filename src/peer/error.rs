//! The error type of the `peer` module.
//!
//! Every fallible call in [`crate::peer`] returns [`PeerError`]. Errors coming from the
//! `webrtc` crate are wrapped together with a short description of what we were doing at
//! the time, so a log line reads "creating the SDP answer: ..." rather than a bare
//! protocol error.

/// Result alias used throughout [`crate::peer`].
pub type PeerResult<T> = Result<T, PeerError>;

/// Everything that can go wrong in [`crate::peer`].
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The underlying `webrtc` stack reported an error while doing `context`.
    #[error("{context}: {source}")]
    WebRtc {
        /// What this module was doing when the error happened.
        context: &'static str,
        /// The error reported by `webrtc`.
        #[source]
        source: webrtc::error::Error,
    },

    /// The method is only valid for the other role (e.g. `create_offer` on an answerer).
    #[error("{0}")]
    WrongRole(&'static str),

    /// The SDP given to us could not be parsed.
    #[error("invalid SDP: {0}")]
    InvalidSdp(String),

    /// A remote ICE candidate could not be parsed.
    #[error("invalid ICE candidate: {0}")]
    InvalidCandidate(String),

    /// The peer was built with `PeerOptions::data_channel = false`.
    #[error("this peer has no data channel (PeerOptions::data_channel is false)")]
    NoDataChannel,

    /// The data channel exists but has not opened yet.
    #[error("the data channel is not open yet; wait for PeerEvent::DataChannelOpen")]
    DataChannelNotOpen,

    /// The data channel (or the whole connection) has closed; nothing more can be sent.
    #[error("the data channel is closed")]
    DataChannelClosed,

    /// A data-channel message is larger than the remote accepts (its SDP
    /// `a=max-message-size`; 64 KiB between two Hearth peers). Split it.
    #[error("data-channel message of {0} bytes exceeds the remote's max-message-size (64 KiB between Hearth peers); split it")]
    MessageTooLarge(usize),

    /// A media write for a kind this peer was not configured to send.
    #[error("this peer does not send {0} (PeerOptions::send_{0} is false)")]
    NotSending(&'static str),

    /// The remote description did not accept the codec, so nothing can be sent on it.
    #[error("{0} was not negotiated with the remote peer (no matching codec or m-line)")]
    NotNegotiated(&'static str),

    /// The peer has been closed.
    #[error("the peer connection is closed")]
    Closed,

    /// Waiting for something took longer than allowed.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),

    /// ICE found no candidate pair that works within the given time: the two
    /// sides cannot reach each other with the candidates they have (behind
    /// routers that need a TURN relay, and none that works is configured).
    #[error("no network path to the other side within {0:?}: every ICE candidate pair failed")]
    NoPath(std::time::Duration),

    /// The remote DTLS certificate is not available (not connected yet, or already closed).
    #[error("the remote DTLS certificate is not available (is the peer connected?)")]
    NoRemoteCertificate,

    /// The remote DTLS certificate does not match the fingerprint the caller expected.
    #[error("remote certificate fingerprint mismatch: expected {expected}, got {actual}")]
    FingerprintMismatch {
        /// The fingerprint the caller expected (e.g. from signed signalling).
        expected: String,
        /// The fingerprint of the certificate the remote actually presented.
        actual: String,
    },
}

impl PeerError {
    /// Wraps a `webrtc` error with the operation that produced it.
    pub(crate) fn webrtc(context: &'static str) -> impl FnOnce(webrtc::error::Error) -> Self {
        move |source| PeerError::WebRtc { context, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_helpful() {
        let e =
            PeerError::webrtc("creating the SDP answer")(webrtc::error::Error::ErrConnectionClosed);
        assert!(e.to_string().starts_with("creating the SDP answer: "));
        assert_eq!(
            PeerError::NotSending("video").to_string(),
            "this peer does not send video (PeerOptions::send_video is false)"
        );
        let m = PeerError::FingerprintMismatch {
            expected: "sha-256 AA".into(),
            actual: "sha-256 BB".into(),
        };
        assert!(m
            .to_string()
            .contains("expected sha-256 AA, got sha-256 BB"));
    }
}
