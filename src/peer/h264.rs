//! Reassembles received H.264 RTP packets into complete Annex-B access units.
//!
//! Packets go through a [`ReorderBuffer`] first, then the `rtc` crate's RFC 6184
//! depacketizer ([`H264Packet`]: single NAL unit, STAP-A, FU-A). An access unit ends at the
//! RTP marker bit (or when the timestamp changes, for senders that forget the marker).
//!
//! Loss handling: an access unit touched by a gap is dropped, and from then on frames are
//! withheld until the next keyframe, because P-frames referencing a lost frame only decode
//! to garbage. [`AccessUnitAssembler::take_keyframe_request`] tells the caller when to ask
//! the sender for one (RTCP PLI).

use crate::peer::events::VideoFrame;
use crate::peer::reorder::{Released, ReorderBuffer};
use bytes::Bytes;
use rtc::rtp::codec::h264::{H264Packet, FUA_NALU_TYPE, FU_START_BITMASK, STAPA_NALU_TYPE};
use rtc::rtp::packetizer::Depacketizer;
use std::time::{Duration, Instant};

/// NAL unit type of an IDR slice.
pub const NAL_IDR: u8 = 5;
/// Largest access unit accepted; bigger ones are dropped as corrupt.
const MAX_ACCESS_UNIT: usize = 4 * 1024 * 1024;
/// Re-ordering window: packets held behind a hole (a 640×480 keyframe is
/// tens of packets).
const REORDER_PACKETS: usize = 256;
/// Re-ordering window: how long a hole is waited for. Long enough for a
/// NACK (sent within 50 ms) and the resend to cross a path with a 100 ms
/// round trip; waiting costs a short stall, giving up costs the picture
/// until the next keyframe. With 80 ms, 5% loss and 50 ms each way made a
/// 1 s stop in 20 s (tests/lossy_link.rs).
const REORDER_WAIT: Duration = Duration::from_millis(250);

