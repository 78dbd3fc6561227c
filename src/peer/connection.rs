//! [`HearthPeer`]: one WebRTC connection with Hearth's shape — H.264/Opus media in the
//! configured directions, the `hearth` data channel, offer/answer as plain SDP strings,
//! trickle or gathered ICE, fast start, and DTLS fingerprint checks.

use crate::peer::build::build_connection;
use crate::peer::data_channel::{DataChannelState, DataLink, DATA_CHANNEL_LABEL};
use crate::peer::error::{PeerError, PeerResult};
use crate::peer::events::{AudioPacket, IceCandidate, PeerEvent, PeerState, VideoFrame};
use crate::peer::fast_start::{FastStart, Milestone};
use crate::peer::fingerprint::{
    certificate_fingerprint, fingerprints_match, normalize_fingerprint,
};
use crate::peer::media_recv::send_pli;
use crate::peer::media_send::{spawn_keyframe_watch, MediaSender};
use crate::peer::options::{IceMode, PeerOptions, Role};
use crate::peer::path::SelectedPath;
use crate::peer::runtime::PeerRuntime;
use crate::peer::shared::{RemoteMedia, Shared};
use crate::peer::transceivers::{add_media, channel_if};
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use webrtc::peer_connection::transport::DtlsTransport;
use webrtc::peer_connection::{
    PeerConnection, RTCIceCandidateInit, RTCSessionDescription, RTCStatsReportEntry, StatsSelector,
};
use webrtc::runtime::Runtime;

/// Remote candidates buffered while no remote description is set yet.
const MAX_PENDING_CANDIDATES: usize = 64;

/// One Hearth WebRTC connection. See the [module documentation](crate::peer) for the flow.
///
/// Dropping it without [`close`](Self::close) closes the connection in the background.
pub struct HearthPeer {
    pc: Arc<dyn PeerConnection>,
    role: Role,
    ice_mode: IceMode,
    shared: Arc<Shared>,
    media: MediaSender,
    remote_video_rx: Mutex<Option<mpsc::Receiver<VideoFrame>>>,
    remote_audio_rx: Mutex<Option<mpsc::Receiver<AudioPacket>>>,
    /// Remote candidates that arrived before the remote description.
    pending_candidates: tokio::sync::Mutex<Option<Vec<RTCIceCandidateInit>>>,
}

impl HearthPeer {
    /// Builds the connection (binds sockets, registers tracks, creates the data channel on
    /// the offerer) and returns it with the receiver of its [`PeerEvent`]s.
    ///
    /// Must be called inside a tokio runtime. Read the event receiver continuously: control
    /// events are dropped (with a warning) if 256 of them pile up, and data-channel messages
    /// wait for room in it.
    pub async fn new(opts: PeerOptions) -> PeerResult<(HearthPeer, mpsc::Receiver<PeerEvent>)> {
        let fast = opts.fast_start.then(|| {
            let mut milestones = vec![Milestone::Connected];
            if opts.data_channel {
                milestones.push(Milestone::DataChannelOpen);
            }
            if opts.send_video || opts.send_audio {
                milestones.push(Milestone::FirstMediaSent);
            }
            FastStart::new(&milestones, opts.fast_start_window)
        });
        let runtime: Arc<dyn Runtime> = Arc::new(PeerRuntime::new(fast.clone()));

        let (video_tx, video_rx) = channel_if(opts.recv_video, opts.media_capacity);
        let (audio_tx, audio_rx) = channel_if(opts.recv_audio, opts.media_capacity);
        let (shared, events) = Shared::new(
            opts.event_capacity,
            fast,
            RemoteMedia {
                video_tx,
                audio_tx,
                video_track: Mutex::new(None),
            },
            opts.data_channel,
        );
        if opts.ice_mode == IceMode::Trickle {
            shared.gate.lock().await.emit = true;
        }

        let pc = build_connection(&opts, &shared, runtime).await?;

        let video = add_media(
            &pc,
            opts.role,
            RtpCodecKind::Video,
            opts.send_video,
            opts.recv_video,
        )
        .await?;
        let audio = add_media(
            &pc,
            opts.role,
            RtpCodecKind::Audio,
            opts.send_audio,
            opts.recv_audio,
        )
        .await?;
        if let Some(video) = &video {
            spawn_keyframe_watch(shared.clone(), video.clone());
        }

        if opts.role == Role::Offerer && opts.data_channel {
            let channel = pc
                .create_data_channel(DATA_CHANNEL_LABEL, None)
                .await
                .map_err(PeerError::webrtc("creating the data channel"))?;
            DataLink::attach(&shared, channel);
        }

        let peer = HearthPeer {
            pc,
            role: opts.role,
            ice_mode: opts.ice_mode,
            media: MediaSender {
                video,
                audio,
                shared: shared.clone(),
            },
            shared,
            remote_video_rx: Mutex::new(video_rx),
            remote_audio_rx: Mutex::new(audio_rx),
            pending_candidates: tokio::sync::Mutex::new(Some(Vec::new())),
        };
        Ok((peer, events))
    }

