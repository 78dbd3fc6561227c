//! A contact's picture on the device (issue #16): every caller that sends
//! video is taken, and [`IncomingPicture`] decides whose frames are decoded
//! and shown; the owner stays in charge (privacy, the NO button).
//!
//! Each incoming picture runs on its own thread: frames are decoded
//! (openh264) only while that contact is the one shown and holds
//! `show_on_device` at that frame, then composed onto the output. The state
//! lock is held while a frame goes out, so once privacy or the NO button has
//! blanked the output no frame of that contact follows. The caller is told
//! on its data channel when its picture is shown (with the size to send)
//! and when it is not, and why.

use super::Environment;
use crate::api::{PeerConnection, PictureNotice};
use crate::device::incoming_picture::{IncomingPicture, PictureAction};
use crate::hardware::picture::open::SIMULATED_HDMI;
use crate::hardware::picture::{open_picture_output, PictureFeed, PictureOutput};
use crate::keys::PeerKey;
use crate::live_contacts::LiveContacts;
use crate::media::H264Decoder;
use crate::peer::VideoFrame;
use crate::policy::show_on_device::may_show_on_device;
use crate::privacy::PrivacyGate;
use embedded_graphics::prelude::Size;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

/// The size a sender is asked for, so it sends no more than `output` can
/// show: 320×240 for a small screen, 640×480 up to a VGA output, 1280×720
/// for anything larger (an HDMI monitor).
pub fn send_size_for(output: Size) -> Size {
    if output.width <= 320 && output.height <= 320 {
        Size::new(320, 240)
    } else if output.width <= 640 && output.height <= 480 {
        Size::new(640, 480)
    } else {
        Size::new(1280, 720)
    }
}

/// The output and who is on it, shared by every call.
pub(super) struct PictureHub {
    /// Whose picture is shown; held while a frame goes to the output.
    state: Mutex<IncomingPicture>,
    output: Mutex<Option<Box<dyn PictureOutput>>>,
    /// When the output is the small screen: the picture the panel draws.
    screen: Option<PictureFeed>,
    /// What senders are asked to send.
    send_size: Size,
    contacts: LiveContacts,
    /// Each contact's latest session that sent a picture (numbered), to
    /// tell it about its picture; an older one ending leaves a newer alone.
    sessions: Mutex<HashMap<PeerKey, (u64, PeerConnection)>>,
    next_session: std::sync::atomic::AtomicU64,
    /// Messages to contacts, sent in order by one task on the runtime
    /// (decode threads are not on it).
    told: mpsc::UnboundedSender<(PeerConnection, String)>,
}

impl PictureHub {
    /// Opens the output `[picture]` asks for (HDMI, the small screen or
    /// nowhere: then contacts are told their picture is not shown). Called
    /// on the device's runtime; [`Privacy::add_gate`](crate::privacy::Privacy::add_gate)
    /// it so privacy takes the picture off.
    pub(super) fn open(env: &Environment, contacts: LiveContacts) -> Self {
        let opened = open_picture_output(
            &env.config.picture,
            &env.config.display,
            &env.board,
            &env.data_dir,
        );
        let send_size = send_size_for(opened.output.as_ref().map_or(SIMULATED_HDMI, |o| o.size()));
        PictureHub {
            state: Mutex::new(IncomingPicture::new(false)),
            output: Mutex::new(opened.output),
            screen: opened.feed,
            send_size,
            contacts,
            sessions: Mutex::new(HashMap::new()),
            next_session: 0.into(),
            told: spawn_teller(),
        }
    }

    /// What the panel draws when the picture goes on the small screen.
    pub(super) fn screen_feed(&self) -> Option<PictureFeed> {
        self.screen.clone()
    }

