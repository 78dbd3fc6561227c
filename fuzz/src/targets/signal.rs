//! Signalling messages (the body of every envelope) and the messages a
//! session reads from a contact on its data channel: access messages and
//! ICE candidates in the browser's JSON shape. What parses must survive
//! writing it out and reading it again.
use hearth::api::Access;
use hearth::peer::IceCandidate;
use hearth::signal::Signal;

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    if let Ok(signal) = serde_json::from_slice::<Signal>(data) {
        let _ = signal.kind();
        let text = serde_json::to_string(&signal).expect("a signal serializes");
        let again: Signal = serde_json::from_str(&text).expect("a written signal parses");
        assert_eq!(again, signal);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(access) = Access::parse(text) {
        assert_eq!(Access::parse(&access.to_json()), Some(access));
    }
    if let Ok(candidate) = IceCandidate::from_json(text) {
        let _ = candidate.to_json();
    }
}
