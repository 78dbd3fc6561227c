//! Reading a WHEP offer's body before it goes to the WebRTC stack: UTF-8
//! text that looks like SDP. What the offer then asks for is
//! [`crate::api::OfferWants`]; the SDP itself is parsed by the `webrtc` crate.

/// Why an offer's body was refused before any WebRTC work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    /// Over [`super::MAX_OFFER_BYTES`].
    #[error("the offer is over 64 KiB")]
    TooLarge,
    /// Not UTF-8.
    #[error("the offer is not UTF-8 text")]
    NotText,
    /// Nothing but white space.
    #[error("the body is empty; send an SDP offer")]
    Empty,
    /// Text that does not start as SDP does (`v=0`).
    #[error("the body is not an SDP offer")]
    NotSdp,
}

impl OfferError {
    /// The machine-readable code beside the sentence.
    pub fn code(self) -> &'static str {
        match self {
            OfferError::TooLarge => "too_large",
            OfferError::NotText => "not_text",
            OfferError::Empty => "empty",
            OfferError::NotSdp => "not_sdp",
        }
    }
}

/// Reads a `POST /whep` body as an SDP offer: at most
/// [`super::MAX_OFFER_BYTES`], UTF-8, not blank, starting with `v=0`.
pub fn read_offer(body: &[u8]) -> Result<&str, OfferError> {
    if body.len() > super::MAX_OFFER_BYTES {
        return Err(OfferError::TooLarge);
    }
    let offer = std::str::from_utf8(body).map_err(|_| OfferError::NotText)?;
    if offer.trim().is_empty() {
        return Err(OfferError::Empty);
    }
    if !offer.trim_start().starts_with("v=0") {
        return Err(OfferError::NotSdp);
    }
    Ok(offer)
}
