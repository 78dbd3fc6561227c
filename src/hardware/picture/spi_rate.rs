//! How many pictures a second a small SPI panel can take, and which frames to drop to
//! stay within that.
//!
//! An ST7789 at 240×240 and 16 bits per pixel is 921,600 bits a frame: at 62.5 MHz that
//! is at most ~67 frames a second, less the time the bus spends on commands, chip-select
//! gaps and DMA set-up. Sending faster than that only queues frames behind the bus and
//! adds delay, so the sender drops frames that arrive too soon instead.

use std::time::{Duration, Instant};

/// Frames per second a `width`×`height` panel at `bits_per_pixel` can receive on a bus
/// clocked at `bus_hz`, when a fraction `overhead` (0.0 ≤ overhead < 1.0) of the bus
/// time goes to anything other than pixels. 0.0 for an empty or impossible input.
pub fn max_fps(width: u32, height: u32, bits_per_pixel: u32, bus_hz: u32, overhead: f64) -> f64 {
    let bits_per_frame = f64::from(width) * f64::from(height) * f64::from(bits_per_pixel);
    if bits_per_frame <= 0.0 || !(0.0..1.0).contains(&overhead) {
        return 0.0;
    }
    f64::from(bus_hz) * (1.0 - overhead) / bits_per_frame
}

/// Whether to send a frame that is ready at `now`, given when the last one was sent
/// (`None`: nothing sent yet) and the panel's `max_fps`: send once at least
/// `1 / max_fps` has passed, drop it otherwise. Never sends at a `max_fps` of zero or
/// less.
pub fn send_now(last_sent: Option<Instant>, now: Instant, max_fps: f64) -> bool {
    let Some(interval) = min_interval(max_fps) else {
        return false;
    };
    match last_sent {
        None => true,
        Some(last) => now.saturating_duration_since(last) >= interval,
    }
}

/// The shortest time between two frames at `max_fps`; `None` for no frames at all.
pub fn min_interval(max_fps: f64) -> Option<Duration> {
    (max_fps.is_finite() && max_fps > 0.0).then(|| Duration::from_secs_f64(1.0 / max_fps))
}

/// The share of bus time assumed lost to commands, chip-select gaps and set-up.
pub const BUS_OVERHEAD: f64 = 0.1;

/// The I2C clock an SSD1306 runs at (fast mode).
pub const I2C_HZ: u32 = 400_000;

/// Pictures a second the small screen of `size` can take: a 128×64 one-bit
/// panel over I2C at [`I2C_HZ`], otherwise a 16-bit colour panel over SPI at
/// `spi_hz` (the board profile's; a simulated screen imitates it).
pub fn panel_fps(width: u32, height: u32, spi_hz: u32) -> f64 {
    if (width, height) == (128, 64) {
        max_fps(width, height, 1, I2C_HZ, BUS_OVERHEAD)
    } else {
        max_fps(width, height, 16, spi_hz, BUS_OVERHEAD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_st7789_at_62_5_mhz_takes_about_67_frames() {
        let raw = max_fps(240, 240, 16, 62_500_000, 0.0);
        assert!((raw - 67.8).abs() < 0.1, "{raw}");
        let with_overhead = max_fps(240, 240, 16, 62_500_000, 0.25);
        assert!((with_overhead - 50.9).abs() < 0.1, "{with_overhead}");
        // An SSD1306 over I2C at 400 kHz: one bit per pixel, 48 frames raw.
        assert!((max_fps(128, 64, 1, 400_000, 0.0) - 48.8).abs() < 0.1);
        // The profiles' 32 MHz ST7789, less a tenth for commands: 31 frames.
        assert!((panel_fps(240, 240, 32_000_000) - 31.2).abs() < 0.1);
        assert!((panel_fps(128, 64, 32_000_000) - 43.9).abs() < 0.1);
    }

    #[test]
    fn impossible_inputs_give_no_frames() {
        assert_eq!(max_fps(0, 240, 16, 62_500_000, 0.0), 0.0);
        assert_eq!(max_fps(240, 240, 16, 62_500_000, 1.0), 0.0);
        assert_eq!(max_fps(240, 240, 16, 62_500_000, -0.1), 0.0);
        assert_eq!(max_fps(240, 240, 16, 62_500_000, f64::NAN), 0.0);
    }

    #[test]
    fn frames_arriving_too_soon_are_dropped() {
        let start = Instant::now();
        let ms = |n: u64| start + Duration::from_millis(n);
        // (last sent, now, max fps, send?)
        let cases = [
            (None, ms(0), 20.0, true),
            (Some(ms(0)), ms(30), 20.0, false),
            (Some(ms(0)), ms(50), 20.0, true),
            (Some(ms(0)), ms(51), 20.0, true),
            (Some(ms(10)), ms(5), 20.0, false),
            (None, ms(0), 0.0, false),
            (Some(ms(0)), ms(1000), f64::NAN, false),
        ];
        for (last, now, fps, expected) in cases {
            assert_eq!(send_now(last, now, fps), expected, "{last:?} {now:?} {fps}");
        }
    }
}
