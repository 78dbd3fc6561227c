//! Talk-back end to end: contacts call a simulated device over a real relay and real
//! WebRTC on loopback, sending a known tone from their own (simulated) microphone, and
//! what reaches the device's simulated speaker — `talkback.wav` in its data directory —
//! is checked: the tone's frequency for a contact with `talk_back`, nothing at all for
//! one without, silence from the moment `talk_back` is taken away or privacy goes on,
//! and both voices when two contacts talk at once.

mod support;

use hearth::api::{AudioStream, LocalMedia, PeerConnection};
use hearth::contacts::Permission;
use hearth::device::Device;
use hearth::hardware::audio::mixer::MAX_BUFFERED_FRAMES;
use hearth::hardware::audio::{wav, TALKBACK_WAV};
use hearth::keys::PeerKey;
use hearth::media::{
    AudioPipeline, OpusConfig, OpusEncoder, ToneGenerator, ToneMicrophone, AUDIO_FRAME_SAMPLES,
    AUDIO_SAMPLE_RATE,
};
use hearth::privacy::PrivacyInput;
use std::path::Path;
use std::time::Duration;
use support::harness::*;

const SECOND: usize = AUDIO_SAMPLE_RATE as usize;

/// A caller's microphone: a pure tone of `hz` at 30% of full scale.
fn tone_media(hz: f64) -> LocalMedia {
    let mic = ToneMicrophone::with_tone(ToneGenerator::new(hz, 0.3).unwrap());
    let opus = OpusEncoder::new(OpusConfig::default()).unwrap();
    LocalMedia::new(
        None,
        Some(AudioPipeline::start(Box::new(mic), opus).unwrap()),
    )
}

/// Calls the device from `caller`, sending `media`'s microphone, and when `watch`
/// also asking for the device's live media (a browser viewer's sendrecv call; else
/// the caller only talks). Returns once connected.
async fn talk(
    caller: &hearth::node::Node,
    device: PeerKey,
    media: &LocalMedia,
    watch: bool,
) -> PeerConnection {
    let connection = PeerConnection::with_settings(caller, device, fast_settings());
    let voice = AudioStream::open(media).await.unwrap();
    connection.add_stream(&voice).unwrap();
    if watch {
        let remote = connection.fetch_stream().await.expect("live media granted");
        assert!(remote.has_audio());
    } else {
        connection.connect().await.expect("the call is answered");
    }
    connection
}

fn speaker(dir: &Path) -> Vec<i16> {
    wav::read_samples(&dir.join(TALKBACK_WAV)).expect("the simulated speaker's file")
}

/// The amplitude of the `hz` component of `samples` (Goertzel), in sample units.
fn amplitude_at(samples: &[i16], hz: f64) -> f64 {
    let w = std::f64::consts::TAU * hz / f64::from(AUDIO_SAMPLE_RATE);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / samples.len() as f64
}

