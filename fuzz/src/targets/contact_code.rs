//! Contact codes (`hearth1.…`, pasted or scanned by the owner), the keys
//! written as text, and the owner's contact-book changes (JSON on the control
//! socket).
//!
//! First byte even: the rest is text for `ContactCode::parse`, `PeerKey` and
//! `SealKey`, and a `ContactChange` applied to a book that holds one contact.
//! Odd: the rest is a name and relay addresses (separated by newlines), made
//! into a code signed with a fixed test key, so the fuzzer reaches what
//! happens after the signature: the code must read back as written, and
//! adding it to a book must work.
use super::fixed_identity;
use hearth::contacts::ContactBook;
use hearth::contacts::ContactChange;
use hearth::identity::ContactCode;
use hearth::identity::Identity;
use hearth::keys::{PeerKey, SealKey};
use std::str::FromStr;
use std::sync::OnceLock;

struct Keys {
    own: Identity,
    friend: Identity,
    book: ContactBook,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let own = fixed_identity(4);
        let friend = fixed_identity(5);
        let mut book = ContactBook::default();
        let code = friend.contact_code("Grandma", &["wss://relay.example/".to_string()]);
        ContactChange::Add {
            code: code.to_text(),
            name: None,
            allow: Vec::new(),
        }
        .apply(&mut book, &own.peer_key())
        .expect("the fixed friend is added");
        Keys { own, friend, book }
    })
}

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let keys = keys();
    let own = keys.own.peer_key();
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if mode % 2 == 0 {
        if let Ok(code) = ContactCode::parse(text) {
            assert_eq!(ContactCode::parse(&code.to_text()), Ok(code));
        }
        let _ = PeerKey::from_str(text);
        let _ = SealKey::from_str(text);
        if let Ok(change) = serde_json::from_str::<ContactChange>(text) {
            let mut book = keys.book.clone();
            let _ = change.apply(&mut book, &own);
        }
        return;
    }
    let mut lines = text.split('\n');
    let name = lines.next().unwrap_or_default();
    let relays: Vec<String> = lines.map(str::to_string).collect();
    let code = keys.own.contact_code(name, &relays);
    let parsed = ContactCode::parse(&code.to_text()).expect("a signed code parses");
    assert_eq!(parsed, code);
    let mut book = ContactBook::default();
    let added = ContactChange::Add {
        code: keys.friend.contact_code(name, &relays).to_text(),
        name: None,
        allow: Vec::new(),
    }
    .apply(&mut book, &own);
    assert!(
        added.is_ok(),
        "a friend's signed code was refused: {added:?}"
    );
}
