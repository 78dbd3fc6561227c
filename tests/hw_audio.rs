//! Talk-back plays only for contacts with `talk_back`, checked packet by packet; the
//! simulated microphone and speaker open from the default config. No sound card needed.

use hearth::config::Config;
use hearth::contacts::{ContactBook, ContactStatus, Permission};
use hearth::hardware::audio::{open_microphone, open_speaker, MemorySpeaker, TalkBack};
use hearth::hardware::Board;
use hearth::identity::Identity;
use hearth::keys::PeerKey;
use hearth::media::{AudioCapture, OpusConfig, OpusEncoder, ToneMicrophone};

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

    assert!(talk.play_packet(&book, &gran, &p).unwrap());
    assert_eq!(speaker.samples().len(), 960, "20 ms at 48 kHz");
    assert!(!talk.play_packet(&book, &tom, &p).unwrap());
    assert!(!talk.play_packet(&book, &stranger, &p).unwrap());
    assert_eq!(speaker.samples().len(), 960);
    assert_eq!(talk.refused(), 2);

    // Taking the permission away silences Gran from the next packet on.
    book.find_mut("Gran")
        .unwrap()
        .permissions
        .set(Permission::TalkBack, false);
    assert!(!talk.play_packet(&book, &gran, &p).unwrap());
    assert_eq!(speaker.samples().len(), 960);
}

#[test]
fn a_lost_packet_is_concealed_not_skipped() {
    let speaker = MemorySpeaker::new();
    let mut talk = TalkBack::new(Box::new(speaker.clone())).unwrap();
    talk.conceal_loss().unwrap();
    assert_eq!(speaker.samples().len(), 960);
}

#[test]
fn the_default_config_opens_simulated_audio() {
    let config = Config::default();
    let board = Board::built_in("laptop").unwrap();
    let mut mic = open_microphone(&config, &board).unwrap();
    assert_eq!(mic.read_frame().unwrap().len(), 960);
    let mut speaker = open_speaker(&config, &board).unwrap();
    speaker.play(&[0; 960]).unwrap();
}
