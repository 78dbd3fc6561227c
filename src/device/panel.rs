//! The device's panel: its buttons, its "live" LED and its screen, wired to
//! the device. PRIVACY toggles the privacy switch; SNAPSHOT shares the
//! camera's frame with every contact allowed `snapshots`; YES/NO approve or
//! refuse the oldest pairing request; while a contact's picture is shown,
//! NO (or a long press of any button) takes it off the screen first. The
//! screen always shows privacy and who is watching (PRIVATE / ready / live);
//! for a while ([`super::panel_notes`])
//! each share as it arrives (a thought's text, a photo itself), each share of
//! this device going out — from the button or from `hearth share` — with how
//! many contacts have it so far, and problems such as a full inbox. The LED
//! is lit while anyone receives the camera or microphone. A press made with
//! `hearth press` is answered with what came of it (refused: why).

use super::blocking::off_the_workers;
use super::panel_notes::Note;
use super::panel_picture::PacedPicture;
use super::panel_view::{Facts, PanelEvent, PanelView};
use super::shares::{ReceivedNotice, ShareRequest};
use super::Device;
use super::Environment;
use crate::contacts::{ContactChange, ContactStatus, ContactsError};
use crate::hardware::buttons::{open_buttons, socket_path, Action, Button, ButtonEvent};
use crate::hardware::display::open_display;
use crate::hardware::display::screen::{Received, Screen};
use crate::hardware::display::Thumbnail;
use crate::hardware::led::open_led;
use crate::hardware::HardwareError;
use crate::privacy::PrivacyInput;
use crate::share::ShareKind;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

impl Device {
    /// Opens the buttons, LED and screen `config` asks for (simulated ones on
    /// a laptop; `hearth press BUTTON` presses from another shell) and runs
    /// them until the device stops.
    pub fn start_panel(&self) -> Result<(), HardwareError> {
        let Environment {
            config,
            data_dir,
            board,
            clock,
        } = &*self.env;
        let mut buttons = open_buttons(&config.buttons, board, &socket_path(data_dir))?;
        let mut led = open_led(&config.led, board)?;
        let mut display = open_display(&config.display, board, data_dir)?;
        let mut picture = PacedPicture::new(
            self.calls.picture.screen_feed(),
            display.size(),
            board.display.spi_hz,
        );
        let device = self.clone();
        let mut stopped = self.stop.subscribe();
        let code = self.node.contact_code();
        let pairing = super::panel_relay::pairing(config, &code.name, &code.to_text());
        let note_time = Duration::from_secs(config.display.note_secs.max(1));
        let tasks = self.tasks.clone();
        let clock = clock.clone();
        tasks.spawn("panel", async move {
            let mut privacy = device.privacy_changes();
            let mut sessions = device.calls.sessions_changed();
            let mut relay = device.node.relay_changes();
            let mut received = device.received_shares();
            let mut outgoing = device.control.shares.outgoing.subscribe();
            let mut inbox_full = device.control.shares.inbox_full.subscribe();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut view = PanelView::new(device.panel_facts(), note_time, pairing);
            let mut last: Option<Screen> = None;
            loop {
                let event = tokio::select! {
                    // In this order: a contact's picture comes last, so the
                    // buttons, LIVE and PRIVATE are never held up behind it.
                    biased;
                    _ = async { let _ = stopped.wait_for(|s| *s).await; } => break,
                    event = buttons.recv_answerable() => match event {
                        Some((event, reply)) => {
                            let result = device.on_button(event).await;
                            let shown = match &result {
                                Err(refusal) => {
                                    tracing::info!(button = %event.button, reason = %refusal.message, "a button press was refused");
                                    refusal.show.then(|| problem(&refusal.message))
                                }
                                Ok(()) => None,
                            };
                            if let Some(reply) = reply {
                                reply.answer(result.map_err(|r| r.message));
                            }
                            match shown {
                                Some(note) => PanelEvent::Note(note),
                                None => PanelEvent::Facts(device.panel_facts()),
                            }
                        }
                        None => break,
                    },
                    // Privacy, or someone started or stopped watching: the LED
                    // and the screen say so now, not on the next tick.
                    _ = privacy.changed() => PanelEvent::Facts(device.panel_facts()),
                    _ = sessions.changed() => PanelEvent::Facts(device.panel_facts()),
                    _ = relay.changed() => PanelEvent::Facts(device.panel_facts()),
                    share = received.recv() => match share {
                        Ok(notice) => PanelEvent::Note(Note::Show(received_screen(notice).await)),
                        Err(RecvError::Lagged(n)) => {
                            tracing::debug!(missed = n, "the screen skipped shares that arrived together");
                            PanelEvent::Tick
                        }
                        Err(RecvError::Closed) => break,
                    },
                    // Every share of this device, whoever made it: its count goes
                    // up as contacts acknowledge it.
                    event = outgoing.recv() => match event {
                        Ok(event) => PanelEvent::Outgoing(event),
                        Err(RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "the screen missed deliveries; its count may be low");
                            PanelEvent::Tick
                        }
                        Err(RecvError::Closed) => break,
                    },
                    changed = inbox_full.changed() => {
                        if changed.is_err() {
                            break;
                        }
                        match inbox_full.borrow_and_update().clone() {
                            Some(message) => PanelEvent::Note(Note::Show(Screen::Error { message })),
                            None => PanelEvent::Tick,
                        }
                    }
                    // Contacts (a pairing request) are read once a second.
                    _ = tick.tick() => PanelEvent::Facts(device.panel_facts()),
                    shown = picture.next() => PanelEvent::Picture(shown),
                };
                let (live, screen) = view.handle(event, clock.now());
                if let Err(e) = led.update(live) {
                    tracing::warn!(error = %e, "the LED could not be set");
                }
                if last.as_ref() != Some(&screen) {
                    // An SPI or I2C transfer: blocking.
                    if let Err(e) = off_the_workers(|| display.show(&screen)) {
                        tracing::warn!(error = %e, "the screen could not be drawn");
                    }
                    last = Some(screen);
                }
            }
        });
        Ok(())
    }

    /// What a button does. A snapshot that goes out shows its count through
    /// the shares' own announcement, like any share of this device.
    async fn on_button(&self, event: ButtonEvent) -> Result<(), Refusal> {
        // A long press of any button takes a contact's picture off the screen.
        if event.action != Action::Press {
            self.end_picture();
            return Ok(());
        }
        // So does NO while a picture is shown; otherwise NO refuses pairing.
        if event.button == Button::No && self.end_picture() {
            return Ok(());
        }
        match event.button {
            Button::Privacy => self
                .privacy(PrivacyInput::Press)
                .map(|_| ())
                .map_err(Refusal::shown),
            Button::Snapshot => {
                let request = ShareRequest {
                    kind: ShareKind::Snapshot,
                    text: String::new(),
                    photo: None,
                    to: vec![],
                };
                self.share(request)
                    .await
                    .map(|_| ())
                    .map_err(Refusal::shown)
            }
            Button::Yes | Button::No => {
                let change = match event.button {
                    Button::Yes => ContactChange::ApproveOldest,
                    _ => ContactChange::RefuseOldest,
                };
                match self.change_contacts(change).await {
                    Ok(_) => Ok(()),
                    // Nothing on screen asked: the screen stays as it is.
                    Err(e @ ContactsError::NothingPending) => Err(Refusal {
                        message: e.to_string(),
                        show: false,
                    }),
                    Err(e) => Err(Refusal::shown(e)),
                }
            }
        }
    }

    /// What the panel needs to know about the device now.
    fn panel_facts(&self) -> Facts {
        let (waiting, nobody_yet) = self.node.contacts().with(|book| {
            let waiting = book
                .iter()
                .find(|c| c.status == ContactStatus::Pending)
                .map(|c| c.name.clone());
            let nobody_yet = !book.iter().any(|c| c.status == ContactStatus::Approved);
            (waiting, nobody_yet)
        });
        Facts {
            private: self.control.privacy.is_on(),
            live: self.calls.live_counts(),
            watchers: self.watchers(),
            waiting,
            nobody_yet,
            relay: self.node.relay_status(),
            relay_url: self.node.relay_url().to_string(),
        }
    }
}

