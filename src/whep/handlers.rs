//! The WHEP request handlers. Every refusal is a 4xx (or 503) with a short
//! text reason and one log line that names neither the token nor an address.

use super::offer::{read_offer, OfferError};
use super::{token, Entry, Refusal, WhepState, BODY_WITHIN, MAX_OFFER_BYTES, SESSION_PATH};
use crate::contacts::Contact;
use crate::policy;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// A response with a short text body; logged as a refusal.
fn refuse(status: StatusCode, reason: &str) -> Response {
    refuse_with_detail(status, reason, "")
}

/// Like [`refuse`], with a detail for the player that is not logged (it may
/// quote the offer, addresses included).
fn refuse_with_detail(status: StatusCode, reason: &str, detail: &str) -> Response {
    tracing::info!(status = status.as_u16(), %reason, "WHEP request refused");
    let body = match detail {
        "" => format!("{reason}\n"),
        detail => format!("{reason}: {detail}\n"),
    };
    let mut response = (status, body).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

fn unauthorized() -> Response {
    refuse(StatusCode::UNAUTHORIZED, "unauthorized")
}

/// The token contact the request's bearer token belongs to, if it is
/// approved and may watch or listen at all; otherwise the caller answers 401.
fn authenticate(state: &WhepState, headers: &HeaderMap) -> Option<Contact> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let presented = token::from_authorization(value)?;
    state.contacts.with(|book| {
        token::find_contact(book, presented)
            .filter(|c| policy::may_watch_by_token(c))
            .cloned()
    })
}

/// A short, unguessable session id (128 random bits, base64url).
fn new_session_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    crate::keys::b64(&bytes)
}

/// Enough of a session id to tell sessions apart in a log.
fn short(id: &str) -> &str {
    id.get(..6).unwrap_or(id)
}

/// `POST /whep`: answers an SDP offer and creates a session.
pub(super) async fn create(
    State(state): State<WhepState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(contact) = authenticate(&state, &headers) else {
        return unauthorized();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/sdp") {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the offer must be sent as Content-Type: application/sdp",
        );
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_OFFER_BYTES) {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "the offer is over 64 KiB");
    }
    let bytes = match tokio::time::timeout(BODY_WITHIN, axum::body::to_bytes(body, MAX_OFFER_BYTES))
        .await
    {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => return refuse(StatusCode::PAYLOAD_TOO_LARGE, "the offer is over 64 KiB"),
        Err(_) => {
            return refuse(
                StatusCode::REQUEST_TIMEOUT,
                "the offer did not arrive in time; send the whole body at once",
            )
        }
    };
    let offer = match read_offer(&bytes) {
        Ok(offer) => offer,
        Err(OfferError::TooLarge) => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                &OfferError::TooLarge.to_string(),
            )
        }
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    // The place is taken before any work, so concurrent POSTs cannot pass the
    // cap; every return below without a session drops it again.
    let Some(slot) = state.slots.try_take() else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many players are watching; try again later",
        );
    };
    let (session, answer) = match state.answerer.answer(&contact, offer).await {
        Ok(answered) => answered,
        Err(Refusal::NotAllowed) => {
            return refuse(
                StatusCode::FORBIDDEN,
                "this token may not have what the offer asks for",
            )
        }
        Err(Refusal::BadOffer(detail)) => {
            let detail: String = detail.chars().take(200).collect();
            return refuse_with_detail(StatusCode::BAD_REQUEST, "bad offer", &detail);
        }
        Err(Refusal::Unavailable(reason)) => {
            return refuse(StatusCode::SERVICE_UNAVAILABLE, &reason)
        }
    };
    let id = new_session_id();
    let entry = Entry {
        session: session.clone(),
        _slot: slot,
    };
    state
        .sessions
        .lock()
        .expect("sessions lock")
        .insert(id.clone(), entry);
    let sessions = state.sessions.clone();
    let forget = id.clone();
    tokio::spawn(async move {
        let reason = session.closed().await;
        sessions.lock().expect("sessions lock").remove(&forget);
        tracing::info!(session = short(&forget), %reason, "WHEP session ended");
    });
    tracing::info!(player = %contact.name, session = short(&id), "WHEP session answered");
    (
        StatusCode::CREATED,
        [
            (header::CONTENT_TYPE, "application/sdp".to_string()),
            (header::LOCATION, format!("{SESSION_PATH}{id}")),
        ],
        answer,
    )
        .into_response()
}

/// `DELETE /whep/session/ID`: ends the session (same token as created it).
pub(super) async fn delete(
    State(state): State<WhepState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(contact) = authenticate(&state, &headers) else {
        return unauthorized();
    };
    let session = {
        let mut sessions = state.sessions.lock().expect("sessions lock");
        match sessions.get(&id) {
            Some(e) if e.session.contact() == contact.key => sessions.remove(&id),
            _ => None,
        }
    };
    let Some(Entry { session, _slot }) = session else {
        return refuse(StatusCode::NOT_FOUND, "no such session");
    };
    session.close_with("ended by the player").await;
    drop(_slot);
    tracing::info!(player = %contact.name, session = short(&id), "WHEP session deleted");
    (StatusCode::OK, "session ended\n").into_response()
}

/// `PATCH /whep/session/ID`: trickle ICE and ICE restarts are not supported.
pub(super) async fn patch() -> Response {
    let mut response = refuse(
        StatusCode::METHOD_NOT_ALLOWED,
        "trickle ICE and ICE restarts are not supported: the answer already carries \
         every candidate of this device; start a new session instead",
    );
    response.headers_mut().insert(
        header::ALLOW,
        header::HeaderValue::from_static("DELETE, OPTIONS"),
    );
    response
}

/// `OPTIONS`: CORS preflight (the CORS headers are added to every response).
pub(super) async fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [(
            header::HeaderName::from_static("accept-post"),
            "application/sdp",
        )],
    )
        .into_response()
}
