//! Talk-back: a contact's voice on the device's speaker, only if the owner allowed it.
//!
//! The caller checks the rule ([`crate::policy::may_talk_back`]) for every packet and
//! says whether it passed, so taking `talk_back` away silences a contact
//! mid-sentence: the refused packet is dropped before it is decoded, and whatever the
//! speaker still had queued of that contact is discarded. Lost packets are concealed by the Opus decoder rather than played as
//! clicks. One `TalkBack` per caller: an Opus decoder follows one stream.

use tracing::debug;

use super::Speaker;
use crate::hardware::HardwareError;
use crate::media::{MediaError, OpusDecoder};

/// Decodes contacts' Opus audio and plays it, gate first.
pub struct TalkBack {
    decoder: OpusDecoder,
    speaker: Box<dyn Speaker>,
    refused: u64,
}

impl std::fmt::Debug for TalkBack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TalkBack")
            .field("refused", &self.refused)
            .finish()
    }
}

impl TalkBack {
    /// Plays through `speaker`.
    pub fn new(speaker: Box<dyn Speaker>) -> Result<Self, MediaError> {
        Ok(TalkBack {
            decoder: OpusDecoder::new()?,
            speaker,
            refused: 0,
        })
    }

    /// Plays one Opus packet if its sender may be heard (`allowed`, the
    /// policy's answer for this packet); returns whether it was played.
    pub fn play_packet(&mut self, allowed: bool, packet: &[u8]) -> Result<bool, HardwareError> {
        if !self.gate(allowed) {
            return Ok(false);
        }
        let pcm = self.decoder.decode(packet)?;
        self.speaker.play(&pcm)?;
        Ok(true)
    }

    /// Fills the gap of a packet that never arrived, if its sender may be heard
    /// (`allowed`); returns whether anything was played.
    pub fn conceal_loss(&mut self, allowed: bool) -> Result<bool, HardwareError> {
        if !self.gate(allowed) {
            return Ok(false);
        }
        let pcm = self.decoder.conceal_loss()?;
        self.speaker.play(&pcm)?;
        Ok(true)
    }

    /// The gate: refuses (and silences what is queued) when the sender may not be heard.
    fn gate(&mut self, allowed: bool) -> bool {
        if allowed {
            return true;
        }
        self.refused += 1;
        self.speaker.discard();
        debug!("talk-back audio from a contact without talk_back dropped");
        false
    }

    /// Packets dropped because the sender lacked `talk_back`.
    pub fn refused(&self) -> u64 {
        self.refused
    }
}