/// Iterates over the NAL units of an Annex-B byte stream (3- or 4-byte start codes),
/// yielding each NAL unit without its start code.
pub fn annexb_nal_units(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push((i, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|&(sc, _)| {
            // A 4-byte start code's leading zero belongs to the start code, not the NAL.
            if sc > 0 && data[sc - 1] == 0 {
                sc - 1
            } else {
                sc
            }
        })
        .chain(std::iter::once(data.len()))
        .collect();
    starts
        .into_iter()
        .zip(ends)
        .map(move |((_, begin), end)| &data[begin..end.max(begin)])
        .filter(|nal| !nal.is_empty())
}

/// Whether an Annex-B access unit contains an IDR slice.
pub fn is_keyframe(annexb: &[u8]) -> bool {
    annexb_nal_units(annexb).any(|nal| nal[0] & 0x1F == NAL_IDR)
}

/// Turns a stream of H.264 RTP packets into decodable access units.
pub struct AccessUnitAssembler {
    reorder: ReorderBuffer<(bool, u32, Bytes)>,
    depacketizer: H264Packet,
    /// RTP timestamp of the access unit being assembled.
    current_ts: Option<u32>,
    /// Annex-B bytes of the access unit being assembled.
    buf: Vec<u8>,
    /// The access unit being assembled lost a packet.
    broken: bool,
    /// A gap happened; the next packet with a new timestamp starts a broken access unit too
    /// (the lost packets may have been its head).
    gap_pending: bool,
    /// An FU-A fragmented NAL is in progress.
    in_fragment: bool,
    /// Frames are withheld until the next keyframe.
    waiting_for_keyframe: bool,
    /// The caller should send a PLI.
    keyframe_request: bool,
    /// Frames dropped so far (loss or waiting for a keyframe).
    dropped: u64,
}

impl Default for AccessUnitAssembler {
    fn default() -> Self {
        Self::new()
    }
}

impl AccessUnitAssembler {
    /// A fresh assembler; it waits for a keyframe before delivering anything.
    pub fn new() -> Self {
        AccessUnitAssembler {
            reorder: ReorderBuffer::new(REORDER_PACKETS, REORDER_WAIT),
            depacketizer: H264Packet::default(),
            current_ts: None,
            buf: Vec::new(),
            broken: false,
            gap_pending: false,
            in_fragment: false,
            waiting_for_keyframe: true,
            keyframe_request: false,
            dropped: 0,
        }
    }

    /// Feeds one RTP packet (sequence number, marker bit, timestamp, payload) received at
    /// `now`; returns the access units completed by it, in order.
    pub fn push(
        &mut self,
        sequence: u16,
        marker: bool,
        timestamp: u32,
        payload: Bytes,
        now: Instant,
    ) -> Vec<VideoFrame> {
        let mut released = Vec::new();
        self.reorder
            .push(sequence, now, (marker, timestamp, payload), &mut released);
        let mut frames = Vec::new();
        for r in released {
            match r {
                Released::Packet((marker, ts, payload)) => {
                    self.on_packet(marker, ts, payload, &mut frames)
                }
                Released::Gap { lost } => self.on_gap(lost),
            }
        }
        frames
    }

    /// Whether a keyframe should be requested from the sender; clears the flag.
    pub fn take_keyframe_request(&mut self) -> bool {
        std::mem::take(&mut self.keyframe_request)
    }

    /// Access units dropped so far because of loss or while waiting for a keyframe.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn on_gap(&mut self, lost: u64) {
        tracing::debug!(lost, "H.264 packet loss");
        self.broken = true;
        self.gap_pending = true;
        self.reset_fragment();
        self.waiting_for_keyframe = true;
        self.keyframe_request = true;
    }

    fn reset_fragment(&mut self) {
        self.in_fragment = false;
        self.depacketizer = H264Packet::default();
    }

    fn on_packet(&mut self, marker: bool, ts: u32, payload: Bytes, out: &mut Vec<VideoFrame>) {
        if self.current_ts.is_some_and(|cur| cur != ts) {
            // New timestamp without a marker on the previous access unit.
            self.finish(out);
        }
        if self.current_ts.is_none() {
            self.current_ts = Some(ts);
            self.broken = std::mem::take(&mut self.gap_pending);
        }
        self.gap_pending = false;
        if !self.broken {
            self.depacketize(&payload);
        }
        if marker {
            self.finish(out);
        }
    }

    fn depacketize(&mut self, payload: &Bytes) {
        let Some(&first) = payload.first() else {
            return; // padding-only packet
        };
        let nal_type = first & 0x1F;
        if nal_type == FUA_NALU_TYPE {
            let start = payload.get(1).is_some_and(|b| b & FU_START_BITMASK != 0);
            if start == self.in_fragment {
                // A start while one is open (lost end) or a middle without a start (lost start).
                self.broken = true;
                self.reset_fragment();
                return;
            }
            self.in_fragment = true;
        } else if self.in_fragment {
            self.broken = true;
            self.reset_fragment();
            return;
        } else if nal_type == 0 || nal_type > STAPA_NALU_TYPE {
            // STAP-B, MTAP and FU-B are not used by WebRTC senders.
            self.broken = true;
            return;
        }
        match self.depacketizer.depacketize(payload) {
            Ok(annexb) => {
                if nal_type == FUA_NALU_TYPE && !annexb.is_empty() {
                    self.in_fragment = false; // the end fragment completed the NAL
                }
                self.buf.extend_from_slice(&annexb);
                if self.buf.len() > MAX_ACCESS_UNIT {
                    self.broken = true;
                }
            }
            Err(e) => {
                tracing::debug!("H.264 depacketize error: {e}");
                self.broken = true;
                self.reset_fragment();
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<VideoFrame>) {
        let Some(ts) = self.current_ts.take() else {
            return;
        };
        let data = std::mem::take(&mut self.buf);
        let broken = std::mem::take(&mut self.broken) || self.in_fragment;
        if self.in_fragment {
            self.reset_fragment();
        }
        if data.is_empty() && !broken {
            return;
        }
        if broken {
            self.dropped += 1;
            self.waiting_for_keyframe = true;
            self.keyframe_request = true;
            return;
        }
        let keyframe = is_keyframe(&data);
        if self.waiting_for_keyframe && !keyframe {
            self.dropped += 1;
            self.keyframe_request = true;
            return;
        }
        self.waiting_for_keyframe = false;
        out.push(VideoFrame {
            data: Bytes::from(data),
            rtp_timestamp: ts,
            keyframe,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPS: &[u8] = &[0x67, 0x42, 0xe0, 0x1f, 0xaa];
    const PPS: &[u8] = &[0x68, 0xce, 0x3c, 0x80];

    fn idr(len: usize) -> Vec<u8> {
        let mut v = vec![0x65];
        v.extend((0..len).map(|i| (i % 251) as u8 + 1));
        v
    }

    fn p_slice(len: usize) -> Vec<u8> {
        let mut v = vec![0x41];
        v.extend((0..len).map(|i| (i % 13) as u8 + 1));
        v
    }

    fn annexb(nals: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for n in nals {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(n);
        }
        out
    }

    fn stap_a(nals: &[&[u8]]) -> Bytes {
        let mut v = vec![STAPA_NALU_TYPE | 0x60];
        for n in nals {
            v.extend_from_slice(&(n.len() as u16).to_be_bytes());
            v.extend_from_slice(n);
        }
        Bytes::from(v)
    }

    /// Splits a NAL into FU-A fragments of at most `chunk` payload bytes.
    fn fu_a(nal: &[u8], chunk: usize) -> Vec<Bytes> {
        let indicator = (nal[0] & 0xE0) | FUA_NALU_TYPE;
        let body = &nal[1..];
        let pieces: Vec<&[u8]> = body.chunks(chunk).collect();
        pieces
            .iter()
            .enumerate()
            .map(|(i, piece)| {
                let mut header = nal[0] & 0x1F;
                if i == 0 {
                    header |= 0x80;
                }
                if i == pieces.len() - 1 {
                    header |= 0x40;
                }
                let mut v = vec![indicator, header];
                v.extend_from_slice(piece);
                Bytes::from(v)
            })
            .collect()
    }

    /// A keyframe (STAP-A SPS+PPS, then FU-A IDR) followed by a P-frame (single NAL).
    fn two_frames() -> Vec<(u16, bool, u32, Bytes)> {
        let idr = idr(3000);
        let mut pkts = vec![(100u16, false, 9000u32, stap_a(&[SPS, PPS]))];
        let frags = fu_a(&idr, 1000);
        let n = frags.len();
        for (i, f) in frags.into_iter().enumerate() {
            pkts.push((101 + i as u16, i == n - 1, 9000, f));
        }
        let next = 101 + n as u16;
        pkts.push((next, true, 12000, Bytes::from(p_slice(200))));
        pkts
    }

    fn feed(asm: &mut AccessUnitAssembler, pkts: &[(u16, bool, u32, Bytes)]) -> Vec<VideoFrame> {
        let now = Instant::now();
        pkts.iter()
            .flat_map(|(s, m, t, p)| asm.push(*s, *m, *t, p.clone(), now))
            .collect()
    }

    #[test]
    fn nal_iterator_handles_both_start_codes() {
        let data = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4,
        ];
        let nals: Vec<&[u8]> = annexb_nal_units(&data).collect();
        assert_eq!(
            nals,
            vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4][..]]
        );
        assert!(is_keyframe(&data));
        assert!(!is_keyframe(&[0, 0, 1, 0x41, 9]));
    }

    #[test]
    fn reassembles_single_stap_a_and_fu_a() {
        let mut asm = AccessUnitAssembler::new();
        let frames = feed(&mut asm, &two_frames());
        assert_eq!(frames.len(), 2);
        assert!(frames[0].keyframe);
        assert_eq!(frames[0].rtp_timestamp, 9000);
        assert_eq!(&frames[0].data[..], &annexb(&[SPS, PPS, &idr(3000)])[..]);
        assert!(!frames[1].keyframe);
        assert_eq!(&frames[1].data[..], &annexb(&[&p_slice(200)])[..]);
        assert!(!asm.take_keyframe_request());
    }

    #[test]
    fn reordered_packets_still_reassemble() {
        let mut pkts = two_frames();
        pkts.swap(1, 2);
        pkts.swap(3, 4);
        let mut asm = AccessUnitAssembler::new();
        let frames = feed(&mut asm, &pkts);
        assert_eq!(frames.len(), 2);
        assert_eq!(&frames[0].data[..], &annexb(&[SPS, PPS, &idr(3000)])[..]);
    }

    #[test]
    fn waits_for_a_keyframe_and_asks_for_one() {
        let mut asm = AccessUnitAssembler::new();
        let now = Instant::now();
        let f = asm.push(1, true, 100, Bytes::from(p_slice(10)), now);
        assert!(f.is_empty());
        assert!(asm.take_keyframe_request());
        assert_eq!(asm.dropped(), 1);
    }

    #[test]
    fn loss_inside_a_keyframe_drops_until_the_next_keyframe() {
        let mut pkts = two_frames();
        pkts.remove(2); // a middle FU-A fragment of the IDR
        let mut asm = AccessUnitAssembler::new();
        // Push a trailing run of P-frames so the re-order window gives up on the hole.
        let last = pkts.last().unwrap().0;
        for i in 1..=REORDER_PACKETS as u16 + 6 {
            pkts.push((
                last + i,
                true,
                12000 + 3000 * i as u32,
                Bytes::from(p_slice(20)),
            ));
        }
        let frames = feed(&mut asm, &pkts);
        assert!(frames.is_empty(), "nothing decodable without the keyframe");
        assert!(asm.take_keyframe_request());

        // A fresh keyframe restores delivery.
        let seq = pkts.last().unwrap().0 + 1;
        let now = Instant::now();
        let mut out = asm.push(seq, false, 900_000, stap_a(&[SPS, PPS]), now);
        out.extend(asm.push(seq + 1, true, 900_000, Bytes::from(idr(50)), now));
        out.extend(asm.push(seq + 2, true, 903_000, Bytes::from(p_slice(5)), now));
        assert_eq!(out.len(), 2);
        assert!(out[0].keyframe);
        assert!(!out[1].keyframe);
    }

    #[test]
    fn missing_marker_is_tolerated() {
        let mut asm = AccessUnitAssembler::new();
        let now = Instant::now();
        assert!(asm
            .push(1, false, 100, Bytes::from(annexb_free_idr()), now)
            .is_empty());
        let out = asm.push(2, true, 200, Bytes::from(p_slice(3)), now);
        assert_eq!(out.len(), 2);
        assert!(out[0].keyframe);
    }

    fn annexb_free_idr() -> Vec<u8> {
        idr(10)
    }
}
