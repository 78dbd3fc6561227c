//! Receiving media: one task per remote track that turns RTP into [`VideoFrame`]s (complete
//! Annex-B access units, via [`AccessUnitAssembler`]) or [`AudioPacket`]s (Opus payloads),
//! and sends RTCP PLI when the video needs a keyframe.
//!
//! Delivery waits for room in the owner's channel; if the owner falls behind, the stack's own
//! per-track queue overflows and drops packets, which the assembler sees as loss (and answers
//! with a keyframe request) rather than handing out corrupt frames.

use crate::peer::events::{AudioPacket, VideoFrame};
use crate::peer::h264::AccessUnitAssembler;
use crate::peer::shared::Shared;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

/// Minimum spacing of automatic PLIs.
const PLI_INTERVAL: Duration = Duration::from_millis(500);

/// Starts the task for a newly announced remote track.
pub(crate) fn spawn_track_pump(shared: Arc<Shared>, track: Arc<dyn TrackRemote>) {
    tokio::spawn(async move {
        let kind = track.kind().await;
        match kind {
            RtpCodecKind::Video => match shared.remote.video_tx.clone() {
                Some(tx) => run_video(shared, track, tx).await,
                None => drain(track, "video").await,
            },
            RtpCodecKind::Audio => match shared.remote.audio_tx.clone() {
                Some(tx) => run_audio(track, tx).await,
                None => drain(track, "audio").await,
            },
            _ => drain(track, "unknown").await,
        }
    });
}

/// Sends one PLI for `media_ssrc` on `track`.
pub(crate) async fn send_pli(track: &Arc<dyn TrackRemote>, media_ssrc: u32) -> bool {
    let pli = PictureLossIndication {
        sender_ssrc: 0,
        media_ssrc,
    };
    match track.write_rtcp(vec![Box::new(pli)]).await {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!("sending PLI failed: {e}");
            false
        }
    }
}

async fn run_video(shared: Arc<Shared>, track: Arc<dyn TrackRemote>, tx: mpsc::Sender<VideoFrame>) {
    tracing::debug!("remote video track started");
    let mut assembler = AccessUnitAssembler::new();
    let mut last_pli: Option<Instant> = None;
    let mut listening = true;
    while let Some(event) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(packet) = event else {
            continue;
        };
        let ssrc = packet.header.ssrc;
        {
            let mut slot = shared
                .remote
                .video_track
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if slot.as_ref().map(|(_, s)| *s) != Some(ssrc) {
                *slot = Some((track.clone(), ssrc));
            }
        }
        let now = Instant::now();
        let frames = assembler.push(
            packet.header.sequence_number,
            packet.header.marker,
            packet.header.timestamp,
            packet.payload,
            now,
        );
        if assembler.take_keyframe_request()
            && last_pli.is_none_or(|t| now.duration_since(t) >= PLI_INTERVAL)
        {
            tracing::debug!(dropped = assembler.dropped(), "requesting a keyframe");
            if send_pli(&track, ssrc).await {
                last_pli = Some(now);
            }
        }
        for frame in frames {
            if listening && tx.send(frame).await.is_err() {
                listening = false; // owner dropped the receiver; keep draining
            }
        }
    }
    tracing::debug!("remote video track ended");
}

async fn run_audio(track: Arc<dyn TrackRemote>, tx: mpsc::Sender<AudioPacket>) {
    tracing::debug!("remote audio track started");
    let mut listening = true;
    while let Some(event) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(packet) = event else {
            continue;
        };
        if packet.payload.is_empty() || !listening {
            continue;
        }
        let audio = AudioPacket {
            data: packet.payload,
            rtp_timestamp: packet.header.timestamp,
            sequence: packet.header.sequence_number,
        };
        if tx.send(audio).await.is_err() {
            listening = false;
        }
    }
    tracing::debug!("remote audio track ended");
}

/// Reads and discards a track nobody wants, so the stack's queue does not overflow.
async fn drain(track: Arc<dyn TrackRemote>, kind: &str) {
    tracing::debug!(kind, "ignoring a remote track this peer does not receive");
    while track.poll().await.is_some() {}
}
