//! How fast, and how large, the one encoder makes the picture when the
//! viewers' paths differ. One encode feeds every viewer, so the encoder
//! follows the weakest viewer's estimate down (a share of it, leaving room
//! for sound, repairs and headers), never below a floor, and never above
//! the configured rate. A family member on a poor link then gets a smooth,
//! smaller picture instead of a frozen one. When the viewers' paths are far
//! apart, the encoder runs at a rate whose base temporal layer fits the
//! weakest path, and that viewer is sent the base layer alone (half the
//! frames), so the others keep every frame ([`estimate_to_follow`],
//! [`Thinning`]). When the rate stays low the picture is
//! halved in each direction (a 640×480 picture below 300 kbit/s, about 0.033
//! bits per pixel), and goes back to full size once the rate stays 1.5×
//! that, each change held for [`SIZE_HOLD`] so it does not flap.

use std::time::{Duration, Instant};

/// The lowest rate the encoder is asked for.
pub const FLOOR_BPS: u32 = 60_000;
/// The share of the weakest estimate the video takes.
pub const ESTIMATE_SHARE: f64 = 0.8;
/// Bits per pixel (per frame) below which the picture is halved.
pub const HALVE_BELOW_BPP: f64 = 300_000.0 / (640.0 * 480.0 * 30.0);
/// How long a rate must stay low (or high again) before the size changes.
pub const SIZE_HOLD: Duration = Duration::from_secs(2);

/// A viewer is thinned when the stream is this many times its estimate.
pub const THIN_ABOVE: f64 = 1.25;
/// A thinned viewer gets every frame again below this many times.
pub const WHOLE_BELOW: f64 = 0.95;

/// About the share of the stream's bits in the base temporal layer (every
/// other frame, the ones the others reference).
pub const BASE_LAYER_SHARE: f64 = 0.6;

/// Whether the viewers' paths are far apart, which is when the encoder
/// makes temporal layers: from when the strongest estimate is twice the
/// weakest, until it has been less than 1.5 times for [`LAYERS_OFF_HOLD`]
/// (a slow path's estimate swings, and each switch costs an IDR).
#[derive(Debug, Default, Clone, Copy)]
pub struct Layering {
    on: bool,
    /// Since when the estimates have been close, while on.
    close_since: Option<Instant>,
}

/// How long the estimates must stay close before the layers go.
pub const LAYERS_OFF_HOLD: Duration = Duration::from_secs(5);

impl Layering {
    /// Takes the weakest and the strongest estimate at `now`; returns
    /// whether the paths are far apart.
    pub fn update(&mut self, weakest: Option<u64>, strongest: Option<u64>, now: Instant) -> bool {
        let ratio = match (weakest, strongest) {
            (Some(weakest), Some(strongest)) => strongest as f64 / weakest.max(1) as f64,
            _ => 1.0,
        };
        if !self.on {
            self.on = ratio >= 2.0;
            self.close_since = None;
        } else if ratio >= 1.5 {
            self.close_since = None;
        } else if now.duration_since(*self.close_since.get_or_insert(now)) >= LAYERS_OFF_HOLD {
            self.on = false;
            self.close_since = None;
        }
        self.on
    }
}

/// The path estimate the one encoder follows, from the weakest and the
/// strongest viewer's. Alike (or one viewer): the weakest, as
/// [`encoder_rate`] says. Far apart ([`Layering`]): a rate whose base layer
/// fits the weakest (it is sent that layer alone, see [`Thinning`]), so the
/// others keep every frame; never above the strongest.
pub fn estimate_to_follow(
    weakest: Option<u64>,
    strongest: Option<u64>,
    apart: bool,
) -> Option<u64> {
    let (Some(weakest), Some(strongest), true) = (weakest, strongest, apart) else {
        return weakest;
    };
    let for_base_layer = ((weakest as f64 / BASE_LAYER_SHARE) as u64).max(APART_FLOOR_BPS);
    Some(for_base_layer.min(strongest))
}

/// While the paths are far apart the encoder follows no less than this: a
/// slow path's estimate swings far below what the path carries, and the
/// viewers on fast paths should not lose frames to every swing.
pub const APART_FLOOR_BPS: u64 = 250_000;

