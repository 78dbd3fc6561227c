//! Which contact's picture is on the device's screen (issue #16), as pure
//! decisions: the owner stays in charge.
//!
//! - Only a contact granted `show_on_device` is shown
//!   ([`crate::policy::show_on_device`]); one without it is told why and
//!   nothing of theirs is decoded.
//! - Privacy on hides the picture at once and refuses new ones; it is not
//!   shown again by itself when privacy goes off (the contact starts again).
//! - The NO button (or a long press) ends the picture at once.
//! - At most one contact is shown: the last one to start. The one it
//!   replaces is told why.
//!
//! Each call returns what to carry out, in order ([`PictureAction`]); the
//! caller decodes, blanks and tells.

use crate::keys::PeerKey;

/// Why a contact's picture is not, or no longer, on the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotShown {
    /// The owner has not allowed this contact on the screen.
    NotAllowed,
    /// The device is private just now.
    Privacy,
    /// The owner ended it on the device.
    EndedByOwner,
    /// Another contact started showing their picture since.
    Replaced,
}

impl NotShown {
    /// The code the caller is sent.
    pub fn code(self) -> &'static str {
        match self {
            NotShown::NotAllowed => "show_not_allowed",
            NotShown::Privacy => "privacy",
            NotShown::EndedByOwner => "ended_by_owner",
            NotShown::Replaced => "replaced",
        }
    }

    /// What the caller's page says, in plain words.
    pub fn message(self) -> &'static str {
        match self {
            NotShown::NotAllowed => {
                "The owner has not allowed your camera on this device's screen."
            }
            NotShown::Privacy => "The device is private just now, so your picture is not shown.",
            NotShown::EndedByOwner => "The owner took your picture off the screen.",
            NotShown::Replaced => "Someone else is on the screen now.",
        }
    }
}

/// One thing to carry out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PictureAction {
    /// Decode this contact's video and show it (replacing whatever is shown).
    Show(PeerKey),
    /// Stop decoding and blank the picture.
    Blank,
    /// Tell this contact why their picture is not shown.
    Tell(PeerKey, NotShown),
}

/// Whose picture is on the screen, and whether the device is private.
#[derive(Debug, Default)]
pub struct IncomingPicture {
    shown: Option<PeerKey>,
    private: bool,
}

impl IncomingPicture {
    /// Starts with nothing shown; `private` as the privacy switch is now.
    pub fn new(private: bool) -> IncomingPicture {
        IncomingPicture {
            shown: None,
            private,
        }
    }

    /// The contact shown now.
    pub fn shown(&self) -> Option<PeerKey> {
        self.shown
    }

    /// `contact` starts sending their picture; `allowed` is whether they
    /// hold `show_on_device` now.
    pub fn start(&mut self, contact: PeerKey, allowed: bool) -> Vec<PictureAction> {
        if !allowed {
            return vec![PictureAction::Tell(contact, NotShown::NotAllowed)];
        }
        if self.private {
            return vec![PictureAction::Tell(contact, NotShown::Privacy)];
        }
        let mut actions = vec![];
        if let Some(before) = self.shown.filter(|before| *before != contact) {
            actions.push(PictureAction::Tell(before, NotShown::Replaced));
        }
        self.shown = Some(contact);
        actions.push(PictureAction::Show(contact));
        actions
    }

    /// `contact` stopped sending (hung up, or their session ended).
    pub fn stop(&mut self, contact: PeerKey) -> Vec<PictureAction> {
        if self.shown == Some(contact) {
            self.shown = None;
            vec![PictureAction::Blank]
        } else {
            vec![]
        }
    }

    /// `contact` no longer holds `show_on_device`.
    pub fn withdrawn(&mut self, contact: PeerKey) -> Vec<PictureAction> {
        self.take_off(contact, NotShown::NotAllowed)
    }

    /// The privacy switch moved.
    pub fn privacy(&mut self, private: bool) -> Vec<PictureAction> {
        self.private = private;
        match self.shown {
            Some(contact) if private => self.take_off(contact, NotShown::Privacy),
            _ => vec![],
        }
    }

    /// The owner pressed NO (or held a button): the picture ends.
    pub fn end_pressed(&mut self) -> Vec<PictureAction> {
        match self.shown {
            Some(contact) => self.take_off(contact, NotShown::EndedByOwner),
            None => vec![],
        }
    }

    fn take_off(&mut self, contact: PeerKey, why: NotShown) -> Vec<PictureAction> {
        if self.shown != Some(contact) {
            return vec![];
        }
        self.shown = None;
        vec![PictureAction::Blank, PictureAction::Tell(contact, why)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PictureAction::{Blank, Show, Tell};

    const GRAN: PeerKey = PeerKey([1; 32]);
    const TOM: PeerKey = PeerKey([2; 32]);

    #[test]
    fn a_contact_without_the_permission_is_told_and_not_shown() {
        let mut picture = IncomingPicture::new(false);
        assert_eq!(
            picture.start(GRAN, false),
            vec![Tell(GRAN, NotShown::NotAllowed)]
        );
        assert_eq!(picture.shown(), None);
    }

    #[test]
    fn the_last_to_start_is_shown_and_the_one_replaced_is_told() {
        let mut picture = IncomingPicture::new(false);
        assert_eq!(picture.start(GRAN, true), vec![Show(GRAN)]);
        assert_eq!(
            picture.start(TOM, true),
            vec![Tell(GRAN, NotShown::Replaced), Show(TOM)]
        );
        assert_eq!(picture.shown(), Some(TOM));
        // Gran hanging up now changes nothing on the screen.
        assert_eq!(picture.stop(GRAN), vec![]);
        assert_eq!(picture.stop(TOM), vec![Blank]);
        assert_eq!(picture.shown(), None);
    }

    #[test]
    fn privacy_hides_the_picture_at_once_and_refuses_new_ones() {
        let mut picture = IncomingPicture::new(false);
        picture.start(GRAN, true);
        assert_eq!(
            picture.privacy(true),
            vec![Blank, Tell(GRAN, NotShown::Privacy)]
        );
        assert_eq!(picture.start(TOM, true), vec![Tell(TOM, NotShown::Privacy)]);
        // Privacy off does not bring anyone back by itself.
        assert_eq!(picture.privacy(false), vec![]);
        assert_eq!(picture.shown(), None);
        assert_eq!(picture.start(TOM, true), vec![Show(TOM)]);
    }

    #[test]
    fn the_owner_ends_it_with_a_button_and_a_withdrawn_permission_ends_it_too() {
        let mut picture = IncomingPicture::new(false);
        assert_eq!(picture.end_pressed(), vec![]);
        picture.start(GRAN, true);
        assert_eq!(
            picture.end_pressed(),
            vec![Blank, Tell(GRAN, NotShown::EndedByOwner)]
        );
        picture.start(TOM, true);
        assert_eq!(picture.withdrawn(GRAN), vec![]);
        assert_eq!(
            picture.withdrawn(TOM),
            vec![Blank, Tell(TOM, NotShown::NotAllowed)]
        );
    }

    #[test]
    fn every_reason_has_a_code_and_words() {
        for why in [
            NotShown::NotAllowed,
            NotShown::Privacy,
            NotShown::EndedByOwner,
            NotShown::Replaced,
        ] {
            assert!(!why.code().is_empty() && why.message().ends_with('.'));
        }
    }
}
