//! Contact names as people see them. A name comes from someone else's contact
//! code, so it is cleaned before it is stored, logged or shown: control and
//! invisible formatting characters go (no escape sequences or forged log
//! lines), it is cut to [`MAX_NAME_CHARS`], and a name that clashes with
//! another contact's is made distinct, so "Gran" always means one person.

use super::ContactBook;
use crate::keys::PeerKey;

/// Longest name kept, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// What an empty name becomes.
pub const UNNAMED: &str = "Unnamed";

/// `raw` without control or invisible formatting characters, with runs of
/// whitespace made one space, trimmed and cut to [`MAX_NAME_CHARS`].
pub fn clean_name(raw: &str) -> String {
    let mut out = String::new();
    let mut space = false;
    for c in raw.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if c.is_control() || is_invisible_format(c) {
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
    let cut: String = out.chars().take(MAX_NAME_CHARS).collect();
    let cut = cut.trim_end().to_string();
    if cut.is_empty() {
        UNNAMED.to_string()
    } else {
        cut
    }
}

/// Bidirectional overrides, zero-width characters and the byte-order mark:
/// they make a name look like another or reorder what follows it.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// `name` (already clean) if no other contact than `key` is called that
/// (ignoring case), else `name` with the start of `key` after it, e.g.
/// "Gran (3fa9c2d1)", and a counter if even that is taken.
pub fn distinct_name(book: &ContactBook, name: &str, key: &PeerKey) -> String {
    let taken = |candidate: &str| {
        book.iter()
            .any(|c| &c.key != key && c.name.eq_ignore_ascii_case(candidate))
    };
    if !taken(name) {
        return name.to_string();
    }
    let short = key.short();
    let base: String = name
        .chars()
        .take(MAX_NAME_CHARS.saturating_sub(short.chars().count() + 8))
        .collect();
    let mut candidate = format!("{} ({short})", base.trim_end());
    let mut n = 2;
    while taken(&candidate) {
        candidate = format!("{} ({short} {n})", base.trim_end());
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::ContactStatus;
    use crate::identity::Identity;

    #[test]
    fn names_are_cleaned_as_a_table() {
        let long = "x".repeat(300);
        let cases: [(&str, &str); 9] = [
            ("Gran", "Gran"),
            ("  Gran  ", "Gran"),
            ("Gran\napproved", "Gran approved"),
            ("Gran\x1b[31m red", "Gran[31m red"),
            ("a\u{202E}txt.exe", "atxt.exe"),
            ("zero\u{200B}width", "zerowidth"),
            ("\x07\x08", UNNAMED),
            ("", UNNAMED),
            ("Grand\tma", "Grand ma"),
        ];
        for (raw, want) in cases {
            assert_eq!(clean_name(raw), want, "{raw:?}");
        }
        assert_eq!(clean_name(&long).chars().count(), MAX_NAME_CHARS);
        assert_eq!(clean_name(&"é".repeat(100)).chars().count(), MAX_NAME_CHARS);
    }

    #[test]
    fn a_clashing_name_is_made_distinct_and_stays_short() {
        let mut book = ContactBook::default();
        let gran = Identity::generate().contact_code("Gran", &[]);
        book.upsert(&gran, ContactStatus::Approved);
        let stranger = Identity::generate().peer_key();
        assert_eq!(distinct_name(&book, "Gran", &gran.peer_key), "Gran");
        let made = distinct_name(&book, "gran", &stranger);
        assert_eq!(made, format!("gran ({})", stranger.short()));
        assert_eq!(distinct_name(&book, "Grandad", &stranger), "Grandad");
        let long = "G".repeat(MAX_NAME_CHARS);
        let long_code = Identity::generate().contact_code(&long, &[]);
        book.upsert(&long_code, ContactStatus::Approved);
        assert!(distinct_name(&book, &long, &stranger).chars().count() <= MAX_NAME_CHARS);
    }
}