    /// Offerer only: creates the offer, applies it locally and returns its SDP. In
    /// [`IceMode::Gathered`] the SDP already contains the local candidates.
    pub async fn create_offer(&self) -> PeerResult<String> {
        if self.role != Role::Offerer {
            return Err(PeerError::WrongRole(
                "create_offer is for the offerer; the answerer calls accept_offer",
            ));
        }
        self.ensure_open()?;
        self.start_negotiation().await;
        let offer = self
            .pc
            .create_offer(None)
            .await
            .map_err(PeerError::webrtc("creating the SDP offer"))?;
        self.apply_local(offer).await
    }

    /// Offerer only: restarts ICE and returns the restart offer's SDP (fresh ICE
    /// credentials, the sockets bound again on this host's current addresses,
    /// the same DTLS certificate). The answerer applies it with
    /// [`accept_offer`](Self::accept_offer); its answer comes back through
    /// [`accept_answer`](Self::accept_answer). Media and the data channel keep
    /// their state: only the path changes.
    pub async fn restart_offer(&self) -> PeerResult<String> {
        if self.role != Role::Offerer {
            return Err(PeerError::WrongRole(
                "restart_offer is for the offerer; the answerer asks it to restart",
            ));
        }
        self.ensure_open()?;
        self.pc
            .restart_ice()
            .await
            .map_err(PeerError::webrtc("restarting ICE"))?;
        self.create_offer().await
    }

    /// Answerer only: applies the remote offer, creates and applies the answer, and returns
    /// the answer's SDP.
    pub async fn accept_offer(&self, offer_sdp: &str) -> PeerResult<String> {
        if self.role != Role::Answerer {
            return Err(PeerError::WrongRole(
                "accept_offer is for the answerer; the offerer calls accept_answer",
            ));
        }
        self.ensure_open()?;
        self.start_negotiation().await;
        let offer = RTCSessionDescription::offer(offer_sdp.to_owned())
            .map_err(|e| PeerError::InvalidSdp(e.to_string()))?;
        self.pc
            .set_remote_description(offer)
            .await
            .map_err(PeerError::webrtc("applying the remote offer"))?;
        self.flush_pending_candidates().await?;
        let answer = self
            .pc
            .create_answer(None)
            .await
            .map_err(PeerError::webrtc("creating the SDP answer"))?;
        let sdp = self.apply_local(answer).await?;
        self.after_negotiation(offer_sdp).await;
        Ok(sdp)
    }

    /// Offerer only: applies the remote answer.
    pub async fn accept_answer(&self, answer_sdp: &str) -> PeerResult<()> {
        if self.role != Role::Offerer {
            return Err(PeerError::WrongRole("accept_answer is for the offerer"));
        }
        self.ensure_open()?;
        let answer = RTCSessionDescription::answer(answer_sdp.to_owned())
            .map_err(|e| PeerError::InvalidSdp(e.to_string()))?;
        self.pc
            .set_remote_description(answer)
            .await
            .map_err(PeerError::webrtc("applying the remote answer"))?;
        self.flush_pending_candidates().await?;
        self.after_negotiation(answer_sdp).await;
        Ok(())
    }

