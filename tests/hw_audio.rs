//! Talk-back plays only for contacts with `talk_back`, checked packet by packet; the
//! simulated microphone and speaker open from the default config. No sound card needed.

use hearth::config::Config;
use hearth::contacts::{ContactBook, ContactStatus, Permission};
use hearth::hardware::audio::{open_microphone, open_speaker, MemorySpeaker, Speaker, TalkBack};
use hearth::hardware::Board;
use hearth::identity::Identity;
use hearth::keys::PeerKey;
use hearth::media::{AudioCapture, OpusConfig, OpusEncoder, ToneMicrophone};
use hearth::policy::may_talk_back;

fn add(book: &mut ContactBook, name: &str, status: ContactStatus, talk_back: bool) -> PeerKey {
    let code = Identity::generate().contact_code(name, &[]);
    book.upsert(&code, status);
    book.find_mut(name)
        .unwrap()
        .permissions
        .set(Permission::TalkBack, talk_back);
    code.peer_key
}

fn packet() -> Vec<u8> {
    let mut mic = ToneMicrophone::new();
    let mut enc = OpusEncoder::new(OpusConfig::default()).unwrap();
    enc.encode(&mic.read_frame().unwrap())
        .unwrap()
        .data
        .to_vec()
}

#[test]
fn only_contacts_with_talk_back_are_heard() {
    let mut book = ContactBook::default();
    let gran = add(&mut book, "Gran", ContactStatus::Approved, true);
    let tom = add(&mut book, "Tom", ContactStatus::Approved, false);
    let stranger = add(&mut book, "Pending", ContactStatus::Pending, true);
    let speaker = MemorySpeaker::new();
    let mut talk = TalkBack::new(Box::new(speaker.clone())).unwrap();
    let p = packet();

    assert!(talk.play_packet(may_talk_back(&book, &gran), &p).unwrap());
    assert_eq!(speaker.samples().len(), 960, "20 ms at 48 kHz");
    assert!(!talk.play_packet(may_talk_back(&book, &tom), &p).unwrap());
    assert!(!talk
        .play_packet(may_talk_back(&book, &stranger), &p)
        .unwrap());
    assert_eq!(speaker.samples().len(), 960);
    assert_eq!(talk.refused(), 2);

    // Taking the permission away silences Gran from the next packet on.
    book.find_mut("Gran")
        .unwrap()
        .permissions
        .set(Permission::TalkBack, false);
    assert!(!talk.play_packet(may_talk_back(&book, &gran), &p).unwrap());
    assert_eq!(speaker.samples().len(), 960);
}

#[test]
fn a_lost_packet_is_concealed_not_skipped() {
    let mut book = ContactBook::default();
    let gran = add(&mut book, "Gran", ContactStatus::Approved, true);
    let tom = add(&mut book, "Tom", ContactStatus::Approved, false);
    let speaker = MemorySpeaker::new();
    let mut talk = TalkBack::new(Box::new(speaker.clone())).unwrap();
    assert!(talk.conceal_loss(may_talk_back(&book, &gran)).unwrap());
    assert_eq!(speaker.samples().len(), 960);
    assert!(
        !talk.conceal_loss(may_talk_back(&book, &tom)).unwrap(),
        "gated too"
    );
    assert_eq!(speaker.samples().len(), 960);
}

#[test]
fn the_default_config_opens_simulated_audio() {
    let config = Config::default();
    let board = Board::built_in("laptop").unwrap();
    let mut mic = open_microphone(&config.audio, &board).unwrap();
    assert_eq!(mic.read_frame().unwrap().len(), 960);
    let dir = tempfile::tempdir().unwrap();
    let mut speaker = open_speaker(&config.audio, &board, dir.path()).unwrap();
    speaker.play(&[7; 960]).unwrap();
    let wav = dir.path().join(hearth::hardware::audio::TALKBACK_WAV);
    assert_eq!(
        hearth::hardware::audio::wav::read_samples(&wav).unwrap(),
        vec![7; 960],
        "the simulated speaker writes talkback.wav in the data directory"
    );
}

/// A speaker with a queue that `discard` empties, like the mixer's inputs.
#[derive(Clone, Default)]
struct QueueSpeaker(std::sync::Arc<std::sync::Mutex<Vec<i16>>>);

impl Speaker for QueueSpeaker {
    fn play(&mut self, pcm: &[i16]) -> Result<(), hearth::hardware::HardwareError> {
        self.0.lock().unwrap().extend_from_slice(pcm);
        Ok(())
    }

    fn discard(&mut self) {
        self.0.lock().unwrap().clear();
    }
}

#[test]
fn taking_talk_back_away_drops_what_is_still_queued() {
    let mut book = ContactBook::default();
    let gran = add(&mut book, "Gran", ContactStatus::Approved, true);
    let speaker = QueueSpeaker::default();
    let mut talk = TalkBack::new(Box::new(speaker.clone())).unwrap();
    let p = packet();
    for _ in 0..3 {
        assert!(talk.play_packet(may_talk_back(&book, &gran), &p).unwrap());
    }
    assert_eq!(speaker.0.lock().unwrap().len(), 3 * 960);
    book.find_mut("Gran")
        .unwrap()
        .permissions
        .set(Permission::TalkBack, false);
    assert!(!talk.play_packet(may_talk_back(&book, &gran), &p).unwrap());
    assert!(speaker.0.lock().unwrap().is_empty(), "silent at once");
}
