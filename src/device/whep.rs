//! The device's side of WHEP: decides what a token contact's offer gets
//! (the same policy as a call), answers it with the shared media pipelines,
//! and counts the session among the device's live ones — so revoking the
//! token ends it through the same path as any other session. A player has
//! [`CONNECT_WITHIN`] to connect, so one that never does frees its place soon.

use super::calls::{Calls, Live, LiveSession};
use crate::api::{MediaStream, OfferWants, RtcError, WhepSession};
use crate::contacts::Contact;
use crate::policy;
use crate::whep::{Answerer, Refusal, CONNECT_WITHIN};
use std::sync::Arc;
use std::time::Duration;

/// Answers WHEP offers for a device.
pub(super) struct DeviceAnswerer {
    pub calls: Arc<Calls>,
}

#[async_trait::async_trait]
impl Answerer for DeviceAnswerer {
    async fn answer(
        &self,
        contact: &Contact,
        offer: &str,
    ) -> Result<(WhepSession, String), Refusal> {
        let calls = &self.calls;
        let wants = OfferWants::of(offer);
        if !wants.video && !wants.audio {
            return Err(Refusal::BadOffer(
                "the offer has no video or audio section".into(),
            ));
        }
        let book = calls.contacts.snapshot();
        let grant = policy::decide(&book, &contact.key, wants.video, wants.audio)
            .map_err(|_| Refusal::NotAllowed)?;
        if !grant.is_live() {
            return Err(Refusal::NotAllowed);
        }
        if calls.media.is_private() {
            return Err(Refusal::Unavailable(
                "the owner has turned privacy on; try again later".into(),
            ));
        }
        let open = MediaStream::open(&calls.media, grant.video, grant.audio);
        let stream = match tokio::time::timeout(Duration::from_secs(1), open).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(Refusal::Unavailable(e.to_string())),
            Err(_) => {
                return Err(Refusal::Unavailable(
                    "the owner has turned privacy on; try again later".into(),
                ))
            }
        };
        // A player that does not connect soon gives its place under the cap back.
        let mut rtc = calls.rtc.clone();
        rtc.connect_timeout = rtc.connect_timeout.min(CONNECT_WITHIN);
        let (session, answer) = WhepSession::answer(contact.key, offer, &stream, &rtc)
            .await
            .map_err(|e| match e {
                RtcError::BadOffer(reason) => Refusal::BadOffer(reason),
                other => {
                    tracing::warn!(error = %other, "could not start a WHEP session");
                    Refusal::Unavailable("the device could not start a session".into())
                }
            })?;
        let tracked = calls.track(Live {
            contact: contact.key,
            name: contact.name.clone(),
            grant,
            session: LiveSession::Whep(session.clone()),
            wants: (wants.video, wants.audio),
            announcer: None,
        });
        let Some(id) = tracked else {
            session.close_with("access withdrawn by the owner").await;
            return Err(Refusal::NotAllowed);
        };
        let (calls, ended) = (calls.clone(), session.clone());
        tokio::spawn(async move {
            ended.closed().await;
            calls.untrack(id);
        });
        Ok((session, answer))
    }
}