/// The rate to encode at: `configured`, or the share of the weakest
/// viewer's estimate when that is lower, never below [`FLOOR_BPS`].
pub fn encoder_rate(configured: u32, weakest: Option<u64>) -> u32 {
    let Some(weakest) = weakest else {
        return configured;
    };
    let share = (weakest as f64 * ESTIMATE_SHARE) as u64;
    share.min(u64::from(configured)).max(u64::from(FLOOR_BPS)) as u32
}

/// The rate an encoder was last set to, and when to set it again: only a
/// change of more than a twentieth is worth telling the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateFollower {
    configured: u32,
    current: u32,
}

impl RateFollower {
    /// An encoder set up at `configured` bits per second.
    pub fn new(configured: u32) -> Self {
        RateFollower {
            configured,
            current: configured,
        }
    }

    /// The rate the encoder runs at.
    pub fn current(&self) -> u32 {
        self.current
    }

    /// Takes the weakest viewer's estimate; returns the rate to set the
    /// encoder to, when it differs enough from the current one.
    pub fn follow(&mut self, weakest: Option<u64>) -> Option<u32> {
        let target = encoder_rate(self.configured, weakest);
        if target.abs_diff(self.current) <= self.current / 20 {
            return None;
        }
        self.current = target;
        Some(target)
    }
}

/// Whether one viewer is sent the base temporal layer alone: when the whole
/// stream (its rate over the last second) is more than [`THIN_ABOVE`] times
/// that viewer's path estimate, held for [`SIZE_HOLD`]; all layers again
/// once the stream is below [`WHOLE_BELOW`] times the estimate for as long.
/// A lone viewer is followed by the encoder (about 0.8–0.9 of its estimate)
/// and keeps every frame; the weak one of viewers far apart is sent 1.3
/// times its estimate and more ([`estimate_to_follow`]), and is thinned.
#[derive(Debug, Default, Clone)]
pub struct Thinning {
    thin: bool,
    pending: Option<Instant>,
    /// (when, bytes) of the frames of the last second.
    recent: std::collections::VecDeque<(Instant, usize)>,
}

impl Thinning {
    /// Notes a frame of `bytes` published at `now` (sent or not) and the
    /// viewer's estimate; returns whether upper layers are skipped now.
    pub fn update(&mut self, bytes: usize, estimate: Option<u64>, now: Instant) -> bool {
        self.recent.push_back((now, bytes));
        while self
            .recent
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > Duration::from_secs(1))
        {
            self.recent.pop_front();
        }
        let Some(estimate) = estimate.filter(|e| *e > 0) else {
            self.pending = None;
            return self.thin;
        };
        let stream = self.recent.iter().map(|(_, b)| *b as f64).sum::<f64>() * 8.0;
        let wants_other = if self.thin {
            stream < estimate as f64 * WHOLE_BELOW
        } else {
            stream > estimate as f64 * THIN_ABOVE
        };
        if !wants_other {
            self.pending = None;
            return self.thin;
        }
        let since = *self.pending.get_or_insert(now);
        if now.duration_since(since) >= SIZE_HOLD {
            self.thin = !self.thin;
            self.pending = None;
        }
        self.thin
    }
}

/// Whether the picture is halved, with the hold that keeps it from flapping.
#[derive(Debug, Default, Clone)]
pub struct SizeRule {
    half: bool,
    /// Since when the rate has asked for the other size.
    pending: Option<Instant>,
}

impl SizeRule {
    /// Whether the picture is halved now.
    pub fn is_half(&self) -> bool {
        self.half
    }

    /// Feeds the rate encoded at `now` for a full picture of
    /// `full_pixels_per_second`; returns whether the picture is halved.
    pub fn update(&mut self, rate: u32, full_pixels_per_second: u64, now: Instant) -> bool {
        let bpp = f64::from(rate) / full_pixels_per_second.max(1) as f64;
        let wants_other = if self.half {
            bpp >= HALVE_BELOW_BPP * 1.5
        } else {
            bpp < HALVE_BELOW_BPP
        };
        if !wants_other {
            self.pending = None;
            return self.half;
        }
        let since = *self.pending.get_or_insert(now);
        if now.saturating_duration_since(since) >= SIZE_HOLD {
            self.half = !self.half;
            self.pending = None;
        }
        self.half
    }
}

