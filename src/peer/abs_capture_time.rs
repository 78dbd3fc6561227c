//! The abs-capture-time RTP header extension
//! (<http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time>): the
//! wall-clock time a frame was captured, as a 64-bit NTP timestamp (UQ32.32
//! seconds since 1900). It rides on the first packet of each video frame,
//! so a player can tell how old what it shows is (Chromium reports it as
//! `captureTimestamp` of the receiver's synchronization sources). The
//! optional clock-offset field is not sent: the time is this device's own
//! clock.

use bytes::Bytes;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The extension's URI, as SDP negotiates it.
pub const ABS_CAPTURE_TIME_URI: &str =
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";
/// Seconds from 1900 (NTP's epoch) to 1970 (Unix's).
const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// One capture time, ready for the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbsCaptureTime {
    /// NTP time, UQ32.32.
    pub ntp: u64,
}

impl AbsCaptureTime {
    /// The wall-clock time of `at` (a monotonic instant in the past or now).
    pub fn of(at: Instant) -> Self {
        let ago = Instant::now().saturating_duration_since(at);
        Self::at_wall_clock(SystemTime::now() - ago)
    }

    /// The NTP form of the wall-clock time `time`.
    pub fn at_wall_clock(time: SystemTime) -> Self {
        let unix = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        let seconds = unix.as_secs() + NTP_UNIX_OFFSET_SECS;
        let fraction = (u64::from(unix.subsec_nanos()) << 32) / 1_000_000_000;
        AbsCaptureTime {
            ntp: (seconds << 32) | fraction,
        }
    }

    /// The extension element's 8 bytes.
    pub fn to_bytes(self) -> Bytes {
        Bytes::copy_from_slice(&self.ntp.to_be_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_time_becomes_ntp_uq32_32() {
        // 2026-01-01T00:00:00.5Z is 1767225600.5 s after 1970.
        let time = UNIX_EPOCH + Duration::from_millis(1_767_225_600_500);
        let ntp = AbsCaptureTime::at_wall_clock(time).ntp;
        assert_eq!(ntp >> 32, 1_767_225_600 + NTP_UNIX_OFFSET_SECS);
        assert_eq!(ntp & 0xffff_ffff, 1 << 31, "half a second");
        let bytes = AbsCaptureTime { ntp }.to_bytes();
        assert_eq!(bytes.len(), 8);
        assert_eq!(u64::from_be_bytes(bytes[..].try_into().unwrap()), ntp);
    }

    #[test]
    fn an_instant_in_the_past_is_that_long_before_now() {
        let now = AbsCaptureTime::at_wall_clock(SystemTime::now()).ntp;
        let then = AbsCaptureTime::of(Instant::now() - Duration::from_millis(250)).ntp;
        let gap = (now - then) as f64 / 4_294_967_296.0;
        assert!((0.24..0.26).contains(&gap), "{gap} s");
    }
}
