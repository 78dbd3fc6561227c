//! What the panel shows, as plain state: [`PanelView::handle`] takes one
//! device event and the time, and answers what the LED and the screen should
//! be. The rules: the LED is lit while anyone receives the camera or the
//! microphone (never while privacy is on); the screen shows a note if one is
//! up ([`super::panel_notes`]), else a pairing request waiting for YES/NO,
//! else a contact's picture (issue #16) under a LIVE band while anyone watches
//! — never while privacy is on —, else — while nobody is approved yet and
//! privacy is off — the pairing code (or the relay it cannot reach), else
//! home: PRIVATE or who is watching.
//! No I/O: the async loop in [`super::panel`] gathers events and draws.

use super::deliveries::Outgoing;
use super::panel_notes::{Note, Notes};
use crate::hardware::display::screen::{Home, Screen};
use crate::hardware::led::LiveState;
use crate::hardware::picture::ShownPicture;
use crate::node::RelayStatus;
use std::time::Duration;
use tokio::time::Instant;

/// What the device is like now, as far as the panel cares.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Facts {
    /// Privacy is on.
    pub private: bool,
    /// Sessions receiving the camera, and the microphone.
    pub live: (usize, usize),
    /// Names of the contacts receiving the camera or microphone.
    pub watchers: Vec<String>,
    /// The oldest pairing request waiting for the owner, by name.
    pub waiting: Option<String>,
    /// Nobody is approved yet (first boot).
    pub nobody_yet: bool,
    /// Whether the relay is reached.
    pub relay: RelayStatus,
    /// The relay this device uses, for the screen that says it is unreachable.
    pub relay_url: String,
}

/// One thing that happened, for the panel.
#[derive(Debug)]
pub(super) enum PanelEvent {
    /// The device changed (privacy, sessions, contacts, relay); these are its facts now.
    Facts(Facts),
    /// Put up a note: a share that arrived, a refused press, a full inbox.
    Note(Note),
    /// Something happened to one of this device's shares.
    Outgoing(Outgoing),
    /// A contact's picture for the small screen (`None`: taken off).
    Picture(Option<ShownPicture>),
    /// Time passed.
    Tick,
}

/// The panel's state: the latest facts and the note up now.
pub(super) struct PanelView {
    facts: Facts,
    notes: Notes,
    pairing: Screen,
    picture: Option<ShownPicture>,
}

impl PanelView {
    /// A panel whose notes stay up for `note_time`; `pairing` is the screen
    /// with this device's code.
    pub(super) fn new(facts: Facts, note_time: Duration, pairing: Screen) -> Self {
        PanelView {
            facts,
            notes: Notes::new(note_time),
            pairing,
            picture: None,
        }
    }

    /// Takes `event` at `now`; answers what the LED and the screen show.
    pub(super) fn handle(&mut self, event: PanelEvent, now: Instant) -> (LiveState, Screen) {
        match event {
            PanelEvent::Facts(facts) => self.facts = facts,
            PanelEvent::Note(note) => self.notes.show(note, now),
            PanelEvent::Outgoing(event) => self.notes.outgoing(&event, now),
            PanelEvent::Picture(picture) => self.picture = picture,
            PanelEvent::Tick => {}
        }
        (self.led(), self.screen(now))
    }

    fn led(&self) -> LiveState {
        match self.facts.private {
            true => LiveState::default(),
            false => LiveState {
                video_viewers: self.facts.live.0,
                audio_listeners: self.facts.live.1,
            },
        }
    }

