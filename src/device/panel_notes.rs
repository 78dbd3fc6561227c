//! The notes the screen shows for a while over its resting screen — a share
//! that arrived, a snapshot going out and how many contacts have it, a
//! problem — and how long each stays. Plain state with the time passed in,
//! so it is tested without waiting.

use crate::hardware::display::screen::Screen;
use crate::keys::PeerKey;
use std::collections::HashSet;
use std::time::Duration;
use tokio::time::Instant;

/// What a button press or an event wants the screen to say.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Note {
    /// Show this screen for a while.
    Show(Screen),
    /// A snapshot went out to `total` contacts: show "Delivered to n of m",
    /// counting the acknowledgements of share `id` as they arrive.
    Snapshot {
        /// The share's id.
        id: String,
        /// Contacts in its audience.
        total: u32,
    },
}

/// Deliveries of the snapshot whose note is up.
struct Tally {
    id: String,
    total: u32,
    delivered: HashSet<PeerKey>,
}

impl Tally {
    fn screen(&self) -> Screen {
        Screen::SnapshotSent {
            delivered: self.delivered.len() as u32,
            total: self.total,
        }
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
            Note::Snapshot { id, total } => {
                let tally = Tally {
                    id,
                    total,
                    delivered: HashSet::new(),
                };
                (tally.screen(), until, Some(tally))
            }
        });
    }

    /// Share `id` reached `to`. If that snapshot's note is still up, its count
    /// goes up and the note stays up for the full time again.
    pub(super) fn delivered(&mut self, id: &str, to: PeerKey, now: Instant) {
        self.expire(now);
        let Some((screen, until, Some(tally))) = self.current.as_mut() else {
            return;
        };
        if tally.id != id || !tally.delivered.insert(to) {
            return;
        }
        *screen = tally.screen();
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

    const TIME: Duration = Duration::from_secs(5);

    fn sent(delivered: u32, total: u32) -> Option<Screen> {
        Some(Screen::SnapshotSent { delivered, total })
    }

    #[test]
    fn deliveries_count_once_each_and_keep_the_note_up() {
        let (gran, tom) = (
            Identity::generate().peer_key(),
            Identity::generate().peer_key(),
        );
        let start = Instant::now();
        let mut notes = Notes::new(TIME);
        notes.show(
            Note::Snapshot {
                id: "a".into(),
                total: 3,
            },
            start,
        );
        assert_eq!(notes.current(start), sent(0, 3));
        notes.delivered("other share", gran, start);
        assert_eq!(notes.current(start), sent(0, 3));
        let later = start + Duration::from_secs(4);
        notes.delivered("a", gran, later);
        notes.delivered("a", gran, later);
        assert_eq!(notes.current(later), sent(1, 3), "a repeat counts once");
        // Past the first note time, kept up by the delivery at 4 s.
        let after = start + Duration::from_secs(8);
        assert_eq!(notes.current(after), sent(1, 3));
        notes.delivered("a", tom, after);
        assert_eq!(notes.current(after), sent(2, 3));
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
        notes.show(
            Note::Snapshot {
                id: "a".into(),
                total: 1,
            },
            start,
        );
        notes.delivered("a", gran, start + TIME);
        assert_eq!(notes.current(start + TIME), None);
    }

    #[test]
    fn a_new_note_replaces_the_snapshot_and_its_count() {
        let gran = Identity::generate().peer_key();
        let start = Instant::now();
        let mut notes = Notes::new(TIME);
        notes.show(
            Note::Snapshot {
                id: "a".into(),
                total: 2,
            },
            start,
        );
        let problem = Screen::Error {
            message: "full".into(),
        };
        notes.show(Note::Show(problem.clone()), start);
        notes.delivered("a", gran, start);
        assert_eq!(notes.current(start), Some(problem));
    }
}