/// Spaces keyframes made on request by the time the last one takes to
/// cross the weakest path (1.5× its size over the estimate): on a slow
/// link a 640×480 keyframe takes a second or two, and asking for another
/// before it arrived (every viewer's PLI after a loss) only sent keyframes
/// that were lost in turn; the picture froze for 6 s at 150 kbit/s.
#[derive(Debug, Default, Clone)]
pub struct KeyframePacing {
    next: Option<Instant>,
}

impl KeyframePacing {
    /// Whether a requested keyframe may be made at `now`.
    pub fn may_force(&self, now: Instant) -> bool {
        self.next.is_none_or(|next| now >= next)
    }

    /// A keyframe of `bytes` went out at `now`; `weakest` is the weakest
    /// viewer's estimate, if known.
    pub fn sent(&mut self, bytes: usize, weakest: Option<u64>, now: Instant) {
        let crossing = weakest
            .filter(|&bps| bps > 0)
            .map_or(Duration::ZERO, |bps| {
                Duration::from_secs_f64(bytes as f64 * 8.0 * 1.5 / bps as f64)
            });
        self.next = Some(now + crossing);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VGA30: u64 = 640 * 480 * 30;

    #[test]
    fn the_encoder_follows_the_weakest_viewer_between_floor_and_configured() {
        assert_eq!(encoder_rate(1_000_000, None), 1_000_000);
        assert_eq!(encoder_rate(1_000_000, Some(5_000_000)), 1_000_000);
        assert_eq!(encoder_rate(1_000_000, Some(500_000)), 400_000);
        assert_eq!(encoder_rate(1_000_000, Some(150_000)), 120_000);
        assert_eq!(encoder_rate(1_000_000, Some(10_000)), FLOOR_BPS);
    }

    #[test]
    fn viewers_far_apart_make_the_encoder_fit_the_weak_ones_base_layer() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut layering = Layering::default();
        assert!(!layering.update(None, None, at(0)));
        assert!(!layering.update(Some(500_000), Some(900_000), at(0)));
        assert!(layering.update(Some(150_000), Some(2_000_000), at(1)));
        // Between 1.5 and 2 times: stays on.
        assert!(layering.update(Some(500_000), Some(900_000), at(2)));
        // Close for a moment (a slow path's estimate swings up): still on.
        assert!(layering.update(Some(500_000), Some(700_000), at(3)));
        assert!(layering.update(Some(150_000), Some(700_000), at(4)));
        // Close for the whole hold: off, and not on again between 1.5 and 2.
        assert!(layering.update(Some(500_000), Some(700_000), at(5)));
        assert!(layering.update(Some(500_000), Some(700_000), at(9)));
        assert!(!layering.update(Some(500_000), Some(700_000), at(10)));
        assert!(!layering.update(Some(500_000), Some(900_000), at(11)));
        // One viewer left: off.
        assert!(layering.update(Some(100_000), Some(900_000), at(12)));
        assert!(layering.update(Some(100_000), None, at(13)));
        assert!(!layering.update(None, None, at(18)));
        assert_eq!(estimate_to_follow(None, None, false), None);
        assert_eq!(
            estimate_to_follow(Some(500_000), Some(900_000), false),
            Some(500_000)
        );
        // 150 kbit/s beside 2 Mbit/s: the base layer of 250 kbit/s fits the slow one.
        assert_eq!(
            estimate_to_follow(Some(150_000), Some(2_000_000), true),
            Some(250_000)
        );
        // Never above the strongest, nor below the floor when the weak one crashes.
        assert_eq!(
            estimate_to_follow(Some(150_000), Some(200_000), true),
            Some(200_000)
        );
        assert_eq!(
            estimate_to_follow(Some(50_000), Some(2_000_000), true),
            Some(APART_FLOOR_BPS)
        );
    }