async fn set_talk_back(device: &Device, name: &str, on: bool) {
    let name = name.to_string();
    device
        .node
        .contacts()
        .update(move |book| {
            book.find_mut(&name)
                .unwrap()
                .permissions
                .set(Permission::TalkBack, on)
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_with_talk_back_is_heard_until_it_is_taken_away() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(
        &relay.url(),
        "Gran",
        Some(&[Permission::LiveAudio, Permission::TalkBack]),
    )
    .await;
    let (device, dir) = (&home.device, home.device_dir.path());
    let gran = tone_media(1000.0);
    let connection = talk(&home.viewer, device.node.peer_key(), &gran, true).await;

    wait_until(
        "two seconds of Gran on the speaker",
        Duration::from_secs(20),
        || speaker(dir).len() >= 2 * SECOND,
    )
    .await;
    let stats = device.talk_back();
    assert_eq!(stats.talking, vec!["Gran".to_string()]);
    assert_eq!(stats.refused, 0);
    let heard = speaker(dir);
    let middle = &heard[heard.len() / 2 - SECOND / 4..heard.len() / 2 + SECOND / 4];
    let (tone, elsewhere) = (amplitude_at(middle, 1000.0), amplitude_at(middle, 2300.0));
    assert!(
        tone > 5000.0 && elsewhere < 500.0,
        "the speaker plays Gran's 1 kHz tone: {tone:.0} at 1 kHz, {elsewhere:.0} at 2.3 kHz"
    );

    // Taking talk_back away: the call goes on, the speaker falls silent.
    set_talk_back(device, "Gran", false).await;
    let at_revocation = speaker(dir).len();
    let refused = device.talk_back().refused;
    wait_until(
        "a second of Gran's packets refused",
        Duration::from_secs(20),
        || device.talk_back().refused >= refused + 50,
    )
    .await;
    let after = speaker(dir).len();
    assert!(
        after - at_revocation <= (MAX_BUFFERED_FRAMES + 2) * AUDIO_FRAME_SAMPLES,
        "at most what was already queued plays after revocation: {} samples",
        after - at_revocation
    );
    assert!(device.talk_back().talking.is_empty());
    assert!(!connection.is_closed(), "only talk-back was taken away");

    // Given back mid-call, Gran is heard again without calling anew.
    set_talk_back(device, "Gran", true).await;
    wait_until("Gran heard again", Duration::from_secs(20), || {
        speaker(dir).len() >= after + SECOND / 2
    })
    .await;
    connection.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_on_mutes_the_speaker_until_it_goes_off() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(
        &relay.url(),
        "Gran",
        Some(&[Permission::LiveAudio, Permission::TalkBack]),
    )
    .await;
    let (device, dir) = (&home.device, home.device_dir.path());
    let gran = tone_media(1000.0);
    let connection = talk(&home.viewer, device.node.peer_key(), &gran, false).await;
    wait_until("Gran on the speaker", Duration::from_secs(20), || {
        speaker(dir).len() >= SECOND
    })
    .await;

    // Privacy on: the call goes on, the speaker falls silent.
    device.privacy(PrivacyInput::Set(true)).unwrap();
    let at_privacy = speaker(dir).len();
    let refused = device.talk_back().refused;
    wait_until(
        "a second of Gran's packets muted",
        Duration::from_secs(20),
        || device.talk_back().refused >= refused + 50,
    )
    .await;
    let after = speaker(dir).len();
    assert!(
        after - at_privacy <= (MAX_BUFFERED_FRAMES + 2) * AUDIO_FRAME_SAMPLES,
        "at most what was already queued plays once private: {} samples",
        after - at_privacy
    );
    assert!(device.talk_back().talking.is_empty());

    // Privacy off: Gran is heard again on the same call.
    device.privacy(PrivacyInput::Set(false)).unwrap();
    wait_until("Gran heard again", Duration::from_secs(20), || {
        speaker(dir).len() >= after + SECOND / 2
    })
    .await;
    connection.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_without_talk_back_is_never_heard() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(
        &relay.url(),
        "Tom",
        Some(&[Permission::LiveVideo, Permission::LiveAudio]),
    )
    .await;
    let device = &home.device;
    let tom = tone_media(1000.0);
    let connection = talk(&home.viewer, device.node.peer_key(), &tom, true).await;
    wait_until(
        "two seconds of Tom's packets refused",
        Duration::from_secs(20),
        || device.talk_back().refused >= 100,
    )
    .await;
    let stats = device.talk_back();
    assert_eq!(stats.played, 0);
    assert!(stats.talking.is_empty());
    assert!(
        speaker(home.device_dir.path()).is_empty(),
        "nothing was played"
    );
    assert!(!connection.is_closed());
    connection.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_contacts_talking_at_once_are_mixed() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(&relay.url(), "Gran", Some(&[Permission::TalkBack])).await;
    let device = &home.device;
    let grandad_dir = tempfile::tempdir().unwrap();
    let grandad = start_viewer(grandad_dir.path(), &relay.url(), "Grandad");
    befriend(&device.node, &grandad, &[Permission::TalkBack]).await;
    wait_relay(&grandad).await;

    let (gran_voice, grandad_voice) = (tone_media(600.0), tone_media(1500.0));
    let gran = talk(&home.viewer, device.node.peer_key(), &gran_voice, false);
    let grandad_call = talk(&grandad, device.node.peer_key(), &grandad_voice, false);
    let (gran, grandad_call) = tokio::join!(gran, grandad_call);

    wait_until("both heard at once", Duration::from_secs(20), || {
        device.talk_back().talking == vec!["Gran".to_string(), "Grandad".to_string()]
    })
    .await;
    let start = speaker(home.device_dir.path()).len();
    wait_until("another second of the mix", Duration::from_secs(20), || {
        speaker(home.device_dir.path()).len() >= start + SECOND
    })
    .await;
    let heard = speaker(home.device_dir.path());
    let mix = &heard[start + SECOND / 4..start + 3 * SECOND / 4];
    let (low, high, elsewhere) = (
        amplitude_at(mix, 600.0),
        amplitude_at(mix, 1500.0),
        amplitude_at(mix, 3700.0),
    );
    assert!(
        low > 3000.0 && high > 3000.0 && elsewhere < 500.0,
        "both voices in the mix: {low:.0} at 600 Hz, {high:.0} at 1.5 kHz, {elsewhere:.0} at 3.7 kHz"
    );
    gran.close().await;
    grandad_call.close().await;
}
