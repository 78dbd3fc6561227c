//! Who may do what: every permission rule of the device, in one place, as
//! pure functions of the contact book (and, for live media, the privacy
//! switch). Private by default: a person gets something only if the owner
//! approved them and allowed that thing.
//!
//! - [`live`]: live video and audio sessions ([`decide`], [`still_allowed`]),
//!   and what an open session may receive under the privacy switch ([`Current`]).
//! - [`shares`]: snapshots to contacts, photos and thoughts from them.
//! - [`talk_back`]: a contact's voice on the device's speaker.
//! - [`tokens`]: WHEP players that present a bearer token.
//! - [`pairing`]: what a pairing request does to the book.
//!
//! Callers carry decisions out; nothing here does I/O. The rules are tested
//! together as one table in `tests.rs`.

pub mod live;
pub mod pairing;
pub mod shares;
pub mod show_on_device;
pub mod talk_back;
pub mod tokens;

pub use live::{decide, still_allowed, AccessCode, Current, Grant, Refusal};
pub use pairing::{on_request, PairingStep, MAX_PENDING_REQUESTS};
pub use shares::{may_receive_shares, receive_rules, ReceiveRules};
pub use talk_back::may_talk_back;
pub use tokens::may_watch_by_token;

#[cfg(test)]
mod tests;