    /// Adds a remote ICE candidate (trickle ICE). Candidates arriving before the remote
    /// description are kept (up to 64) and applied with it. An empty candidate (end of
    /// candidates) is accepted and ignored.
    pub async fn add_remote_candidate(&self, candidate: &IceCandidate) -> PeerResult<()> {
        self.ensure_open()?;
        if candidate.candidate.trim().is_empty() {
            return Ok(());
        }
        let init = RTCIceCandidateInit {
            candidate: candidate.candidate.clone(),
            sdp_mid: candidate.sdp_mid.clone(),
            sdp_mline_index: candidate.sdp_mline_index,
            username_fragment: candidate.username_fragment.clone(),
            ..Default::default()
        };
        {
            let mut pending = self.pending_candidates.lock().await;
            if let Some(list) = pending.as_mut() {
                if list.len() >= MAX_PENDING_CANDIDATES {
                    return Err(PeerError::InvalidCandidate(
                        "too many candidates before the remote description".into(),
                    ));
                }
                list.push(init);
                return Ok(());
            }
        }
        self.pc
            .add_ice_candidate(init)
            .await
            .map_err(|e| PeerError::InvalidCandidate(e.to_string()))
    }

    /// [`add_remote_candidate`](Self::add_remote_candidate) for the browser's JSON shape.
    pub async fn add_remote_candidate_json(&self, json: &str) -> PeerResult<()> {
        let candidate = IceCandidate::from_json(json)
            .map_err(|e| PeerError::InvalidCandidate(e.to_string()))?;
        self.add_remote_candidate(&candidate).await
    }

    /// Handle for writing H.264 and Opus (works only for the kinds enabled in
    /// [`PeerOptions`]; the others return [`PeerError::NotSending`]).
    pub fn media_sender(&self) -> MediaSender {
        self.media.clone()
    }

