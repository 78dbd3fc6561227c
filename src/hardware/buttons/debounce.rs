//! Turning a bouncing contact into presses and long presses, as a pure function of
//! timestamped edges.
//!
//! A mechanical button does not close once: it chatters for a few milliseconds. A level
//! only counts once it has held for `debounce`; a short spike (interference on a long
//! wire) never counts. A hold of `long_press` or more is a long press, reported the moment
//! it is reached (the user gets feedback while still holding); releasing after it reports
//! nothing more. A shorter hold is a press, reported on release.
//!
//! [`ButtonMachine`] is fed edges and "now" ticks by whatever reads the pins; time is a
//! [`Duration`] on any monotonic clock, so tests replay recorded timings exactly.

use std::time::Duration;

/// What a button did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Pressed and released before the long-press time.
    Press,
    /// Held down for the long-press time (reported while still held).
    LongPress,
}

/// One change of the raw pin level, already corrected for polarity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// When it happened.
    pub at: Duration,
    /// True if the contact is now closed (button down).
    pub pressed: bool,
}

/// Timing of the debouncer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long a level must hold to count.
    pub debounce: Duration,
    /// How long a hold must last to be a long press.
    pub long_press: Duration,
}

impl Default for Timing {
    /// 30 ms debounce, 1 s long press (the config defaults).
    fn default() -> Self {
        Timing {
            debounce: Duration::from_millis(30),
            long_press: Duration::from_millis(1000),
        }
    }
}

/// Debounce and long-press detection for one button.
#[derive(Debug, Clone)]
pub struct ButtonMachine {
    timing: Timing,
    /// Last raw level seen, and since when.
    raw: bool,
    raw_since: Duration,
    /// The accepted (debounced) level, and when the accepted press began.
    stable: bool,
    pressed_at: Duration,
    long_reported: bool,
}

impl ButtonMachine {
    /// A released button.
    pub fn new(timing: Timing) -> Self {
        ButtonMachine {
            timing,
            raw: false,
            raw_since: Duration::ZERO,
            stable: false,
            pressed_at: Duration::ZERO,
            long_reported: false,
        }
    }

    /// Feeds one raw edge; returns what became certain up to its time. Edges must come
    /// in time order; a repeated level is ignored.
    pub fn edge(&mut self, edge: Edge) -> Vec<(Duration, Action)> {
        let out = self.tick(edge.at);
        if edge.pressed != self.raw {
            self.raw = edge.pressed;
            self.raw_since = edge.at;
        }
        out
    }

    /// Advances time to `now` without an edge; returns what became certain meanwhile
    /// (a debounced release, or a long press reached while held).
    pub fn tick(&mut self, now: Duration) -> Vec<(Duration, Action)> {
        let mut out = Vec::new();
        // A raw level that has held for the debounce time becomes the accepted level.
        if self.raw != self.stable && now >= self.raw_since + self.timing.debounce {
            self.stable = self.raw;
            if self.stable {
                self.pressed_at = self.raw_since;
                self.long_reported = false;
            } else {
                let released_at = self.raw_since;
                // A long press reached before the release was reported by an earlier tick,
                // or is reported here if nobody ticked in between.
                self.report_long(released_at, &mut out);
                if !self.long_reported {
                    out.push((released_at + self.timing.debounce, Action::Press));
                }
            }
        }
        if self.stable {
            self.report_long(now, &mut out);
        }
        out
    }

    /// When `tick` should next be called to report a long press on time, if a press is
    /// in progress.
    pub fn next_deadline(&self) -> Option<Duration> {
        if self.raw != self.stable {
            return Some(self.raw_since + self.timing.debounce);
        }
        (self.stable && !self.long_reported).then(|| self.pressed_at + self.timing.long_press)
    }

    /// Whether the button is (debounced) down.
    pub fn is_down(&self) -> bool {
        self.stable
    }

    fn report_long(&mut self, until: Duration, out: &mut Vec<(Duration, Action)>) {
        let due = self.pressed_at + self.timing.long_press;
        if !self.long_reported && until >= due {
            self.long_reported = true;
            out.push((due, Action::LongPress));
        }
    }
}

/// Runs a whole recording: every edge in order, then time advanced to `until`.
pub fn actions_from_edges(
    timing: Timing,
    edges: &[Edge],
    until: Duration,
) -> Vec<(Duration, Action)> {
    let mut machine = ButtonMachine::new(timing);
    let mut out = Vec::new();
    for edge in edges {
        out.extend(machine.edge(*edge));
    }
    out.extend(machine.tick(until));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn edges(list: &[(u64, bool)]) -> Vec<Edge> {
        list.iter()
            .map(|&(t, pressed)| Edge { at: ms(t), pressed })
            .collect()
    }

    #[test]
    fn a_clean_tap_is_one_press_on_release() {
        let out = actions_from_edges(
            Timing::default(),
            &edges(&[(100, true), (250, false)]),
            ms(2000),
        );
        assert_eq!(out, vec![(ms(280), Action::Press)]);
    }

    #[test]
    fn a_spike_shorter_than_the_debounce_is_ignored() {
        let out = actions_from_edges(
            Timing::default(),
            &edges(&[(100, true), (110, false)]),
            ms(2000),
        );
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn a_long_press_is_reported_while_held_and_only_once() {
        let timing = Timing::default();
        let mut m = ButtonMachine::new(timing);
        assert!(m
            .edge(Edge {
                at: ms(0),
                pressed: true
            })
            .is_empty());
        assert_eq!(m.next_deadline(), Some(ms(30)));
        assert!(m.tick(ms(500)).is_empty());
        assert_eq!(m.next_deadline(), Some(ms(1000)));
        assert_eq!(m.tick(ms(1010)), vec![(ms(1000), Action::LongPress)]);
        assert!(m.tick(ms(1500)).is_empty());
        assert!(m
            .edge(Edge {
                at: ms(3000),
                pressed: false
            })
            .is_empty());
        assert!(m.tick(ms(4000)).is_empty(), "no press after a long press");
        assert!(!m.is_down());
    }
}
