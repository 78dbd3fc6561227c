//! The test-pattern camera, noting when it took each numbered frame by its
//! own clock, so a test can tell how old a frame is when it arrives (the
//! number is read back from the picture, see `hearth::media::read_frame_number`).

use hearth::media::{I420Frame, MediaError, TestPatternCamera, VideoCapture, VideoFormat};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// When each numbered frame was taken (the last [`KEPT`]).
pub type Taken = Arc<Mutex<HashMap<u32, Instant>>>;

/// How many frames' times are kept (20 s at 30 fps).
pub const KEPT: u32 = 600;

/// The test pattern, noting each frame's capture time by its number.
pub struct NotingCamera {
    inner: TestPatternCamera,
    taken: Taken,
}

impl NotingCamera {
    /// A `width`×`height` test pattern at `fps`, and where it notes times.
    pub fn new(width: u32, height: u32, fps: u32) -> (Self, Taken) {
        let taken = Taken::default();
        let camera = NotingCamera {
            inner: TestPatternCamera::new(width, height, fps).expect("a test pattern"),
            taken: taken.clone(),
        };
        (camera, taken)
    }
}

impl VideoCapture for NotingCamera {
    fn format(&self) -> VideoFormat {
        self.inner.format()
    }

    fn next_frame(&mut self) -> Result<I420Frame, MediaError> {
        let n = self.inner.next_frame_number();
        let frame = self.inner.next_frame()?;
        let at = self
            .inner
            .last_capture_time()
            .expect("the test pattern keeps time");
        let mut taken = self.taken.lock().unwrap();
        taken.insert(n, at);
        taken.remove(&n.wrapping_sub(KEPT));
        Ok(frame)
    }

    fn last_capture_time(&self) -> Option<Instant> {
        self.inner.last_capture_time()
    }
}
