//! Hearth's NACK responder: holds what it sent and answers a receiver's
//! NACK by the rules of [`resend_policy`](crate::peer::resend_policy), in
//! the chain's NACK responder slot (the stack's own resends every ask).
//!
//! It sits where the stack's responder would (`Slot::NackResponder`):
//! application-ward of the pacer, congestion control and transport-wide
//! numbering, so resends are paced, numbered and counted like any packet.
//! Round trips come from receiver reports about our sender reports (RFC
//! 3550 §6.4.1: now − LSR − DLSR). A packet that cannot be resent turns
//! into a keyframe request (a PLI handed up the read leg, which
//! [`KeyframeRequestForwarder`](crate::peer::keyframe::KeyframeRequestForwarder)
//! delivers to the track like a receiver's own).

use crate::peer::resend_policy::{Decision, ResendPolicy, Sent};
use rtc::interceptor::{
    Attribute, AttributedPacket, Interceptor, Packet, StreamInfo, TaggedPacket,
};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use rtc::sansio::Protocol;
use rtc::shared::marshal::MarshalSize;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Packets held per stream for resending (a power of two): 1,024 is
/// several seconds of video at the rates Hearth sends.
const HELD: usize = 1024;
/// Sender reports remembered for round-trip measurement.
const REPORTS_KEPT: usize = 16;

/// One stream's held packets, by sequence number modulo [`HELD`].
struct Held {
    slots: Vec<Option<(rtc::rtp::Packet, Sent)>>,
}

impl Held {
    fn new() -> Held {
        Held {
            slots: vec![None; HELD],
        }
    }

    fn put(&mut self, packet: rtc::rtp::Packet, now: Instant) {
        let i = usize::from(packet.header.sequence_number) % HELD;
        self.slots[i] = Some((packet, Sent::new(now)));
    }

    fn get(&mut self, seq: u16) -> Option<&mut (rtc::rtp::Packet, Sent)> {
        self.slots[usize::from(seq) % HELD]
            .as_mut()
            .filter(|(p, _)| p.header.sequence_number == seq)
    }
}

/// What this responder did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ResendCounts {
    /// Packets resent.
    pub resent: u64,
    /// Asks ignored: within a round trip of the packet's last sending.
    pub too_soon: u64,
    /// Asks refused: the packet was resent the most times already.
    pub gave_up: u64,
    /// Asks refused: the budget of the last second was used.
    pub over_budget: u64,
    /// Asks for packets no longer held.
    pub not_held: u64,
    /// Keyframe requests made instead of resends.
    pub keyframes_asked: u64,
}

/// The interceptor; see the module docs.
#[derive(Default)]
pub struct MannerlyNackResponder {
    policy: ResendPolicy,
    streams: HashMap<u32, Held>,
    /// Middle 32 bits of each recent sender report's NTP time, and when it left.
    reports: VecDeque<(u32, Instant)>,
    counts: ResendCounts,
    read_queue: VecDeque<TaggedPacket>,
    write_queue: VecDeque<TaggedPacket>,
}

impl MannerlyNackResponder {
    /// What it did so far.
    pub fn counts(&self) -> ResendCounts {
        self.counts
    }

