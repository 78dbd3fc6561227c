//! Talk-back on the device: a caller's voice on the speaker, only while its contact has
//! `talk_back`.
//!
//! The device takes the audio of every call whose offer sends some, and each Opus
//! packet passes the [`TalkBack`] gate against the contact book *of that moment*
//! before it is decoded: a contact without `talk_back` is never heard, taking it away
//! silences the contact from the next packet on (what the speaker still had queued of
//! that voice is dropped too), and granting it mid-call lets the contact be heard
//! without calling again. Several callers at once are mixed ([`SpeakerOutput`]), each
//! with its own decoder and jitter buffer. Privacy on mutes the speaker too (from the
//! next packet on, like a withdrawn `talk_back`): the owner wants the device quiet
//! both ways.

use super::Environment;
use crate::api::PeerConnection;
use crate::hardware::audio::{self, SpeakerOutput, TalkBack};
use crate::keys::PeerKey;
use crate::live_contacts::LiveContacts;
use crate::peer::AudioPacket;
use crate::policy;
use crate::privacy::Privacy;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Lost packets in a row that are concealed; a longer gap is left silent.
const MAX_CONCEALED: u16 = 5;

/// A contact counts as talking this long after its last packet was played.
const TALKING_FOR: Duration = Duration::from_secs(1);

/// What talk-back has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TalkBackStats {
    /// Opus packets played (callers with `talk_back`).
    pub played: u64,
    /// Opus packets dropped because the caller lacked `talk_back` at that moment.
    pub refused: u64,
    /// Contacts heard on the speaker within the last second, by name.
    pub talking: Vec<String>,
}

/// The device's speaker and the gate in front of it, shared by every call.
pub(super) struct TalkBackHub {
    output: Option<SpeakerOutput>,
    contacts: LiveContacts,
    privacy: Arc<Privacy>,
    played: AtomicU64,
    refused: AtomicU64,
    talking: Mutex<HashMap<u64, (String, Instant)>>,
    next_id: AtomicU64,
}

impl TalkBackHub {
    /// Opens the speaker `[audio] speaker` asks for. A speaker that cannot be opened
    /// is logged and talk-back stays off; the rest of the device runs on.
    pub(super) fn open(env: &Environment, contacts: LiveContacts, privacy: Arc<Privacy>) -> Self {
        let audio = &env.config.audio;
        let output =
            audio::open_speaker(audio, &env.board, &env.data_dir).and_then(SpeakerOutput::start);
        let output = match output {
            Ok(output) => {
                tracing::info!(speaker = %audio.speaker, "talk-back speaker ready");
                Some(output)
            }
            Err(e) => {
                tracing::error!(error = %e, "the speaker did not open; talk-back is off");
                None
            }
        };
        TalkBackHub {
            output,
            contacts,
            privacy,
            played: 0.into(),
            refused: 0.into(),
            talking: Mutex::new(HashMap::new()),
            next_id: 0.into(),
        }
    }

    /// What talk-back has done so far, and who is heard now.
    pub(super) fn stats(&self) -> TalkBackStats {
        let now = Instant::now();
        let mut talking: Vec<String> = self
            .talking
            .lock()
            .expect("talking lock")
            .values()
            .filter(|(_, last)| now.duration_since(*last) < TALKING_FOR)
            .map(|(name, _)| name.clone())
            .collect();
        talking.sort();
        talking.dedup();
        TalkBackStats {
            played: self.played.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            talking,
        }
    }

