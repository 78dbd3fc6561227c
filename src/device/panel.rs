//! The device's panel: its buttons, its "live" LED and its screen, wired to
//! the device. PRIVACY toggles the privacy switch; SNAPSHOT shares the
//! camera's frame with every contact allowed `snapshots`; YES/NO approve or
//! refuse the oldest pairing request. The screen always shows privacy and who
//! is watching (PRIVATE / ready / live), and each share as it arrives; the LED
//! is lit while anyone receives the camera or microphone.

use super::shares::ShareRequest;
use super::Device;
use crate::config::Config;
use crate::contacts::ContactStatus;
use crate::hardware::buttons::{open_buttons, socket_path, Action, Button, ButtonEvent};
use crate::hardware::display::open_display;
use crate::hardware::display::screen::{Home, Network, Received, Screen};
use crate::hardware::led::{open_led, LiveIndicator, LiveState};
use crate::hardware::{Board, HardwareError};
use crate::privacy::PrivacyInput;
use crate::share::ShareKind;
use std::path::Path;
use std::time::Duration;

/// How long a note (snapshot sent, share received, error) stays on screen.
const NOTE_TIME: Duration = Duration::from_secs(5);

/// What the screen shows, so it is redrawn only when that changes.
#[derive(Default)]
struct Shown {
    last: Option<Screen>,
    note: Option<(Screen, tokio::time::Instant)>,
}

impl Device {
    /// Opens the buttons, LED and screen `config` asks for (simulated ones on
    /// a laptop; `hearth press BUTTON` presses from another shell) and runs
    /// them until the device stops.
    pub fn start_panel(&self, config: &Config, data_dir: &Path) -> Result<(), HardwareError> {
        let board = Board::load(&config.board.profile)?;
        let mut buttons = open_buttons(config, &board, &socket_path(data_dir))?;
        let mut led = open_led(config, &board)?;
        let mut display = open_display(config, &board, data_dir)?;
        let device = self.handles();
        let mut stopped = self.stop.subscribe();
        tokio::spawn(async move {
            let mut privacy = device.privacy_changes();
            let mut received = device.received_shares();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut shown = Shown::default();
            loop {
                let note = tokio::select! {
                    _ = async { let _ = stopped.wait_for(|s| *s).await; } => break,
                    event = buttons.recv() => match event {
                        Some(event) => device.on_button(event).await,
                        None => break,
                    },
                    _ = privacy.changed() => None,
                    share = received.recv() => share.ok().map(|n| Screen::Received {
                        from: n.from,
                        content: Received::Text(match n.kind {
                            ShareKind::Thought => "sent a thought".into(),
                            kind => format!("sent a {}", kind.name()),
                        }),
                    }),
                    _ = tick.tick() => None,
                };
                if let Some(note) = note {
                    shown.note = Some((note, tokio::time::Instant::now() + NOTE_TIME));
                }
                if shown
                    .note
                    .as_ref()
                    .is_some_and(|(_, until)| *until <= tokio::time::Instant::now())
                {
                    shown.note = None;
                }
                let note = shown.note.as_ref().map(|(screen, _)| screen.clone());
                let screen = device.refresh(&mut led, note);
                if shown.last.as_ref() != Some(&screen) {
                    if let Err(e) = display.show(&screen) {
                        tracing::warn!(error = %e, "the screen could not be drawn");
                    }
                    shown.last = Some(screen);
                }
            }
        });
        Ok(())
    }

    fn handles(&self) -> Device {
        Device {
            node: self.node.clone(),
            media: self.media.clone(),
            http_addr: self.http_addr,
            calls: self.calls.clone(),
            control: self.control.clone(),
            stop: self.stop.clone(),
        }
    }

    /// What a button does; returns a screen to show for a moment, if any.
    async fn on_button(&self, event: ButtonEvent) -> Option<Screen> {
        if event.action != Action::Press {
            return None;
        }
        match event.button {
            Button::Privacy => match self.privacy(PrivacyInput::Press) {
                Ok(_) => None,
                Err(e) => Some(Screen::Error {
                    message: e.to_string(),
                }),
            },
            Button::Snapshot => {
                let request = ShareRequest {
                    kind: ShareKind::Snapshot,
                    text: String::new(),
                    photo: None,
                    to: vec![],
                };
                Some(match self.share(request).await {
                    Ok(receipt) => Screen::SnapshotSent {
                        delivered: 0,
                        total: receipt.audience.len() as u32,
                    },
                    Err(e) => Screen::Error {
                        message: e.to_string(),
                    },
                })
            }
            Button::Yes | Button::No => {
                let approve = event.button == Button::Yes;
                let pending = self.node.contacts().with(|book| {
                    book.iter()
                        .find(|c| c.status == ContactStatus::Pending)
                        .map(|c| c.key.to_string())
                })?;
                let result = self
                    .node
                    .contacts()
                    .update(move |book| match approve {
                        true => book
                            .find_mut(&pending)
                            .map(|c| c.status = ContactStatus::Approved),
                        false => book.remove(&pending).map(|_| ()),
                    })
                    .await;
                match result {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(Screen::Error {
                        message: e.to_string(),
                    }),
                    Err(e) => Some(Screen::Error {
                        message: e.to_string(),
                    }),
                }
            }
        }
    }

    /// Brings the LED up to date and says what the screen should show: `note`
    /// if given, else a pairing request waiting for YES/NO, else home
    /// (PRIVATE / who is watching).
    fn refresh(&self, led: &mut LiveIndicator, note: Option<Screen>) -> Screen {
        let private = self.control.privacy.is_on();
        let (video, audio) = self.calls.live_counts();
        let live = match private {
            true => LiveState::default(),
            false => LiveState {
                video_viewers: video,
                audio_listeners: audio,
            },
        };
        if let Err(e) = led.update(live) {
            tracing::warn!(error = %e, "the LED could not be set");
        }
        let waiting = self.node.contacts().with(|book| {
            book.iter()
                .find(|c| c.status == ContactStatus::Pending)
                .map(|c| c.name.clone())
        });
        note.unwrap_or_else(|| match waiting {
            Some(name) => Screen::Approval { name },
            None => Screen::Home(Home {
                private,
                watchers: if private { vec![] } else { self.watchers() },
                network: match self.node.relay_connected() {
                    true => Network::Online,
                    false => Network::Offline,
                },
            }),
        })
    }
}