    /// Shows `contact`'s (`name`) `video` while the rules allow, until it
    /// ends; then takes it off.
    pub(super) fn watch(
        self: Arc<Self>,
        contact: PeerKey,
        name: String,
        video: mpsc::Receiver<VideoFrame>,
        connection: PeerConnection,
    ) {
        let mut video = until_closed(video, connection.clone());
        let session = self
            .next_session
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.sessions
            .lock()
            .expect("sessions lock")
            .insert(contact, (session, connection));
        let allowed = self.may_show(&contact);
        {
            let mut state = self.state();
            let actions = state.start(contact, allowed);
            self.carry_out(actions);
        }
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
                    let mut state = self.state();
                    let actions = state.withdrawn(contact);
                    self.carry_out(actions);
                    continue;
                }
                if self.state().shown() != Some(contact) {
                    continue;
                }
                let picture = match decoder.decode(&frame.data) {
                    Ok(Some(picture)) => picture,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::debug!(error = %e, "an incoming frame did not decode");
                        continue;
                    }
                };
                // Checked again under the lock: privacy or the NO button may
                // have blanked the output while this frame decoded.
                let state = self.state();
                if state.shown() != Some(contact) {
                    continue;
                }
                if let Some(output) = self.output.lock().expect("output lock").as_mut() {
                    if let Err(e) = output.show(&picture, &name) {
                        tracing::warn!(error = %e, "could not show an incoming picture");
                    }
                }
                drop(state);
            }
            // Unless a newer session of the same contact took over.
            let mut state = self.state();
            let mut sessions = self.sessions.lock().expect("sessions lock");
            if sessions
                .get(&contact)
                .is_some_and(|(latest, _)| *latest == session)
            {
                sessions.remove(&contact);
                drop(sessions);
                let actions = state.stop(contact);
                self.carry_out(actions);
            }
        });
    }

    /// The owner pressed NO (or held a button): the picture ends at once.
    /// Returns whether one was shown.
    pub(super) fn end_pressed(&self) -> bool {
        let mut state = self.state();
        let shown = state.shown().is_some();
        let actions = state.end_pressed();
        self.carry_out(actions);
        shown
    }

    /// The contact whose picture is shown now.
    pub(super) fn shown(&self) -> Option<PeerKey> {
        self.state().shown()
    }

    fn state(&self) -> MutexGuard<'_, IncomingPicture> {
        self.state.lock().expect("picture state lock")
    }

    /// Whether `contact` holds `show_on_device` now; read in place, as it
    /// is asked for every frame.
    fn may_show(&self, contact: &PeerKey) -> bool {
        self.contacts.with(|book| may_show_on_device(book, contact))
    }

    /// Blanks the output and tells contacts, as `actions` say. Called with
    /// the state lock held, so nothing is shown between a decision and
    /// its blanking.
    fn carry_out(&self, actions: Vec<PictureAction>) {
        for action in actions {
            match action {
                PictureAction::Show(who) => {
                    tracing::info!(contact = %who.short(), "PICTURE: showing a contact's camera");
                    let wants = Some((self.send_size.width, self.send_size.height));
                    self.tell(who, PictureNotice::Shown { wants });
                }
                PictureAction::Blank => {
                    if let Some(output) = self.output.lock().expect("output lock").as_mut() {
                        if let Err(e) = output.clear() {
                            tracing::warn!(error = %e, "could not blank the picture");
                        }
                    }
                }
                PictureAction::Tell(who, why) => {
                    tracing::info!(contact = %who.short(), code = why.code(), "a contact's picture is not shown");
                    let notice = PictureNotice::NotShown {
                        code: why.code().into(),
                        reason: why.message().into(),
                    };
                    self.tell(who, notice);
                }
            }
        }
    }

    /// Sends `message` to `who` on its data channel, if its session is open.
    fn tell(&self, who: PeerKey, notice: PictureNotice) {
        let Some(connection) = self
            .sessions
            .lock()
            .expect("sessions lock")
            .get(&who)
            .map(|(_, connection)| connection.clone())
        else {
            return;
        };
        let _ = self.told.send((connection, notice.to_json()));
    }
}

/// The privacy switch closes this gate with the camera's: privacy on takes
/// the picture off the output before the switch returns.
impl PrivacyGate for PictureHub {
    fn set_private(&self, on: bool) {
        let mut state = self.state();
        let actions = state.privacy(on);
        self.carry_out(actions);
    }
}

/// The frames of `video` until the session on `connection` ends (the
/// track's own channel may outlive the session).
fn until_closed(
    mut video: mpsc::Receiver<VideoFrame>,
    connection: PeerConnection,
) -> mpsc::Receiver<VideoFrame> {
    let (frames, until) = mpsc::channel(8);
    tokio::spawn(async move {
        let closed = connection.closed();
        tokio::pin!(closed);
        loop {
            let frame = tokio::select! {
                _ = &mut closed => break,
                frame = video.recv() => match frame {
                    Some(frame) => frame,
                    None => break,
                },
            };
            if frames.send(frame).await.is_err() {
                break;
            }
        }
    });
    until
}

/// Starts the task that sends what contacts are told, in the order told.
fn spawn_teller() -> mpsc::UnboundedSender<(PeerConnection, String)> {
    let (told, mut to_tell) = mpsc::unbounded_channel::<(PeerConnection, String)>();
    tokio::spawn(async move {
        while let Some((connection, message)) = to_tell.recv().await {
            if let Err(e) = connection.send(&message).await {
                tracing::debug!(error = %e, "could not tell a contact about their picture");
            }
        }
    });
    told
}
