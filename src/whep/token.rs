//! Bearer tokens for token contacts: made from 32 random bytes, shown to the
//! owner once, and stored only as their SHA-256. Checking a presented token
//! hashes it and compares against every token contact without stopping early,
//! so the time taken says nothing about how close a guess was.

use crate::contacts::{Contact, ContactBook};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Length of a token in characters (32 bytes as unpadded base64url).
pub const TOKEN_LEN: usize = 43;

/// A new random bearer token: 256 bits from the OS, as unpadded base64url.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    crate::keys::b64(&bytes)
}

/// The hex SHA-256 of `token`: what the contact book stores.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `a` and `b` are equal, in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The token contact whose token is `presented`, if any (approved or not:
/// the caller decides what it may do). Every token contact is compared.
pub fn find_contact<'a>(book: &'a ContactBook, presented: &str) -> Option<&'a Contact> {
    let presented = Sha256::digest(presented.as_bytes());
    let mut found = None;
    for contact in book.iter() {
        let Some(stored) = contact.token_sha256.as_deref() else {
            continue;
        };
        let stored = hex::decode(stored).unwrap_or_default();
        if constant_time_eq(&stored, &presented) && found.is_none() {
            found = Some(contact);
        }
    }
    found
}

/// The token from an `Authorization: Bearer …` header value, if it has that form.
pub fn from_authorization(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::Contact;

    #[test]
    fn tokens_are_random_and_only_their_hash_finds_the_contact() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_LEN);
        let mut book = ContactBook::default();
        book.add(Contact::token("TV", hash(&a))).unwrap();
        book.add(Contact::token("Tablet", hash(&b))).unwrap();
        assert_eq!(find_contact(&book, &a).unwrap().name, "TV");
        assert_eq!(find_contact(&book, &b).unwrap().name, "Tablet");
        assert!(find_contact(&book, &generate()).is_none());
        assert!(find_contact(&book, "").is_none());
        assert!(
            find_contact(&book, &hash(&a)).is_none(),
            "the hash is not a token"
        );
    }

    #[test]
    fn damaged_hashes_match_nothing() {
        let mut book = ContactBook::default();
        book.add(Contact::token("TV", "not hex".into())).unwrap();
        assert!(find_contact(&book, "anything").is_none());
    }

    #[test]
    fn comparison_and_header_parsing() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert_eq!(from_authorization("Bearer xyz"), Some("xyz"));
        assert_eq!(from_authorization("bearer  xyz "), Some("xyz"));
        assert_eq!(from_authorization("Basic xyz"), None);
        assert_eq!(from_authorization("Bearer "), None);
        assert_eq!(from_authorization("xyz"), None);
    }
}