/// Why a press did nothing: the device's sentence, for `hearth press` and
/// (when `show`) for the screen.
struct Refusal {
    message: String,
    show: bool,
}

impl Refusal {
    fn shown(error: impl std::fmt::Display) -> Self {
        Refusal {
            message: error.to_string(),
            show: true,
        }
    }
}

fn problem(error: impl std::fmt::Display) -> Note {
    Note::Show(Screen::Error {
        message: error.to_string(),
    })
}

/// What the screen shows for a share that arrived: a thought's text, or the
/// photo itself. A photo that cannot be decoded (or read) is described in
/// words instead, with a log line; decoding runs off the panel's loop, so a
/// bad JPEG never stops it.
async fn received_screen(notice: ReceivedNotice) -> Screen {
    let content = match (notice.kind, notice.jpeg) {
        (ShareKind::Thought, _) | (_, None) => Received::Text(notice.text),
        (kind, Some(path)) => {
            let decoded = tokio::task::spawn_blocking(move || {
                let jpeg = std::fs::read(&path).map_err(|e| e.to_string())?;
                Thumbnail::from_jpeg(&jpeg).map_err(|e| e.to_string())
            })
            .await
            .unwrap_or_else(|_| Err("the decoder failed".into()));
            match decoded {
                Ok(photo) => Received::Photo(photo),
                Err(error) => {
                    tracing::warn!(from = %notice.from, kind = kind.name(), %error, "a received photo cannot be shown; the screen says so in words");
                    Received::Text(unshowable(kind, &notice.text))
                }
            }
        }
    };
    Screen::Received {
        from: notice.from,
        content,
    }
}

/// The words shown instead of a photo that cannot be decoded.
pub(super) fn unshowable(kind: ShareKind, text: &str) -> String {
    match text.trim() {
        "" => format!("sent a {} that cannot be shown", kind.name()),
        text => format!("sent a {} that cannot be shown: {text}", kind.name()),
    }
}