    /// Plays `audio` from `contact` (called `name`) through the gate until the
    /// session on `connection` ends.
    pub(super) async fn listen(
        &self,
        contact: PeerKey,
        name: String,
        mut audio: mpsc::Receiver<AudioPacket>,
        connection: PeerConnection,
    ) {
        let talk = match &self.output {
            Some(output) => TalkBack::new(Box::new(output.input())),
            None => return,
        };
        let mut talk = match talk {
            Ok(talk) => talk,
            Err(e) => {
                tracing::warn!(error = %e, "no Opus decoder for talk-back");
                return;
            }
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut voice = Voice {
            name,
            heard: false,
            told_refused: false,
            failures: 0,
            last_sequence: None,
        };
        let closed = connection.closed();
        tokio::pin!(closed);
        loop {
            let packet = tokio::select! {
                _ = &mut closed => break,
                packet = audio.recv() => match packet {
                    Some(packet) => packet,
                    None => break,
                },
            };
            let Some(missing) = voice.missing_before(packet.sequence) else {
                continue;
            };
            // The privacy switch and the book of this moment decide each packet.
            let private = self.privacy.is_on();
            let allowed = !private
                && self
                    .contacts
                    .with(|book| policy::may_talk_back(book, &contact));
            let result = (0..missing)
                .try_for_each(|_| talk.conceal_loss(allowed).map(drop))
                .and_then(|()| talk.play_packet(allowed, &packet.data));
            match result {
                Ok(true) => {
                    self.played.fetch_add(1, Ordering::Relaxed);
                    self.talking
                        .lock()
                        .expect("talking lock")
                        .insert(id, (voice.name.clone(), Instant::now()));
                    voice.played();
                }
                Ok(false) => {
                    self.refused.fetch_add(1, Ordering::Relaxed);
                    self.talking.lock().expect("talking lock").remove(&id);
                    voice.refused(private);
                }
                Err(e) => voice.failed(&e),
            }
        }
        self.talking.lock().expect("talking lock").remove(&id);
    }
}

/// One caller's voice: sequence tracking and what the log has said about it.
struct Voice {
    name: String,
    heard: bool,
    told_refused: bool,
    failures: u64,
    last_sequence: Option<u16>,
}

impl Voice {
    /// How many packets were lost just before `sequence` (to conceal, at most
    /// [`MAX_CONCEALED`]), or `None` for a duplicate or a packet too late to play.
    fn missing_before(&mut self, sequence: u16) -> Option<u16> {
        let missing = match self.last_sequence {
            None => 0,
            Some(last) => {
                let step = sequence.wrapping_sub(last);
                if step == 0 || step > u16::MAX / 2 {
                    return None;
                }
                (step - 1).min(MAX_CONCEALED)
            }
        };
        self.last_sequence = Some(sequence);
        Some(missing)
    }

    fn played(&mut self) {
        if !self.heard {
            tracing::info!(contact = %self.name, "TALK-BACK: this contact is heard on the speaker");
            self.heard = true;
        }
    }

    fn refused(&mut self, private: bool) {
        if self.heard || !self.told_refused {
            if private {
                tracing::info!(contact = %self.name, "privacy is on: this contact's voice is not played");
            } else {
                tracing::info!(contact = %self.name, "this contact sends audio but is not allowed talk_back; not played");
            }
        }
        self.heard = false;
        self.told_refused = true;
    }

    fn failed(&mut self, error: &crate::hardware::HardwareError) {
        self.failures += 1;
        if self.failures.is_power_of_two() {
            tracing::warn!(contact = %self.name, %error, failures = self.failures, "talk-back packet could not be played");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voice() -> Voice {
        Voice {
            name: "Gran".into(),
            heard: false,
            told_refused: false,
            failures: 0,
            last_sequence: None,
        }
    }

    #[test]
    fn gaps_are_concealed_and_late_packets_skipped() {
        let mut v = voice();
        assert_eq!(v.missing_before(65_534), Some(0));
        assert_eq!(v.missing_before(65_535), Some(0));
        assert_eq!(v.missing_before(2), Some(2), "0 and 1 lost across the wrap");
        assert_eq!(v.missing_before(2), None, "duplicate");
        assert_eq!(v.missing_before(1), None, "too late");
        assert_eq!(v.missing_before(100), Some(MAX_CONCEALED), "a long gap");
        assert_eq!(v.missing_before(101), Some(0));
    }
}
