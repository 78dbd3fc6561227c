//! A contact's picture on the small SPI/I2C screen. The screen belongs to the
//! panel, which also shows the LIVE and PRIVATE states, so this output does not
//! draw: it scales each frame down to the screen and leaves it, the latest one
//! only, for the panel to draw when the bus has room ([`super::spi_rate`]).
//! A frame that arrives before the last was drawn replaces it, so decoding never
//! waits on the bus and the bus never queues stale pictures.

use super::fit::{letterbox, scale_into_rgb, Rect};
use super::PictureOutput;
use crate::hardware::display::Thumbnail;
use crate::hardware::HardwareError;
use crate::media::I420Frame;
use embedded_graphics::prelude::Size;
use tokio::sync::watch;

/// A contact's picture as the panel draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct ShownPicture {
    /// Whose it is (their name).
    pub from: String,
    /// The frame, scaled to fit the screen.
    pub picture: Thumbnail,
}

/// The picture the panel should draw now; `None` when nothing is shown.
pub type PictureFeed = watch::Receiver<Option<ShownPicture>>;

/// Scales frames for a screen of one size and hands the latest to the panel.
pub struct ScreenPictureOutput {
    size: Size,
    feed: watch::Sender<Option<ShownPicture>>,
}

impl ScreenPictureOutput {
    /// An output for a screen of `size`, and the feed the panel draws from.
    pub fn new(size: Size) -> (Self, PictureFeed) {
        let (feed, drawn) = watch::channel(None);
        (ScreenPictureOutput { size, feed }, drawn)
    }
}

impl PictureOutput for ScreenPictureOutput {
    fn size(&self) -> Size {
        self.size
    }

    fn show(&mut self, frame: &I420Frame, who: &str) -> Result<(), HardwareError> {
        let fitted = letterbox(Size::new(frame.width(), frame.height()), self.size);
        if fitted.width == 0 || fitted.height == 0 {
            return Ok(());
        }
        let mut rgb = vec![0; fitted.width as usize * fitted.height as usize * 3];
        let whole = Rect::full(Size::new(fitted.width, fitted.height));
        scale_into_rgb(frame, &mut rgb, fitted.width as usize * 3, whole);
        let picture = Thumbnail::new(fitted.width, fitted.height, rgb)
            .expect("the buffer is sized for the picture");
        self.feed.send_replace(Some(ShownPicture {
            from: who.to_string(),
            picture,
        }));
        Ok(())
    }

    fn clear(&mut self) -> Result<(), HardwareError> {
        self.feed.send_replace(None);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::TestPattern;

    #[test]
    fn frames_are_scaled_to_the_screen_and_clearing_empties_the_feed() {
        let (mut output, feed) = ScreenPictureOutput::new(Size::new(240, 240));
        let frame = TestPattern::new(320, 240).unwrap().frame(3);
        output.show(&frame, "Gran").unwrap();
        let shown = feed.borrow().clone().expect("a picture for the panel");
        assert_eq!(shown.from, "Gran");
        assert_eq!((shown.picture.width(), shown.picture.height()), (240, 180));
        output.clear().unwrap();
        assert!(feed.borrow().is_none());
    }
}
