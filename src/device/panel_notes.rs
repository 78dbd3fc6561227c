//! The notes the screen shows for a while over its resting screen — a share
//! that arrived, one of this device's shares going out and how many contacts
//! have it, a problem — and how long each stays. Plain state with the time
//! passed in, so it is tested without waiting.

use super::deliveries::{Outgoing, Tally};
use crate::hardware::display::screen::Screen;
use crate::share::ShareKind;
use std::time::Duration;
use tokio::time::Instant;

/// What a button press or an event wants the screen to say.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Note {
    /// Show this screen for a while.
    Show(Screen),
    /// One of this device's shares went out (from the button, `hearth share`
    /// or the control socket): show "Delivered to n of m", counting the
    /// contacts that acknowledge it as they do.
    Delivery(Tally),
}

fn delivery_screen(tally: &Tally) -> Screen {
    let (delivered, total) = (tally.delivered(), tally.total());
    match tally.kind() {
        ShareKind::Thought => Screen::ThoughtSent { delivered, total },
        ShareKind::Snapshot | ShareKind::Photo => Screen::SnapshotSent { delivered, total },
    }
}

/// The note on screen now, if any, and until when.
pub(super) struct Notes {
    time: Duration,
    current: Option<(Screen, Instant, Option<Tally>)>,
}

impl Notes {
    /// Notes that stay up for `time`.
    pub(super) fn new(time: Duration) -> Self {
        Notes {
            time,
            current: None,
        }
    }

    /// Puts up a note (replacing the one up now).
    pub(super) fn show(&mut self, note: Note, now: Instant) {
        let until = now + self.time;
        self.current = Some(match note {
            Note::Show(screen) => (screen, until, None),
            Note::Delivery(tally) => (delivery_screen(&tally), until, Some(tally)),
        });
    }

    /// Something happened to one of this device's shares: a new one goes up
    /// with its count; a delivery of the one up counts, and keeps the note up
    /// for the full time again.
    pub(super) fn outgoing(&mut self, event: &Outgoing, now: Instant) {
        if let Outgoing::Queued { id, kind, audience } = event {
            let tally = Tally::new(id.clone(), *kind, audience.clone());
            return self.show(Note::Delivery(tally), now);
        }
        self.expire(now);
        let Some((screen, until, Some(tally))) = self.current.as_mut() else {
            return;
        };
        if !tally.apply(event) || !matches!(event, Outgoing::Delivered { .. }) {
            return;
        }
        *screen = delivery_screen(tally);
        *until = now + self.time;
    }

    /// The note to show at `now`, if one is still up.
    pub(super) fn current(&mut self, now: Instant) -> Option<Screen> {
        self.expire(now);
        self.current.as_ref().map(|(screen, _, _)| screen.clone())
    }

    fn expire(&mut self, now: Instant) {
        if self
            .current
            .as_ref()
            .is_some_and(|(_, until, _)| *until <= now)
        {
            self.current = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;
    use crate::keys::PeerKey;

    const TIME: Duration = Duration::from_secs(5);

    fn sent(delivered: u32, total: u32) -> Option<Screen> {
        Some(Screen::SnapshotSent { delivered, total })
    }

    fn queued(id: &str, audience: &[PeerKey]) -> Outgoing {
        Outgoing::Queued {
            id: id.into(),
            kind: ShareKind::Snapshot,
            audience: audience.iter().map(|k| (*k, k.short())).collect(),
        }
    }

    fn delivered(id: &str, to: PeerKey) -> Outgoing {
        Outgoing::Delivered { id: id.into(), to }
    }

    #[test]
    fn deliveries_count_once_each_and_keep_the_note_up() {
        let [gran, tom, ann]: [PeerKey; 3] =
            std::array::from_fn(|_| Identity::generate().peer_key());
        let start = Instant::now();
        let mut notes = Notes::new(TIME);
        notes.outgoing(&queued("a", &[gran, tom, ann]), start);
        assert_eq!(notes.current(start), sent(0, 3));
        notes.outgoing(&delivered("other share", gran), start);
        assert_eq!(notes.current(start), sent(0, 3));
        let later = start + Duration::from_secs(4);
        notes.outgoing(&delivered("a", gran), later);
        notes.outgoing(&delivered("a", gran), later);
        assert_eq!(notes.current(later), sent(1, 3), "a repeat counts once");
        // Past the first note time, kept up by the delivery at 4 s.
        let after = start + Duration::from_secs(8);
        assert_eq!(notes.current(after), sent(1, 3));
        let refused = Outgoing::Refused {
            id: "a".into(),
            to: ann,
            reason: "no".into(),
        };
        notes.outgoing(&refused, after);
        notes.outgoing(&delivered("a", tom), after);
        assert_eq!(
            notes.current(after),
            sent(2, 3),
            "a refusal is not a delivery"
        );
        assert_eq!(
            notes.current(after + TIME),
            None,
            "gone once deliveries stop"
        );
    }

    #[test]
    fn a_delivery_after_the_note_went_does_not_bring_it_back() {
        let gran = Identity::generate().peer_key();
        let start = Instant::now();
        let mut notes = Notes::new(TIME);
        notes.outgoing(&queued("a", &[gran]), start);
        notes.outgoing(&delivered("a", gran), start + TIME);
        assert_eq!(notes.current(start + TIME), None);
    }

    #[test]
    fn a_new_note_replaces_the_share_and_its_count() {
        let (gran, tom) = (
            Identity::generate().peer_key(),
            Identity::generate().peer_key(),
        );
        let start = Instant::now();
        let mut notes = Notes::new(TIME);
        notes.outgoing(&queued("a", &[gran, tom]), start);
        let problem = Screen::Error {
            message: "full".into(),
        };
        notes.show(Note::Show(problem.clone()), start);
        notes.outgoing(&delivered("a", gran), start);
        assert_eq!(notes.current(start), Some(problem.clone()));
        // A share made later (say by `hearth share`) goes up with its own count.
        notes.outgoing(&queued("b", &[tom]), start);
        notes.outgoing(&delivered("b", tom), start);
        assert_eq!(notes.current(start), sent(1, 1));
        // A thought is not called a photo.
        let thought = Outgoing::Queued {
            id: "c".into(),
            kind: ShareKind::Thought,
            audience: vec![(gran, "Gran".into())],
        };
        notes.outgoing(&thought, start);
        assert_eq!(
            notes.current(start),
            Some(Screen::ThoughtSent {
                delivered: 0,
                total: 1
            })
        );
    }
}
