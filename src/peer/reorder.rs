//! A small, bounded RTP re-ordering buffer.
//!
//! Packets can arrive out of order (network re-ordering, NACK retransmissions). The buffer
//! releases them strictly in sequence-number order; a missing packet is waited for until
//! either [`ReorderBuffer::new`]'s `max_held` packets are queued behind it or the oldest
//! queued packet has waited `max_wait`, after which the hole is reported as a [`Gap`](Released::Gap)
//! and release continues. Duplicates and packets older than the release point are dropped.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A sequence-number jump larger than this is treated as a stream restart.
const RESYNC_DISTANCE: u64 = 3_000;

/// What [`ReorderBuffer::push`] hands back, in order.
#[derive(Debug, PartialEq, Eq)]
pub enum Released<T> {
    /// The next packet in sequence.
    Packet(T),
    /// One or more packets are missing before the next released packet.
    Gap {
        /// How many sequence numbers were skipped.
        lost: u64,
    },
}

/// Bounded re-ordering buffer keyed by 16-bit RTP sequence numbers.
#[derive(Debug)]
pub struct ReorderBuffer<T> {
    /// Extended sequence number expected next (`None` before the first packet).
    next: Option<u64>,
    /// Highest extended sequence number seen, for unwrapping.
    highest: u64,
    held: BTreeMap<u64, (Instant, T)>,
    max_held: usize,
    max_wait: Duration,
}

impl<T> ReorderBuffer<T> {
    /// A buffer holding at most `max_held` packets behind a hole, for at most `max_wait`.
    pub fn new(max_held: usize, max_wait: Duration) -> Self {
        ReorderBuffer {
            next: None,
            highest: 0,
            held: BTreeMap::new(),
            max_held: max_held.max(1),
            max_wait,
        }
    }

    /// Maps a 16-bit sequence number to the extended (wrap-free) space, relative to the
    /// highest number seen so far.
    fn extend(&self, seq: u16) -> u64 {
        if self.next.is_none() {
            return (1u64 << 16) + seq as u64;
        }
        let base = self.highest & !0xFFFF;
        let candidates = [
            base.wrapping_sub(1 << 16) + seq as u64,
            base + seq as u64,
            base + (1 << 16) + seq as u64,
        ];
        *candidates
            .iter()
            .min_by_key(|c| c.abs_diff(self.highest))
            .expect("three candidates")
    }

    /// Adds a packet that arrived at `now` and appends everything that can be released to
    /// `out`.
    pub fn push(&mut self, seq: u16, now: Instant, item: T, out: &mut Vec<Released<T>>) {
        let ext = self.extend(seq);
        let next = match self.next {
            None => {
                self.next = Some(ext);
                self.highest = ext;
                ext
            }
            Some(n) => n,
        };
        let jumped = ext.abs_diff(next) > RESYNC_DISTANCE;
        if !jumped && (ext < next || self.held.contains_key(&ext)) {
            tracing::trace!(seq, "dropping late or duplicate RTP packet");
            return;
        }
        if jumped {
            tracing::debug!(seq, "RTP sequence jump; resynchronising");
            self.flush_all(out);
            out.push(Released::Gap { lost: 0 });
            self.next = Some(ext);
            self.highest = ext;
        }
        self.highest = self.highest.max(ext);
        self.held.insert(ext, (now, item));
        self.release(now, out);
    }

    fn release(&mut self, now: Instant, out: &mut Vec<Released<T>>) {
        loop {
            let Some(next) = self.next else { return };
            if let Some((_, item)) = self.held.remove(&next) {
                out.push(Released::Packet(item));
                self.next = Some(next + 1);
                continue;
            }
            let Some((&first, (arrived, _))) = self.held.iter().next() else {
                return;
            };
            let waited_too_long = now.saturating_duration_since(*arrived) >= self.max_wait;
            if self.held.len() >= self.max_held || waited_too_long {
                out.push(Released::Gap { lost: first - next });
                self.next = Some(first);
                continue;
            }
            return;
        }
    }

    /// Releases everything held, reporting holes as gaps.
    fn flush_all(&mut self, out: &mut Vec<Released<T>>) {
        let held = std::mem::take(&mut self.held);
        for (ext, (_, item)) in held {
            if let Some(next) = self.next {
                if ext > next {
                    out.push(Released::Gap { lost: ext - next });
                }
            }
            out.push(Released::Packet(item));
            self.next = Some(ext + 1);
        }
    }

    /// Number of packets currently waiting behind a hole.
    pub fn held(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(buf: &mut ReorderBuffer<u16>, seqs: &[u16], now: Instant) -> Vec<Released<u16>> {
        let mut out = Vec::new();
        for &s in seqs {
            buf.push(s, now, s, &mut out);
        }
        out
    }

    fn packets(out: &[Released<u16>]) -> Vec<u16> {
        out.iter()
            .filter_map(|r| match r {
                Released::Packet(p) => Some(*p),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn in_order_passes_straight_through_across_wrap() {
        let mut b = ReorderBuffer::new(8, Duration::from_millis(50));
        let out = run(&mut b, &[65534, 65535, 0, 1], Instant::now());
        assert_eq!(packets(&out), vec![65534, 65535, 0, 1]);
        assert!(out.iter().all(|r| matches!(r, Released::Packet(_))));
    }

    #[test]
    fn reorders_a_swapped_pair() {
        let mut b = ReorderBuffer::new(8, Duration::from_millis(50));
        let out = run(&mut b, &[10, 12, 11, 13], Instant::now());
        assert_eq!(packets(&out), vec![10, 11, 12, 13]);
        assert_eq!(b.held(), 0);
    }

    #[test]
    fn reports_a_gap_when_too_many_are_held() {
        let mut b = ReorderBuffer::new(3, Duration::from_secs(10));
        let out = run(&mut b, &[1, 3, 4, 5], Instant::now());
        assert_eq!(
            out,
            vec![
                Released::Packet(1),
                Released::Gap { lost: 1 },
                Released::Packet(3),
                Released::Packet(4),
                Released::Packet(5)
            ]
        );
        // The lost packet arriving late is dropped.
        assert!(run(&mut b, &[2], Instant::now()).is_empty());
    }

    #[test]
    fn reports_a_gap_after_max_wait() {
        let mut b = ReorderBuffer::new(100, Duration::from_millis(20));
        let t0 = Instant::now();
        let mut out = Vec::new();
        b.push(1, t0, 1, &mut out);
        b.push(3, t0, 3, &mut out);
        assert_eq!(packets(&out), vec![1]);
        b.push(4, t0 + Duration::from_millis(25), 4, &mut out);
        assert_eq!(packets(&out), vec![1, 3, 4]);
        assert!(out.contains(&Released::Gap { lost: 1 }));
    }

    #[test]
    fn duplicates_are_dropped() {
        let mut b = ReorderBuffer::new(8, Duration::from_millis(50));
        let out = run(&mut b, &[5, 5, 6, 6], Instant::now());
        assert_eq!(packets(&out), vec![5, 6]);
    }

    #[test]
    fn big_jump_resynchronises() {
        let mut b = ReorderBuffer::new(8, Duration::from_millis(50));
        let out = run(&mut b, &[100, 101, 30_000, 30_001], Instant::now());
        assert_eq!(packets(&out), vec![100, 101, 30_000, 30_001]);
        assert!(out.contains(&Released::Gap { lost: 0 }));
        let out = run(&mut b, &[5, 6], Instant::now());
        assert_eq!(
            packets(&out),
            vec![5, 6],
            "a restart further back resynchronises too"
        );
    }
}
