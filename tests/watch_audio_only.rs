//! `hearth watch` of a contact allowed only sound (`live_audio` without
//! `live_video`): it hears the sound on one session, says video is not
//! allowed, and does not reconnect in a loop.

mod support;

use hearth::contacts::Permission;
use support::harness::*;
use support::watch_cli::FamilyMember;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audio_only_contact_hears_sound_on_one_session() {
    init_logs();
    let relay = TestRelay::start().await;
    let device_dir = tempfile::tempdir().unwrap();
    let device = start_device(device_dir.path(), &relay.url()).await;
    wait_relay(&device.node).await;
    let grandpa = FamilyMember::pair(&device, "Grandpa", &[Permission::LiveAudio]).await;
    let lines = grandpa.watch("Kitchen", 5).finish().await;
    let transcript = lines.join("\n");
    println!("{transcript}");
    let sessions = lines.iter().filter(|l| l.starts_with("Watching")).count();
    assert_eq!(sessions, 1, "one session, no reconnecting:\n{transcript}");
    assert!(
        !transcript.contains("reconnecting"),
        "it did not reconnect:\n{transcript}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Watching Kitchen") && l.contains("video is not allowed")),
        "it says video is not allowed:\n{transcript}"
    );
    // Opus packets arrive every 20 ms: a second of sound is about 50.
    let packets: Vec<u64> = lines
        .iter()
        .filter_map(|l| l.split("audio ").nth(1)?.split(' ').next()?.parse().ok())
        .collect();
    assert!(
        packets.iter().filter(|&&n| n >= 40).count() >= 3,
        "sound arrived every second: {packets:?}\n{transcript}"
    );
    device.stop().await;
}