    fn on_nack(&mut self, msg: &TaggedPacket, nack: &TransportLayerNack) {
        let now = msg.now;
        let Some(held) = self.streams.get_mut(&nack.media_ssrc) else {
            return;
        };
        let mut keyframe = false;
        for seq in nack.nacks.iter().flat_map(|pair| pair.packet_list()) {
            let Some((packet, sent)) = held.get(seq) else {
                self.counts.not_held += 1;
                keyframe = true;
                continue;
            };
            let bytes = packet.header.marshal_size() + packet.payload.len();
            match self.policy.on_ask(sent, bytes, now) {
                Decision::Resend => {
                    self.counts.resent += 1;
                    self.write_queue.push_back(TaggedPacket {
                        now,
                        transport: msg.transport,
                        message: AttributedPacket::new(Packet::Rtp(packet.clone()))
                            .with(Attribute::Retransmission),
                    });
                }
                Decision::TooSoon => self.counts.too_soon += 1,
                Decision::GaveUp => {
                    self.counts.gave_up += 1;
                    keyframe = true;
                }
                Decision::OverBudget => {
                    self.counts.over_budget += 1;
                    keyframe = true;
                }
            }
        }
        if keyframe && self.policy.ask_keyframe(now) {
            self.counts.keyframes_asked += 1;
            let pli = PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc: nack.media_ssrc,
            };
            self.read_queue.push_back(TaggedPacket {
                now,
                transport: msg.transport,
                message: AttributedPacket::new(Packet::Rtcp(vec![Box::new(pli)])),
            });
        }
    }

    fn on_receiver_report(&mut self, now: Instant, rr: &ReceiverReport) {
        for block in &rr.reports {
            if !self.streams.contains_key(&block.ssrc) || block.last_sender_report == 0 {
                continue;
            }
            let Some(&(_, sent)) = self
                .reports
                .iter()
                .find(|(mid, _)| *mid == block.last_sender_report)
            else {
                continue;
            };
            let held_there = Duration::from_secs_f64(f64::from(block.delay) / 65_536.0);
            if let Some(rtt) = now.saturating_duration_since(sent).checked_sub(held_there) {
                self.policy.observe_rtt(rtt);
            }
        }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for MannerlyNackResponder {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            for packet in packets {
                let any = packet.as_any();
                if let Some(nack) = any.downcast_ref::<TransportLayerNack>() {
                    self.on_nack(&msg, nack);
                } else if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
                    self.on_receiver_report(msg.now, rr);
                } else if let Some(sr) = any.downcast_ref::<SenderReport>() {
                    // A sender report carries reception blocks too.
                    let rr = ReceiverReport {
                        reports: sr.reports.clone(),
                        ..Default::default()
                    };
                    self.on_receiver_report(msg.now, &rr);
                }
            }
        }
        self.read_queue.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read_queue.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        match &msg.message.packet {
            Packet::Rtp(packet) => {
                if let Some(held) = self.streams.get_mut(&packet.header.ssrc) {
                    let bytes = packet.header.marshal_size() + packet.payload.len();
                    self.policy.sent_first(bytes, msg.now);
                    held.put(packet.clone(), msg.now);
                }
            }
            Packet::Rtcp(packets) => {
                for sr in packets
                    .iter()
                    .filter_map(|p| p.as_any().downcast_ref::<SenderReport>())
                {
                    if self.reports.len() == REPORTS_KEPT {
                        self.reports.pop_front();
                    }
                    self.reports
                        .push_back(((sr.ntp_time >> 16) as u32, msg.now));
                }
            }
            _ => {}
        }
        self.write_queue.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write_queue.pop_front()
    }
}

impl Interceptor for MannerlyNackResponder {
    fn bind_local_stream(&mut self, info: &StreamInfo) {
        let nack = info
            .rtcp_feedback
            .iter()
            .any(|fb| fb.typ == "nack" && fb.parameter.is_empty());
        if nack {
            self.streams.insert(info.ssrc, Held::new());
        }
    }

    fn unbind_local_stream(&mut self, info: &StreamInfo) {
        self.streams.remove(&info.ssrc);
    }

    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::interceptor::{NackResponderBuilder, RTCPFeedback};
    use rtc::rtcp::transport_feedbacks::transport_layer_nack::NackPair;
    use rtc::shared::TransportContext;

    const SSRC: u32 = 0x1234;
    const MS: Duration = Duration::from_millis(1);

    fn video() -> StreamInfo {
        StreamInfo {
            ssrc: SSRC,
            rtcp_feedback: vec![RTCPFeedback {
                typ: "nack".into(),
                parameter: String::new(),
            }],
            ..Default::default()
        }
    }

    fn tagged(now: Instant, packet: Packet) -> TaggedPacket {
        TaggedPacket {
            now,
            transport: TransportContext::default(),
            message: AttributedPacket::new(packet),
        }
    }

    fn rtp(seq: u16) -> Packet {
        let mut packet = rtc::rtp::Packet::default();
        packet.header.version = 2;
        packet.header.ssrc = SSRC;
        packet.header.sequence_number = seq;
        packet.payload = vec![0u8; 1000].into();
        Packet::Rtp(packet)
    }

