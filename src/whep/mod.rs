//! WHEP (draft-ietf-wish-whep) on the device, so standard players — GStreamer's
//! `whepsrc`, aiortc, a page in a browser — can watch what the owner allowed.
//!
//! - `POST /whep` with `Authorization: Bearer TOKEN` and an `application/sdp`
//!   offer answers `201 Created` with the SDP answer (every candidate in it:
//!   no trickle) and `Location: /whep/session/ID`.
//! - `DELETE /whep/session/ID` with the same token ends the session.
//! - `PATCH` (trickle ICE, ICE restart) answers `405`: start a new session.
//! - An unknown or revoked token gets `401` and nothing else. Every response
//!   carries CORS headers, so a page on another origin can use WHEP too.
//!
//! - At most [`MAX_SESSIONS`] players at once, exactly: a POST takes its
//!   place before any work (`503` when none is free), and a player that has
//!   not connected [`CONNECT_WITHIN`] after its answer loses it.
//!
//! Tokens belong to token contacts (see [`token`]); what a session carries is
//! decided by the device through the [`Answerer`] it passes in.

mod handlers;
pub mod offer;
mod slots;
pub mod token;

use crate::api::WhepSession;
use crate::contacts::Contact;
use crate::live_contacts::LiveContacts;
use axum::http::{header, HeaderValue, Response};
use axum::routing::{options, post};
use axum::Router;
use slots::{Slot, Slots};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The largest SDP offer accepted, in bytes.
pub const MAX_OFFER_BYTES: usize = 64 * 1024;
/// At most this many WHEP sessions run at once.
pub const MAX_SESSIONS: usize = 16;
/// A player that has not connected this long after its answer is dropped
/// and its place given back (the [`Answerer`] applies it to the session).
pub const CONNECT_WITHIN: Duration = Duration::from_secs(5);
/// The offer's body must arrive within this long of the headers.
pub const BODY_WITHIN: Duration = Duration::from_secs(10);
/// Where sessions live: `Location` is this followed by the session's id.
pub const SESSION_PATH: &str = "/whep/session/";

/// Why the device would not start a session for an authenticated token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The contact may not have what the offer asks for (or anything).
    #[error("not allowed")]
    NotAllowed,
    /// The offer cannot be answered.
    #[error("bad offer: {0}")]
    BadOffer(String),
    /// The device cannot serve now (privacy on, no camera); try again later.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// What the device does with an authenticated offer.
#[async_trait::async_trait]
pub trait Answerer: Send + Sync + 'static {
    /// Starts a session for `contact` (a token contact whose token was just
    /// checked) answering `offer`; returns it with the SDP answer.
    async fn answer(
        &self,
        contact: &Contact,
        offer: &str,
    ) -> Result<(WhepSession, String), Refusal>;
}

/// What the WHEP routes need: the live contact book (to check tokens), the
/// device's answerer, and the sessions by id.
#[derive(Clone)]
pub struct WhepState {
    contacts: LiveContacts,
    answerer: Arc<dyn Answerer>,
    sessions: Arc<Mutex<HashMap<String, Entry>>>,
    slots: Slots,
}

/// A running session and the place it holds under the cap.
struct Entry {
    session: WhepSession,
    _slot: Slot,
}

impl WhepState {
    /// State for the routes of one device.
    pub fn new(contacts: LiveContacts, answerer: Arc<dyn Answerer>) -> Self {
        WhepState {
            contacts,
            answerer,
            sessions: Arc::new(Mutex::new(HashMap::new())),
            slots: Slots::new(MAX_SESSIONS),
        }
    }

    /// How many WHEP sessions are open.
    pub fn session_count(&self) -> usize {
        self.sessions.lock().expect("sessions lock").len()
    }

    /// Places taken under the player cap: open sessions and POSTs being answered.
    pub fn places_taken(&self) -> usize {
        self.slots.in_use()
    }
}

/// The WHEP routes, with CORS headers on every response.
pub fn router(state: WhepState) -> Router {
    Router::new()
        .route("/whep", post(handlers::create).options(handlers::preflight))
        .route(
            "/whep/session/{id}",
            options(handlers::preflight)
                .delete(handlers::delete)
                .patch(handlers::patch),
        )
        .layer(axum::middleware::map_response(add_cors))
        .with_state(state)
}

async fn add_cors<B>(mut response: Response<B>) -> Response<B> {
    let headers = response.headers_mut();
    let mut set = |name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*");
    set(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        "POST, DELETE, PATCH, OPTIONS",
    );
    set(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        "Authorization, Content-Type, If-Match",
    );
    set(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        "Location, Link, ETag, Accept-Post",
    );
    set(header::ACCESS_CONTROL_MAX_AGE, "600");
    response
}
