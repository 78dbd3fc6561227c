//! The device's own face: buttons, the LIVE LED and the screen. The screen
//! always says whether the device is private and who is watching; the LED is
//! lit whenever the camera or microphone is live to anyone; the buttons turn
//! privacy on and off and answer pairing requests.

use super::calls::Calls;
use crate::config::Config;
use crate::contacts::{ContactBook, ContactStatus};
use crate::hardware::buttons::{self, Action, Button, ButtonEvent};
use crate::hardware::display::{self, Display, Home, Network, Screen};
use crate::hardware::led::{self, LiveState};
use crate::hardware::Board;
use crate::node::Node;
use crate::rtc::LocalMedia;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the screen and LED are brought up to date.
const REFRESH: Duration = Duration::from_millis(100);

/// What the screen should show now (pure): a pending pairing request first,
/// then the pairing code while nobody is approved yet, else home.
pub fn screen_for(book: &ContactBook, home: Home, device_name: &str, link: &str) -> Screen {
    if let Some(pending) = book.iter().find(|c| c.status == ContactStatus::Pending) {
        return Screen::Approval {
            name: pending.name.clone(),
        };
    }
    if !book.iter().any(|c| c.status == ContactStatus::Approved) {
        return Screen::Pairing {
            device_name: device_name.to_string(),
            code: link.to_string(),
        };
    }
    Screen::Home(home)
}

/// Everything the panel drives.
pub(super) struct Panel {
    pub config: Config,
    pub node: Node,
    pub calls: Arc<Calls>,
    pub media: LocalMedia,
}

impl Panel {
    /// Runs until `stopped`. Missing hardware is logged and left out; the rest keeps working.
    pub(super) async fn run(self, data_dir: &Path, mut stopped: watch::Receiver<bool>) {
        let board = match Board::load(&self.config.board.profile) {
            Ok(board) => board,
            Err(e) => return tracing::error!(error = %e, "no buttons, LED or screen"),
        };
        let socket = buttons::socket_path(data_dir);
        let mut buttons = buttons::open_buttons(&self.config, &board, &socket)
            .map_err(|e| tracing::error!(error = %e, "buttons unavailable"))
            .ok();
        let mut led = led::open_led(&self.config, &board)
            .map_err(|e| tracing::error!(error = %e, "LED unavailable"))
            .ok();
        let mut screen: Option<Box<dyn Display>> =
            display::open_display(&self.config, &board, data_dir)
                .map_err(|e| tracing::error!(error = %e, "screen unavailable"))
                .ok();
        let code = self.node.contact_code().to_text();
        let link = crate::web::viewer_link(&crate::web::viewer_page(&self.config), &code);
        let mut shown: Option<Screen> = None;
        loop {
            tokio::select! {
                _ = until_stopped(&mut stopped) => return,
                event = async { buttons.as_mut()?.recv().await }, if buttons.is_some() => match event {
                    Some(event) => self.on_button(event).await,
                    None => buttons = None,
                },
                _ = tokio::time::sleep(REFRESH) => {}
            }
            let (video_viewers, audio_listeners) = self.calls.live_counts();
            if let Some(led) = led.as_mut() {
                if let Err(e) = led.update(LiveState {
                    video_viewers,
                    audio_listeners,
                }) {
                    tracing::warn!(error = %e, "LED update failed");
                }
            }
            let home = Home {
                private: self.media.is_private(),
                watchers: self.calls.watchers(),
                network: if self.node.relay_connected() {
                    Network::Online
                } else {
                    Network::Connecting
                },
            };
            let next = self
                .node
                .contacts()
                .with(|book| screen_for(book, home, &self.config.name, &link));
            if shown.as_ref() != Some(&next) {
                if let Some(display) = screen.as_mut() {
                    if let Err(e) = display.show(&next) {
                        tracing::warn!(error = %e, "screen update failed");
                    }
                }
                shown = Some(next);
            }
        }
    }

    async fn on_button(&self, event: ButtonEvent) {
        tracing::info!(button = ?event.button, action = ?event.action, "button");
        match (event.button, event.action) {
            (Button::Privacy, Action::Press) => self.media.set_private(!self.media.is_private()),
            (Button::Yes, Action::Press) => self.decide_pending(true).await,
            (Button::No, Action::Press) => self.decide_pending(false).await,
            (Button::Snapshot, _) => tracing::info!("snapshots are not shared yet"),
            _ => {}
        }
    }

    /// Approves or refuses the oldest pairing request; the requester is told
    /// by the pairing watcher, as when the owner uses `hearth contacts`.
    async fn decide_pending(&self, approve: bool) {
        let result = self
            .node
            .contacts()
            .update(|book| {
                let pending = book
                    .iter()
                    .find(|c| c.status == ContactStatus::Pending)?
                    .key
                    .to_string();
                if approve {
                    book.find_mut(&pending).ok()?.status = ContactStatus::Approved;
                } else {
                    book.remove(&pending).ok()?;
                }
                Some(pending)
            })
            .await;
        match result {
            Ok(Some(_)) => tracing::info!(approve, "pairing request answered with the buttons"),
            Ok(None) => tracing::debug!("no pairing request waiting"),
            Err(e) => tracing::error!(error = %e, "could not store the decision"),
        }
    }
}

async fn until_stopped(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await.is_ok();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    fn home() -> Home {
        Home {
            private: false,
            watchers: vec![],
            network: Network::Online,
        }
    }

    #[test]
    fn pending_request_then_pairing_code_then_home() {
        let mut book = ContactBook::default();
        assert!(matches!(
            screen_for(&book, home(), "Kitchen", "link"),
            Screen::Pairing { .. }
        ));
        book.upsert(
            &Identity::generate().contact_code("Gran", &[]),
            ContactStatus::Approved,
        );
        assert!(matches!(
            screen_for(&book, home(), "Kitchen", "link"),
            Screen::Home(_)
        ));
        book.upsert(
            &Identity::generate().contact_code("Dad", &[]),
            ContactStatus::Pending,
        );
        assert_eq!(
            screen_for(&book, home(), "Kitchen", "link"),
            Screen::Approval { name: "Dad".into() }
        );
    }
}