    fn nack(seq: u16) -> Packet {
        Packet::Rtcp(vec![Box::new(TransportLayerNack {
            sender_ssrc: 1,
            media_ssrc: SSRC,
            nacks: vec![NackPair {
                packet_id: seq,
                lost_packets: 0,
            }],
        })])
    }

    /// Sends packets 0..100 at t0, then NACKs packet 7 `asks` times, one
    /// every `every`; returns how many packets came out beyond the 100, and
    /// the PLIs handed up.
    fn resends<I: Interceptor>(mut responder: I, asks: u32, every: Duration) -> (usize, usize) {
        responder.bind_local_stream(&video());
        let t0 = Instant::now();
        for seq in 0..100 {
            responder.handle_write(tagged(t0, rtp(seq))).unwrap();
        }
        while responder.poll_write().is_some() {}
        let mut plis = 0;
        for n in 1..=asks {
            responder
                .handle_read(tagged(t0 + 150 * MS + every * n, nack(7)))
                .unwrap();
            while let Some(up) = responder.poll_read() {
                if let Packet::Rtcp(p) = &up.message.packet {
                    plis += p
                        .iter()
                        .filter(|p| p.as_any().is::<PictureLossIndication>())
                        .count();
                }
            }
        }
        let mut out = 0;
        while responder.poll_write().is_some() {
            out += 1;
        }
        (out, plis)
    }

    #[test]
    fn ten_asks_within_a_round_trip_are_one_resend() {
        let (ours, plis) = resends(MannerlyNackResponder::default(), 10, 10 * MS);
        assert_eq!((ours, plis), (1, 0));
        // The stack's own responder answers every ask.
        let (stacks, _) = resends(NackResponderBuilder::new().build(), 10, 10 * MS);
        assert_eq!(stacks, 10);
    }

    #[test]
    fn a_packet_asked_for_all_along_is_resent_three_times_then_a_keyframe_is_asked() {
        // The storm's pattern: the same packet asked for every 110 ms, 101 times.
        let (ours, plis) = resends(MannerlyNackResponder::default(), 101, 110 * MS);
        assert_eq!(ours, 3);
        assert!(plis >= 1, "a keyframe is asked instead");
        let (stacks, _) = resends(NackResponderBuilder::new().build(), 101, 110 * MS);
        assert_eq!(stacks, 101);
    }

    #[test]
    fn a_packet_no_longer_held_asks_for_a_keyframe() {
        let mut responder = MannerlyNackResponder::default();
        responder.bind_local_stream(&video());
        let t0 = Instant::now();
        responder.handle_write(tagged(t0, rtp(5))).unwrap();
        responder.handle_read(tagged(t0, nack(900))).unwrap();
        let up: Vec<_> = std::iter::from_fn(|| responder.poll_read()).collect();
        let pli = up.iter().any(|m| match &m.message.packet {
            Packet::Rtcp(p) => p.iter().any(|p| p.as_any().is::<PictureLossIndication>()),
            _ => false,
        });
        assert!(pli);
        assert_eq!(responder.counts().not_held, 1);
    }

    #[test]
    fn the_round_trip_is_read_from_receiver_reports() {
        let mut responder = MannerlyNackResponder::default();
        responder.bind_local_stream(&video());
        let t0 = Instant::now();
        let sr = SenderReport {
            ssrc: SSRC,
            ntp_time: 0x0001_2345_6789_0000,
            ..Default::default()
        };
        responder
            .handle_write(tagged(t0, Packet::Rtcp(vec![Box::new(sr)])))
            .unwrap();
        // The report comes back 90 ms later, held 30 ms over there: 60 ms.
        let rr = ReceiverReport {
            ssrc: 1,
            reports: vec![rtc::rtcp::reception_report::ReceptionReport {
                ssrc: SSRC,
                last_sender_report: 0x2345_6789,
                delay: 65_536 * 30 / 1000,
                ..Default::default()
            }],
            ..Default::default()
        };
        responder
            .handle_read(tagged(t0 + 90 * MS, Packet::Rtcp(vec![Box::new(rr)])))
            .unwrap();
        let rtt = responder.policy.rtt();
        assert!(rtt > 59 * MS && rtt < 61 * MS, "{rtt:?}");
    }
}
