//! The relay protocol's text frames, both ways: what a client sends the relay
//! (`parse_client`, with the relay's frame cap) and what the relay sends a
//! client (`ServerFrame`, as the client's session and handshake read it).
//! A frame that parses must survive writing it out and reading it again.
use hearth::relay::protocol::{parse_client, ServerFrame};
use hearth::relay::RelayServerConfig;

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let max = RelayServerConfig::default().max_frame_bytes;
    match parse_client(text, max) {
        Ok(frame) => {
            let again = parse_client(&frame.to_text(), usize::MAX).expect("a written frame parses");
            assert_eq!(again, frame);
        }
        Err(refusal) => {
            let _ = refusal.into_frame().to_text();
        }
    }
    if let Ok(frame) = serde_json::from_str::<ServerFrame>(text) {
        let _ = frame.tag();
        let again: ServerFrame =
            serde_json::from_str(&frame.to_text()).expect("a written frame parses");
        assert_eq!(again, frame);
    }
}