    /// Takes the receiver of remote video access units (`None` if `recv_video` is off or
    /// it was already taken).
    pub fn take_remote_video(&self) -> Option<mpsc::Receiver<VideoFrame>> {
        self.remote_video_rx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Takes the receiver of remote Opus packets (`None` if `recv_audio` is off or it was
    /// already taken).
    pub fn take_remote_audio(&self) -> Option<mpsc::Receiver<AudioPacket>> {
        self.remote_audio_rx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Asks the remote sender for a keyframe (RTCP PLI). Returns `false` if no remote video
    /// has arrived yet. (The receiver already does this by itself after packet loss.)
    pub async fn request_keyframe(&self) -> bool {
        let target = self
            .shared
            .remote
            .video_track
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match target {
            Some((track, ssrc)) => send_pli(&track, ssrc).await,
            None => false,
        }
    }

    /// Sends a binary message on the data channel, waiting while 64 KiB are unacknowledged.
    /// A message may be at most the remote's `max-message-size` (64 KiB between Hearth
    /// peers; larger fails with [`PeerError::MessageTooLarge`]).
    pub async fn send_bytes(&self, data: &[u8]) -> PeerResult<()> {
        self.data_link()?.send_bytes(data).await
    }

    /// Sends a text message on the data channel, waiting while 64 KiB are unacknowledged.
    pub async fn send_text(&self, text: &str) -> PeerResult<()> {
        self.data_link()?.send_text(text).await
    }

    /// State of the data channel.
    pub fn data_channel_state(&self) -> DataChannelState {
        self.shared.data.state()
    }

    /// Whether fast start currently shortens the driver's timers (diagnostics).
    pub fn fast_start_active(&self) -> bool {
        self.shared.fast.as_ref().is_some_and(|f| f.is_active())
    }

    /// Current connection state.
    pub fn state(&self) -> PeerState {
        self.shared.state()
    }

    /// A receiver that always holds the current connection state.
    pub fn state_watch(&self) -> watch::Receiver<PeerState> {
        self.shared.state_tx.subscribe()
    }

    /// Waits until the connection is `Connected`; fails on `Failed`/`Closed` or after
    /// `timeout`: with [`PeerError::NoPath`] when ICE never selected a candidate pair
    /// (no network path), with [`PeerError::Timeout`] when it did but DTLS did not finish.
    pub async fn wait_connected(&self, timeout: Duration) -> PeerResult<()> {
        let mut rx = self.state_watch();
        let wait = async {
            rx.wait_for(|s| {
                matches!(
                    s,
                    PeerState::Connected | PeerState::Failed | PeerState::Closed
                )
            })
            .await
            .map(|state| *state)
        };
        let outcome = tokio::time::timeout(timeout, wait).await;
        let gave_up = matches!(outcome, Ok(Ok(PeerState::Failed)) | Err(_));
        if gave_up && self.selected_path().await.is_none() {
            return Err(PeerError::NoPath(timeout));
        }
        match outcome {
            Ok(Ok(PeerState::Connected)) => Ok(()),
            Ok(_) => Err(PeerError::Closed),
            Err(_) => Err(PeerError::Timeout("the connection")),
        }
    }

    /// The candidate pair ICE selected, from the connection's statistics;
    /// `None` while it has selected none (not connected yet, or no path).
    ///
    /// Asked of the ICE transport first (it knows the type of every remote
    /// candidate, also those that came inside the SDP); the statistics report
    /// is the fallback.
    pub async fn selected_path(&self) -> Option<SelectedPath> {
        for transport in self.dtls_transports().await {
            let pair = transport
                .ice_transport()
                .get_selected_candidate_pair()
                .await;
            if let Ok(Some(pair)) = pair {
                return SelectedPath::from_pair(&pair);
            }
        }
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        SelectedPath::from_report(&report)
    }

    /// Fingerprint (`sha-256 AA:BB:...`) of the DTLS certificate the remote presented, once
    /// connected; `None` before DTLS completes.
    ///
    /// Read from the DTLS transport (via the SCTP transport, or an RTP sender/receiver), and
    /// for a receive-only connection without data channel, whose receivers appear only with
    /// the first packet, from the connection's certificate statistics.
    pub async fn remote_certificate_fingerprint(&self) -> Option<String> {
        if let Some(der) = self.remote_certificate_der().await {
            return Some(certificate_fingerprint(&der));
        }
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        let fingerprint = report.iter().find_map(|entry| {
            let RTCStatsReportEntry::Transport(transport) = entry else {
                return None;
            };
            match report.get(&transport.remote_certificate_id)? {
                RTCStatsReportEntry::Certificate(cert) => normalize_fingerprint(&format!(
                    "{} {}",
                    cert.fingerprint_algorithm, cert.fingerprint
                )),
                _ => None,
            }
        });
        fingerprint
    }

    /// The candidate types (`host`, `srflx`, `prflx`, `relay`) of the pair ICE
    /// selected, local first; `None` before one is selected. `relay` on both
    /// sides means every packet goes through TURN servers. (The same reading
    /// as [`HearthPeer::selected_path`], as words.)
    pub async fn selected_candidate_types(&self) -> Option<(String, String)> {
        let path = self.selected_path().await?;
        Some((path.local.as_str().into(), path.remote.as_str().into()))
    }

    /// The connection's DTLS transports: via the SCTP transport, and the RTP
    /// senders' and receivers'.
    async fn dtls_transports(&self) -> Vec<Arc<dyn DtlsTransport>> {
        let mut transports = Vec::new();
        if let Some(sctp) = self.pc.sctp().await {
            transports.push(sctp.transport());
        }
        for sender in self.pc.get_senders().await {
            transports.extend(sender.transport().await.ok().flatten());
        }
        for receiver in self.pc.get_receivers().await {
            transports.extend(receiver.transport().await.ok().flatten());
        }
        transports
    }

    async fn remote_certificate_der(&self) -> Option<Vec<u8>> {
        for transport in self.dtls_transports().await {
            if let Ok(certificates) = transport.get_remote_certificates().await {
                if let Some(der) = certificates.into_iter().next() {
                    return Some(der);
                }
            }
        }
        None
    }

    /// Checks that the remote's DTLS certificate matches `expected` (e.g. the fingerprint of
    /// the signed SDP, see [`sdp_fingerprint`](crate::peer::sdp_fingerprint)).
    pub async fn verify_remote_fingerprint(&self, expected: &str) -> PeerResult<()> {
        let expected_norm =
            normalize_fingerprint(expected).ok_or_else(|| PeerError::FingerprintMismatch {
                expected: expected.to_owned(),
                actual: "(expected value is not a sha-256 fingerprint)".to_owned(),
            })?;
        let actual = self
            .remote_certificate_fingerprint()
            .await
            .ok_or(PeerError::NoRemoteCertificate)?;
        if fingerprints_match(&expected_norm, &actual) {
            Ok(())
        } else {
            tracing::warn!(%expected_norm, %actual, "remote DTLS fingerprint mismatch");
            Err(PeerError::FingerprintMismatch {
                expected: expected_norm,
                actual,
            })
        }
    }

    /// Closes the connection. Emits [`PeerEvent::Closed`] (once). Idempotent.
    pub async fn close(&self) -> PeerResult<()> {
        if !self.shared.mark_closed() {
            return Ok(());
        }
        self.shared.data.mark_closed();
        let result = self
            .pc
            .close()
            .await
            .map_err(PeerError::webrtc("closing the peer connection"));
        self.shared.set_state(PeerState::Closed);
        result
    }

    fn ensure_open(&self) -> PeerResult<()> {
        if self.shared.is_closed() {
            Err(PeerError::Closed)
        } else {
            Ok(())
        }
    }

    fn data_link(&self) -> PeerResult<&DataLink> {
        if !self.shared.accept_data_channel {
            return Err(PeerError::NoDataChannel);
        }
        Ok(&self.shared.data)
    }

    /// Resets per-negotiation state and arms fast start.
    async fn start_negotiation(&self) {
        self.shared.gathering_tx.send_replace(false);
        if let Some(fast) = &self.shared.fast {
            fast.arm();
        }
    }

    /// Sets the local description and returns the SDP to send, waiting for gathering in
    /// [`IceMode::Gathered`].
    async fn apply_local(&self, description: RTCSessionDescription) -> PeerResult<String> {
        let mid = first_mid(&description.sdp);
        self.shared.gate.lock().await.mid = mid;
        // In trickle mode the SDP as created (no candidates) is what travels; candidates follow
        // as events.
        let created_sdp = description.sdp.clone();
        self.pc
            .set_local_description(description)
            .await
            .map_err(PeerError::webrtc("applying the local description"))?;
        if let IceMode::Gathered { timeout } = self.ice_mode {
            let mut gathered = self.shared.gathering_tx.subscribe();
            if tokio::time::timeout(timeout, gathered.wait_for(|done| *done))
                .await
                .is_err()
            {
                tracing::info!(
                    ?timeout,
                    "ICE gathering not complete; sending the SDP with the candidates so far"
                );
            }
            // Every candidate must be either in the returned SDP or emitted as an event. A
            // candidate is in the core before its handler runs, so if no handler ran while we
            // read the SDP, any candidate missing from it will find `emit` set.
            loop {
                let seen = self.shared.gate.lock().await.seen;
                let sdp = self.current_local_sdp().await?;
                let mut gate = self.shared.gate.lock().await;
                if gate.seen == seen {
                    gate.emit = true;
                    return Ok(sdp);
                }
            }
        } else {
            Ok(created_sdp)
        }
    }

    async fn current_local_sdp(&self) -> PeerResult<String> {
        self.pc
            .local_description()
            .await
            .map(|d| d.sdp)
            .ok_or(PeerError::InvalidSdp(
                "no local description after applying it".into(),
            ))
    }

    async fn flush_pending_candidates(&self) -> PeerResult<()> {
        let pending = self
            .pending_candidates
            .lock()
            .await
            .take()
            .unwrap_or_default();
        for candidate in pending {
            if let Err(e) = self.pc.add_ice_candidate(candidate).await {
                tracing::debug!("dropping a buffered remote candidate: {e}");
            }
        }
        Ok(())
    }

    /// Resolves the payload types the remote accepted and tells fast start not to wait for
    /// what this negotiation cannot produce (no data channel, no media to send).
    async fn after_negotiation(&self, remote_sdp: &str) {
        let mut can_send_media = false;
        for track in [&self.media.video, &self.media.audio].into_iter().flatten() {
            track.reset_payload_type();
            match track.resolve_payload_type().await {
                Ok(_) => can_send_media = true,
                Err(e) => tracing::info!("{e}"),
            }
        }
        if let Some(fast) = &self.shared.fast {
            if !remote_sdp.contains("m=application") {
                fast.reached(Milestone::DataChannelOpen);
            }
            if !can_send_media {
                fast.reached(Milestone::FirstMediaSent);
            }
        }
    }
}

impl Drop for HearthPeer {
    fn drop(&mut self) {
        if self.shared.mark_closed() {
            let pc = self.pc.clone();
            let shared = self.shared.clone();
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    let _ = pc.close().await;
                    shared.set_state(PeerState::Closed);
                });
            }
        }
    }
}

/// The first `a=mid:` of an SDP (the bundle's tag, used as `sdpMid` of local candidates).
fn first_mid(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|l| l.trim().strip_prefix("a=mid:"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_mid_finds_the_bundle_tag() {
        let sdp = "v=0\r\na=group:BUNDLE 0 1\r\nm=video 9 x 102\r\na=mid:0\r\nm=audio 9 x 111\r\na=mid:1\r\n";
        assert_eq!(first_mid(sdp).as_deref(), Some("0"));
        assert_eq!(first_mid("v=0\r\n"), None);
    }
}
