//! A contact's picture on the device (issue #16; work in progress, not
//! wired to privacy or the buttons yet): every caller that sends video is
//! taken, and [`IncomingPicture`] decides whose frames are decoded and shown.
//!
//! Each incoming picture runs on its own thread: frames are decoded
//! (openh264) only while that contact is the one shown and holds
//! `show_on_device` at that frame, then composed onto the output. The
//! simulated output writes PNG frames under `<data>/picture/`.

use super::Environment;
use crate::api::PeerConnection;
use crate::device::incoming_picture::{IncomingPicture, NotShown, PictureAction};
use crate::hardware::picture::{PictureOutput, PngPictureOutput};
use crate::keys::PeerKey;
use crate::live_contacts::LiveContacts;
use crate::media::H264Decoder;
use crate::peer::VideoFrame;
use crate::policy::show_on_device::may_show_on_device;
use embedded_graphics::prelude::Size;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// The simulated output's size.
const SIMULATED: Size = Size::new(640, 480);

/// The output and who is on it, shared by every call.
pub(super) struct PictureHub {
    output: Mutex<Option<Box<dyn PictureOutput>>>,
    state: Mutex<IncomingPicture>,
    contacts: LiveContacts,
    /// The sessions that sent a picture, to tell them why it is not shown.
    sessions: Mutex<HashMap<PeerKey, PeerConnection>>,
}

impl PictureHub {
    /// Opens the simulated output under `<data>/picture`. One that cannot
    /// be opened is logged and incoming pictures are not shown.
    pub(super) fn open(env: &Environment, contacts: LiveContacts, private: bool) -> Self {
        let output: Option<Box<dyn PictureOutput>> =
            match PngPictureOutput::new(&env.data_dir.join("picture"), SIMULATED) {
                Ok(output) => Some(Box::new(output)),
                Err(e) => {
                    tracing::error!(error = %e, "no output for incoming pictures");
                    None
                }
            };
        PictureHub {
            output: Mutex::new(output),
            state: Mutex::new(IncomingPicture::new(private)),
            contacts,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Shows `contact`'s (`name`) `video` while the rules allow, until it
    /// ends; then takes it off.
    pub(super) fn watch(
        self: Arc<Self>,
        contact: PeerKey,
        name: String,
        mut video: mpsc::Receiver<VideoFrame>,
        connection: PeerConnection,
    ) {
        self.sessions
            .lock()
            .expect("sessions lock")
            .insert(contact, connection);
        let allowed = self.may_show(&contact);
        let actions = self
            .state
            .lock()
            .expect("state lock")
            .start(contact, allowed);
        self.carry_out(actions, &name);
        std::thread::spawn(move || {
            let mut decoder = match H264Decoder::new() {
                Ok(decoder) => decoder,
                Err(e) => {
                    tracing::warn!(error = %e, "no H.264 decoder for an incoming picture");
                    return;
                }
            };
            while let Some(frame) = video.blocking_recv() {
                if !self.may_show(&contact) {
                    let actions = self.state.lock().expect("state lock").withdrawn(contact);
                    self.carry_out(actions, &name);
                    continue;
                }
                if self.state.lock().expect("state lock").shown() != Some(contact) {
                    continue;
                }
                match decoder.decode(&frame.data) {
                    Ok(Some(picture)) => {
                        if let Some(output) = self.output.lock().expect("output lock").as_mut() {
                            if let Err(e) = output.show(&picture, &name) {
                                tracing::warn!(error = %e, "could not show an incoming picture");
                            }
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::debug!(error = %e, "an incoming frame did not decode"),
                }
            }
            let actions = self.state.lock().expect("state lock").stop(contact);
            self.carry_out(actions, &name);
            self.sessions
                .lock()
                .expect("sessions lock")
                .remove(&contact);
        });
    }

    /// Whether `contact` holds `show_on_device` now; read in place, as it
    /// is asked for every frame.
    fn may_show(&self, contact: &PeerKey) -> bool {
        self.contacts.with(|book| may_show_on_device(book, contact))
    }

    /// Blanks the output and tells contacts, as `actions` say.
    fn carry_out(&self, actions: Vec<PictureAction>, name: &str) {
        for action in actions {
            match action {
                PictureAction::Show(_) => {
                    tracing::info!(contact = %name, "showing a contact's picture")
                }
                PictureAction::Blank => {
                    if let Some(output) = self.output.lock().expect("output lock").as_mut() {
                        if let Err(e) = output.clear() {
                            tracing::warn!(error = %e, "could not blank the picture");
                        }
                    }
                }
                PictureAction::Tell(who, why) => self.tell(who, why),
            }
        }
    }

    /// Tells `who` why their picture is not shown, on its data channel.
    fn tell(&self, who: PeerKey, why: NotShown) {
        let Some(connection) = self
            .sessions
            .lock()
            .expect("sessions lock")
            .get(&who)
            .cloned()
        else {
            return;
        };
        tracing::info!(contact = %who.short(), code = why.code(), "picture not shown");
        let message = json!({
            "type": "picture",
            "shown": false,
            "code": why.code(),
            "reason": why.message(),
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = connection.send_json(&message).await;
            });
        }
    }
}