    #[test]
    fn a_viewer_gets_the_base_layer_alone_while_the_stream_outruns_its_path() {
        let t0 = Instant::now();
        let mut thinning = Thinning::default();
        let frame = |n: u32| t0 + Duration::from_millis(33) * n;
        // 1 kB frames at 30 fps: 240 kbit/s, on a 150 kbit/s path.
        let mut thin_at = None;
        for n in 0..120 {
            if thinning.update(1000, Some(150_000), frame(n)) && thin_at.is_none() {
                thin_at = Some(n);
            }
        }
        // A second to measure, then the 2 s hold.
        let n = thin_at.expect("thinned");
        assert!((60..=92).contains(&n), "thinned at frame {n}");
        // No estimate: stays as it is.
        assert!(thinning.update(1000, None, frame(120)));
        // The path grows to 400 kbit/s: all layers again after the hold.
        let mut whole_at = None;
        for n in 121..300 {
            if !thinning.update(1000, Some(400_000), frame(n)) && whole_at.is_none() {
                whole_at = Some(n);
            }
        }
        let n = whole_at.expect("all layers again");
        assert!((180..=182).contains(&n), "all layers at frame {n}");
        // A stream well within the path is never thinned.
        let mut calm = Thinning::default();
        assert!((0..300).all(|n| !calm.update(500, Some(400_000), frame(n))));
    }

    #[test]
    fn the_follower_changes_the_rate_only_when_it_moves_more_than_a_twentieth() {
        let mut follower = RateFollower::new(600_000);
        assert_eq!(follower.follow(None), None);
        assert_eq!(
            follower.follow(Some(5_000_000)),
            None,
            "capped at configured"
        );
        assert_eq!(follower.follow(Some(500_000)), Some(400_000));
        // 410 kbit/s is within a twentieth of 400: left alone.
        assert_eq!(follower.follow(Some(512_500)), None);
        assert_eq!(follower.current(), 400_000);
        assert_eq!(follower.follow(Some(150_000)), Some(120_000));
        // The viewer left: back to the configured rate.
        assert_eq!(follower.follow(None), Some(600_000));
    }

    #[test]
    fn a_low_rate_halves_the_picture_after_the_hold_and_a_high_one_restores_it() {
        let t0 = Instant::now();
        let mut rule = SizeRule::default();
        assert!(!rule.update(120_000, VGA30, t0));
        assert!(!rule.update(120_000, VGA30, t0 + Duration::from_secs(1)));
        assert!(rule.update(120_000, VGA30, t0 + SIZE_HOLD));
        // 400 kbit/s is above the halving line but below 1.5× it: stays half.
        assert!(rule.update(400_000, VGA30, t0 + Duration::from_secs(10)));
        assert!(rule.update(400_000, VGA30, t0 + Duration::from_secs(20)));
        let back = t0 + Duration::from_secs(30);
        assert!(rule.update(1_000_000, VGA30, back));
        assert!(!rule.update(1_000_000, VGA30, back + SIZE_HOLD));
    }

    #[test]
    fn keyframes_on_request_are_spaced_by_their_crossing_time() {
        let t0 = Instant::now();
        let mut pacing = KeyframePacing::default();
        assert!(pacing.may_force(t0));
        // 20 kB at 150 kbit/s: 1.07 s to cross, 1.6 s with the margin.
        pacing.sent(20_000, Some(150_000), t0);
        assert!(!pacing.may_force(t0 + Duration::from_secs(1)));
        assert!(pacing.may_force(t0 + Duration::from_millis(1600)));
        // On a fast path, 24 ms (1.5 × 16 ms); with no estimate, at once.
        pacing.sent(20_000, Some(10_000_000), t0);
        assert!(!pacing.may_force(t0 + Duration::from_millis(23)));
        assert!(pacing.may_force(t0 + Duration::from_millis(25)));
        pacing.sent(20_000, None, t0);
        assert!(pacing.may_force(t0));
    }

    #[test]
    fn a_short_dip_does_not_change_the_size() {
        let t0 = Instant::now();
        let mut rule = SizeRule::default();
        assert!(!rule.update(120_000, VGA30, t0));
        assert!(!rule.update(800_000, VGA30, t0 + Duration::from_secs(1)));
        assert!(!rule.update(120_000, VGA30, t0 + Duration::from_millis(2500)));
        assert!(!rule.update(120_000, VGA30, t0 + Duration::from_millis(4000)));
    }
}