    fn screen(&mut self, now: Instant) -> Screen {
        let facts = &self.facts;
        if let Some(note) = self.notes.current(now) {
            return note;
        }
        let picture = self.picture.as_ref().filter(|_| !facts.private);
        match &facts.waiting {
            Some(name) => Screen::Approval { name: name.clone() },
            None if picture.is_some() => {
                let shown = picture.expect("checked").clone();
                Screen::Picture {
                    from: shown.from,
                    picture: shown.picture,
                    watchers: facts.watchers.clone(),
                }
            }
            // First boot: nobody approved yet, so show the code to pair with
            // (unless privacy is on: then PRIVATE is what matters).
            None if facts.nobody_yet && !facts.private => {
                super::panel_relay::first_boot(facts.relay, &self.pairing, &facts.relay_url)
            }
            None => Screen::Home(Home {
                private: facts.private,
                watchers: if facts.private {
                    vec![]
                } else {
                    facts.watchers.clone()
                },
                network: super::panel_relay::network(facts.relay),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hardware::display::screen::Network;
    use crate::hardware::led::should_be_lit;

    fn facts() -> Facts {
        Facts {
            private: false,
            live: (0, 0),
            watchers: vec![],
            waiting: None,
            nobody_yet: false,
            relay: RelayStatus::Connected,
            relay_url: "wss://relay.example/relay".into(),
        }
    }

    fn pairing() -> Screen {
        Screen::Pairing {
            device_name: "Kitchen".into(),
            code: "https://relay.example/#c=hearth1.x".into(),
        }
    }

    fn view() -> PanelView {
        PanelView::new(facts(), Duration::from_secs(8), pairing())
    }

    fn home(private: bool, watchers: &[&str], network: Network) -> Screen {
        Screen::Home(Home {
            private,
            watchers: watchers.iter().map(|w| w.to_string()).collect(),
            network,
        })
    }

    #[test]
    fn the_led_and_home_follow_who_watches_and_privacy() {
        let now = Instant::now();
        let mut panel = view();
        let (led, screen) = panel.handle(PanelEvent::Tick, now);
        assert!(!should_be_lit(led));
        assert_eq!(screen, home(false, &[], Network::Online));

        let watched = Facts {
            live: (1, 1),
            watchers: vec!["Gran".into()],
            ..facts()
        };
        let (led, screen) = panel.handle(PanelEvent::Facts(watched.clone()), now);
        assert!(should_be_lit(led));
        assert_eq!(screen, home(false, &["Gran"], Network::Online));

        // Privacy on: dark and PRIVATE, even if a session is still counted.
        let private = Facts {
            private: true,
            ..watched
        };
        let (led, screen) = panel.handle(PanelEvent::Facts(private), now);
        assert!(!should_be_lit(led));
        assert_eq!(screen, home(true, &[], Network::Online));
    }

    #[test]
    fn a_waiting_request_then_the_first_boot_code_then_home() {
        let now = Instant::now();
        let mut panel = view();
        let first_boot = Facts {
            nobody_yet: true,
            ..facts()
        };
        let waiting = Facts {
            waiting: Some("Gran".into()),
            ..first_boot.clone()
        };
        let (_, screen) = panel.handle(PanelEvent::Facts(waiting), now);
        assert_eq!(
            screen,
            Screen::Approval {
                name: "Gran".into()
            }
        );
        let (_, screen) = panel.handle(PanelEvent::Facts(first_boot.clone()), now);
        assert_eq!(screen, pairing());
        let unreachable = Facts {
            relay: RelayStatus::Unreachable,
            ..first_boot.clone()
        };
        let (_, screen) = panel.handle(PanelEvent::Facts(unreachable), now);
        assert_eq!(
            screen,
            Screen::RelayUnreachable {
                relay: "relay.example".into()
            }
        );
        let private = Facts {
            private: true,
            ..first_boot
        };
        let (_, screen) = panel.handle(PanelEvent::Facts(private), now);
        assert_eq!(screen, home(true, &[], Network::Online), "PRIVATE first");
    }

    fn gran_on_screen() -> ShownPicture {
        let rgb = vec![200; 24 * 18 * 3];
        ShownPicture {
            from: "Gran".into(),
            picture: crate::hardware::display::Thumbnail::new(24, 18, rgb).unwrap(),
        }
    }

    #[test]
    fn a_contact_picture_shows_under_live_and_never_while_private() {
        let now = Instant::now();
        let mut panel = view();
        let (_, screen) = panel.handle(PanelEvent::Picture(Some(gran_on_screen())), now);
        let Screen::Picture { from, watchers, .. } = screen else {
            panic!("the picture is on the screen: {screen:?}");
        };
        assert_eq!((from.as_str(), watchers.len()), ("Gran", 0));
        // Someone watches this device: LIVE over the picture, and the LED.
        let watched = Facts {
            live: (1, 0),
            watchers: vec!["Tom".into()],
            ..facts()
        };
        let (led, screen) = panel.handle(PanelEvent::Facts(watched.clone()), now);
        assert!(should_be_lit(led));
        assert!(
            matches!(&screen, Screen::Picture { watchers, .. } if watchers == &["Tom".to_string()]),
            "{screen:?}"
        );
        // Privacy on: PRIVATE, never the picture (even before it is taken off).
        let private = Facts {
            private: true,
            ..watched
        };
        let (_, screen) = panel.handle(PanelEvent::Facts(private), now);
        assert_eq!(screen, home(true, &[], Network::Online));
        // Taken off: home again.
        panel.handle(PanelEvent::Facts(facts()), now);
        let (_, screen) = panel.handle(PanelEvent::Picture(None), now);
        assert_eq!(screen, home(false, &[], Network::Online));
    }

    #[test]
    fn a_note_stays_up_for_its_time_then_the_resting_screen_returns() {
        let start = Instant::now();
        let mut panel = view();
        let problem = Screen::Error {
            message: "the inbox is full".into(),
        };
        let (_, screen) = panel.handle(PanelEvent::Note(Note::Show(problem.clone())), start);
        assert_eq!(screen, problem);
        // A pairing request arriving does not hide the note before its time.
        let waiting = Facts {
            waiting: Some("Gran".into()),
            ..facts()
        };
        let (_, screen) = panel.handle(PanelEvent::Facts(waiting), start + Duration::from_secs(7));
        assert_eq!(screen, problem);
        let (_, screen) = panel.handle(PanelEvent::Tick, start + Duration::from_secs(9));
        assert_eq!(
            screen,
            Screen::Approval {
                name: "Gran".into()
            }
        );
    }
}
