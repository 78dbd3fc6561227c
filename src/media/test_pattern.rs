//! A simulated camera so Hearth runs, and can be tested, on a machine with no camera.
//!
//! The picture moves (scrolling colour bars, a scrolling grey ramp and a bouncing box)
//! so the encoder does real inter-frame work, and every frame carries its frame number
//! in a machine-readable strip (see [`frame_number`](crate::media::frame_number)) so a
//! viewer can tell exactly which frame it is showing, e.g. to measure glass-to-glass
//! latency.

use crate::media::capture::{VideoCapture, VideoFormat};
use crate::media::frame::check_size;
use crate::media::frame_number::{stamp_frame_number, StripGeometry};
use crate::media::pacer::Pacer;
use crate::media::{I420Frame, MediaError};

/// 75% colour bars in video-range BT.601 YUV: white, yellow, cyan, green, magenta, red,
/// blue, black.
const BARS: [(u8, u8, u8); 8] = [
    (180, 128, 128),
    (162, 44, 142),
    (131, 156, 44),
    (112, 72, 58),
    (84, 184, 198),
    (65, 100, 212),
    (35, 212, 114),
    (16, 128, 128),
];

/// Renders test-pattern frames of one size; frame `n` is always the same picture.
#[derive(Debug, Clone)]
pub struct TestPattern {
    width: u32,
    height: u32,
}

impl TestPattern {
    /// A pattern generator for `width`×`height` (even, at least 256×64 so the frame
    /// number fits).
    pub fn new(width: u32, height: u32) -> Result<Self, MediaError> {
        check_size(width, height)?;
        if StripGeometry::for_size(width, height).is_none() {
            return Err(MediaError::size(
                width,
                height,
                (256, 64),
                "too small for the frame-number strip",
            ));
        }
        Ok(Self { width, height })
    }

    /// Renders frame `n`: its motion is a function of `n` and `n` is stamped into it.
    pub fn frame(&self, n: u32) -> I420Frame {
        let (w, h) = (self.width as usize, self.height as usize);
        let mut frame = I420Frame::black(self.width, self.height).expect("size checked in new");
        // Scroll speed in pixels per frame, even so chroma moves by whole samples.
        let speed = (w / 160).max(2) & !1;
        let shift = (n as usize).wrapping_mul(speed) % w;
        let bars_end = (h * 3 / 4) & !1;
        {
            let (y, u, v) = frame.planes_mut();
            let cw = w / 2;
            let (mut ry, mut ru, mut rv) = (vec![0u8; w], vec![0u8; cw], vec![0u8; cw]);
            for (x, p) in ry.iter_mut().enumerate() {
                *p = BARS[(x + shift) % w * 8 / w].0;
            }
            for cx in 0..cw {
                let (_, cu, cv) = BARS[(cx * 2 + shift) % w * 8 / w];
                ru[cx] = cu;
                rv[cx] = cv;
            }
            for row in 0..bars_end {
                y[row * w..(row + 1) * w].copy_from_slice(&ry);
            }
            for row in 0..bars_end / 2 {
                u[row * cw..(row + 1) * cw].copy_from_slice(&ru);
                v[row * cw..(row + 1) * cw].copy_from_slice(&rv);
            }
            // Grey ramp below the bars, scrolling the other way (chroma already grey).
            for (x, p) in ry.iter_mut().enumerate() {
                *p = (16 + (x + w - shift) % w * 219 / w) as u8;
            }
            for row in bars_end..h {
                y[row * w..(row + 1) * w].copy_from_slice(&ry);
            }
        }
        self.draw_box(&mut frame, n as usize, speed);
        stamp_frame_number(&mut frame, n).expect("size checked in new");
        frame
    }

    /// A white box bouncing around the whole frame.
    fn draw_box(&self, frame: &mut I420Frame, n: usize, speed: usize) {
        let (w, h) = (self.width as usize, self.height as usize);
        let side = (h / 6).max(2) & !1;
        let x = triangle(n.wrapping_mul(speed * 3 / 2), w - side) & !1;
        let y0 = triangle(n.wrapping_mul(speed), h - side) & !1;
        let (y, u, v) = frame.planes_mut();
        for row in y0..y0 + side {
            y[row * w + x..row * w + x + side].fill(235);
        }
        let cw = w / 2;
        for row in y0 / 2..(y0 + side) / 2 {
            u[row * cw + x / 2..row * cw + (x + side) / 2].fill(128);
            v[row * cw + x / 2..row * cw + (x + side) / 2].fill(128);
        }
    }
}

/// Position bouncing between 0 and `range` as `t` grows.
fn triangle(t: usize, range: usize) -> usize {
    if range == 0 {
        return 0;
    }
    let p = t % (2 * range);
    if p > range {
        2 * range - p
    } else {
        p
    }
}

/// A simulated camera that delivers [`TestPattern`] frames in real time.
#[derive(Debug)]
pub struct TestPatternCamera {
    pattern: TestPattern,
    format: VideoFormat,
    pacer: Pacer,
    next: u32,
    /// The pacer's tick of the last frame.
    taken_at: Option<std::time::Instant>,
}

impl TestPatternCamera {
    /// A camera producing `width`×`height` at `fps` frames per second (1..=120),
    /// starting at frame number 0.
    pub fn new(width: u32, height: u32, fps: u32) -> Result<Self, MediaError> {
        if !(1..=120).contains(&fps) {
            return Err(MediaError::InvalidConfig(format!(
                "test camera fps {fps} is out of range; use 1..=120"
            )));
        }
        let format = VideoFormat { width, height, fps };
        Ok(Self {
            pattern: TestPattern::new(width, height)?,
            pacer: Pacer::new(format.frame_period()),
            format,
            next: 0,
            taken_at: None,
        })
    }

    /// Renders frame `n` immediately, without pacing and without advancing the camera.
    pub fn frame(&self, n: u32) -> I420Frame {
        self.pattern.frame(n)
    }

    /// The frame number the next call to [`VideoCapture::next_frame`] will carry.
    pub fn next_frame_number(&self) -> u32 {
        self.next
    }
}

impl VideoCapture for TestPatternCamera {
    fn format(&self) -> VideoFormat {
        self.format
    }

    /// Sleeps until the next frame deadline, then renders the next frame.
    fn next_frame(&mut self) -> Result<I420Frame, MediaError> {
        self.taken_at = Some(self.pacer.wait());
        let frame = self.pattern.frame(self.next);
        self.next = self.next.wrapping_add(1);
        Ok(frame)
    }

    /// The pacer's tick the last frame was made for: this camera's clock.
    fn last_capture_time(&self) -> Option<std::time::Instant> {
        self.taken_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::read_frame_number;

    #[test]
    fn frames_move_and_carry_their_number() {
        for (w, h) in [(320, 240), (640, 480), (1280, 720)] {
            let p = TestPattern::new(w, h).unwrap();
            let (a, b) = (p.frame(7), p.frame(8));
            assert_ne!(a.data(), b.data(), "pattern must move at {w}x{h}");
            assert_eq!(read_frame_number(&a), Some(7));
            assert_eq!(read_frame_number(&b), Some(8));
        }
    }

    #[test]
    fn camera_counts_up_and_rejects_bad_config() {
        let mut cam = TestPatternCamera::new(320, 240, 120).unwrap();
        assert_eq!(read_frame_number(&cam.next_frame().unwrap()), Some(0));
        assert_eq!(read_frame_number(&cam.next_frame().unwrap()), Some(1));
        assert!(TestPatternCamera::new(320, 240, 0).is_err());
        assert!(TestPatternCamera::new(128, 96, 30).is_err());
    }
}
