//! Seed inputs for each fuzz target: a few valid messages and files of each
//! kind, made with Hearth's own types so they stay valid as formats change.

use super::hearth_fuzz::{fixed_identity, recipient, NOW_MS};
use hearth::contacts::{ContactBook, ContactChange};
use hearth::envelope::seal;
use hearth::relay::protocol::{ClientFrame, ErrorCode, ServerFrame};
use hearth::share::inbox::InboxRecord;
use hearth::share::manifest::describe_jpeg;
use hearth::share::outbox::OutboxRecord;
use hearth::share::wire::{encode_chunk, Control};
use hearth::share::{Manifest, ShareBody, ShareKind};
use hearth::signal::{EndCode, Signal};

/// One seed: target, file name, bytes.
pub type Seed = (&'static str, String, Vec<u8>);

fn with_mode(mode: u8, rest: &[u8]) -> Vec<u8> {
    [&[mode][..], rest].concat()
}

fn signals() -> Vec<Signal> {
    let session = "s1".to_string();
    vec![
        Signal::PairRequest {
            code: fixed_identity(1).contact_code("Ann", &[]).to_text(),
        },
        Signal::PairApproved,
        Signal::Offer {
            session: session.clone(),
            sdp: OFFER_SDP.to_string(),
            want_video: true,
            want_audio: false,
        },
        Signal::Answer {
            session: session.clone(),
            sdp: OFFER_SDP.to_string(),
            video: true,
            audio: false,
            denied: vec!["live_audio".into()],
        },
        Signal::Candidate {
            session: session.clone(),
            candidate: "candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
        },
        Signal::Refused {
            session: session.clone(),
            reason: "not allowed".into(),
            code: Some(EndCode::NotApproved),
        },
        Signal::Bye {
            session,
            reason: Some("done".into()),
            code: None,
        },
    ]
}

const OFFER_SDP: &str = "v=0\r\no=- 4215775240449105457 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
a=group:BUNDLE 0 1\r\na=msid-semantic: WMS\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n\
a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=ice-options:trickle\r\n\
a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n\
a=setup:actpass\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:96 H264/90000\r\n\
a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\n\
a=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=setup:actpass\r\na=mid:1\r\na=recvonly\r\na=rtcp-mux\r\n\
a=rtpmap:111 opus/48000/2\r\na=candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host\r\n";

fn share_bodies() -> Vec<ShareBody> {
    let author = fixed_identity(3).peer_key();
    let jpeg = vec![0xFFu8, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5, 6, 0xFF, 0xD9];
    vec![
        ShareBody {
            v: 1,
            author,
            created_at: NOW_MS as u64,
            kind: ShareKind::Thought,
            text: "Hello from the garden".into(),
            jpeg: None,
            audience: vec![fixed_identity(2).peer_key()],
        },
        ShareBody {
            v: 1,
            author,
            created_at: NOW_MS as u64,
            kind: ShareKind::Photo,
            text: String::new(),
            jpeg: Some(describe_jpeg(&jpeg, 5)),
            audience: vec![fixed_identity(2).peer_key(), fixed_identity(5).peer_key()],
        },
    ]
}

/// Every seed of every target.
pub fn all() -> Vec<Seed> {
    let mut seeds: Vec<Seed> = Vec::new();
    let mut add = |target: &'static str, bytes: Vec<u8>| {
        let n = seeds.iter().filter(|s| s.0 == target).count();
        seeds.push((target, format!("seed-{n:02}"), bytes));
    };
    let key = fixed_identity(1).peer_key();

    // relay_frames
    for frame in [
        ClientFrame::Auth { key, sig: [7; 64] },
        ClientFrame::Send {
            id: 42,
            to: key,
            data: vec![1, 2, 3, 4],
        },
        ClientFrame::Ping,
        ClientFrame::Ice,
    ] {
        add("relay_frames", frame.to_text().into_bytes());
    }
    add(
        "relay_frames",
        br#"{"t":"ice_servers","servers":[{"urls":["stun:127.0.0.1:3478"]},{"urls":["turn:127.0.0.1:3478?transport=udp"],"username":"1800000000:hearth","credential":"c2VjcmV0"}],"expires_in":3600}"#.to_vec(),
    );
    for frame in [
        ServerFrame::Challenge { nonce: [9; 32] },
        ServerFrame::Ready,
        ServerFrame::Sent { id: 42 },
        ServerFrame::Offline { id: 43 },
        ServerFrame::Deliver {
            from: key,
            data: vec![5; 40],
        },
        ServerFrame::Pong,
        ServerFrame::error(ErrorCode::TooLarge, "frame too large", Some(44)),
    ] {
        add("relay_frames", frame.to_text().into_bytes());
    }

    // envelope: real sealed envelopes (mode 0), inner messages to seal (mode 1)
    let sender = fixed_identity(1);
    let device = fixed_identity(2);
    for signal in signals().into_iter().take(3) {
        add(
            "envelope",
            with_mode(0, &seal(&sender, &recipient(&device), &signal, NOW_MS)),
        );
    }
    for (i, signal) in signals().iter().enumerate() {
        let inner = format!(
            r#"{{"v":1,"from":"@FROM@","from_seal":"@SEAL@","to":"@TO@","ts":{},"nonce":"n{i}","body":{}}}"#,
            NOW_MS - 1000 * i as i64,
            serde_json::to_string(signal).unwrap()
        );
        add("envelope", with_mode(1, inner.as_bytes()));
    }

    // signal
    for signal in signals() {
        add("signal", serde_json::to_vec(&signal).unwrap());
    }
    add(
        "signal",
        br#"{"type":"access","code":"allowed","video":true,"audio":false,"denied":["live_audio"],"reason":""}"#.to_vec(),
    );
    add(
        "signal",
        br#"{"candidate":"candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host","sdpMid":"0","sdpMLineIndex":0}"#.to_vec(),
    );

    // share
    let author = fixed_identity(3);
    for body in share_bodies() {
        let signed = Manifest::sign(&author, &body).unwrap();
        let offer = Control::ShareOffer {
            manifest: signed.manifest.clone(),
        };
        add(
            "share",
            with_mode(0, serde_json::to_string(&offer).unwrap().as_bytes()),
        );
        add(
            "share",
            with_mode(
                2,
                serde_json::to_string(&signed.manifest).unwrap().as_bytes(),
            ),
        );
        let text = serde_json::to_vec(&body).unwrap();
        let mut inner = vec![3];
        inner.extend((text.len() as u16).to_be_bytes());
        inner.extend(1u16.to_be_bytes());
        inner.extend(&text);
        inner.extend([4, 5, 6, 0xFF, 0xD9]);
        add("share", inner);
        add(
            "share",
            with_mode(
                1,
                &encode_chunk(&signed.id, 1, &[4, 5, 6, 0xFF, 0xD9]).unwrap(),
            ),
        );
    }
    for control in [
        Control::ShareHave {
            id: "ab".repeat(32),
            have: vec![0, 2],
        },
        Control::ShareAck {
            id: "ab".repeat(32),
        },
        Control::ShareRefused {
            id: "ab".repeat(32),
            reason: "inbox full".into(),
            retry: true,
            code: Some("inbox_full".into()),
        },
        Control::ShareCancel {
            id: "ab".repeat(32),
        },
    ] {
        add(
            "share",
            with_mode(0, serde_json::to_string(&control).unwrap().as_bytes()),
        );
    }

    // contact_code
    let friend = fixed_identity(5);
    let code = friend
        .contact_code("Grandma", &["wss://relay.example/".into()])
        .to_text();
    add("contact_code", with_mode(0, code.as_bytes()));
    add("contact_code", with_mode(0, key.to_string().as_bytes()));
    add(
        "contact_code",
        with_mode(0, friend.seal_key().to_string().as_bytes()),
    );
    for change in [
        ContactChange::Add {
            code: code.clone(),
            name: Some("Nan".into()),
            allow: vec![],
        },
        ContactChange::Approve {
            who: "Grandma".into(),
        },
        ContactChange::Remove {
            who: "Grandma".into(),
        },
        ContactChange::ApproveOldest,
    ] {
        add(
            "contact_code",
            with_mode(0, serde_json::to_string(&change).unwrap().as_bytes()),
        );
    }
    add(
        "contact_code",
        with_mode(
            1,
            b"Grandma\nwss://relay.example/\nwss://other.example:8443/relay",
        ),
    );
    add(
        "contact_code",
        with_mode(1, "Zo\u{e9} \u{1F600}".as_bytes()),
    );

    // whep_offer
    add(
        "whep_offer",
        format!("Bearer {}\n{OFFER_SDP}", "A".repeat(43)).into_bytes(),
    );
    add(
        "whep_offer",
        b"\nv=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n".to_vec(),
    );

    // config_toml
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    add(
        "config_toml",
        std::fs::read(root.join("hearth.example.toml")).unwrap(),
    );
    for board in ["laptop", "pi4", "pi-zero-2w"] {
        add(
            "config_toml",
            std::fs::read(root.join(format!("board/{board}.toml"))).unwrap(),
        );
    }
    add(
        "config_toml",
        b"max_frame_bytes = 65536\nburst = 7\n".to_vec(),
    );
    add(
        "config_toml",
        b"max_frame_bytes = 65536\n[ice]\nturn_urls = [\"turn:127.0.0.1:3478\"]\n".to_vec(),
    );

    // data_dir
    let dir = tempfile::tempdir().unwrap();
    hearth::identity::Identity::load_or_create(dir.path()).unwrap();
    add(
        "data_dir",
        with_mode(0, &std::fs::read(dir.path().join("identity.toml")).unwrap()),
    );
    let mut book = ContactBook::default();
    ContactChange::Add {
        code,
        name: None,
        allow: vec![],
    }
    .apply(&mut book, &key)
    .unwrap();
    book.save(dir.path()).unwrap();
    add(
        "data_dir",
        with_mode(1, &std::fs::read(dir.path().join("contacts.toml")).unwrap()),
    );
    add("data_dir", with_mode(2, b"# Privacy switch\non = true\n"));
    let thought = Manifest::sign(&author, &share_bodies()[0])
        .unwrap()
        .manifest;
    let outbox = OutboxRecord {
        manifest: thought.clone(),
        pending: vec![fixed_identity(2).peer_key()],
    };
    let inbox = InboxRecord {
        manifest: thought,
        received_at: NOW_MS as u64,
    };
    add(
        "data_dir",
        with_mode(3, &serde_json::to_vec(&outbox).unwrap()),
    );
    add(
        "data_dir",
        with_mode(4, &serde_json::to_vec(&inbox).unwrap()),
    );
    add(
        "data_dir",
        with_mode(5, &serde_json::to_vec(&outbox).unwrap()),
    );
    add(
        "data_dir",
        with_mode(6, &serde_json::to_vec(&inbox).unwrap()),
    );
    seeds
}
