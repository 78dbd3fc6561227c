//! The contact's picture on the small screen, paced for its bus: the panel
//! takes the latest picture at most [`panel_fps`] times a second, so frames
//! never queue behind the bus and the LIVE and PRIVATE states, drawn by the
//! same loop, are never held up behind pictures. Taking the picture off is
//! never delayed.

use crate::hardware::picture::spi_rate::{min_interval, panel_fps};
use crate::hardware::picture::{PictureFeed, ShownPicture};
use embedded_graphics::prelude::Size;
use tokio::time::Instant;

/// The panel's end of the picture feed.
pub(super) struct PacedPicture {
    feed: Option<PictureFeed>,
    interval: std::time::Duration,
    last_drawn: Option<Instant>,
}

impl PacedPicture {
    /// Paces `feed` (none: no picture ever) for a screen of `size` whose
    /// SPI bus runs at `spi_hz`.
    pub(super) fn new(feed: Option<PictureFeed>, size: Size, spi_hz: u32) -> Self {
        let fps = panel_fps(size.width, size.height, spi_hz);
        let interval = min_interval(fps).unwrap_or(std::time::Duration::from_secs(1));
        if feed.is_some() {
            tracing::info!(
                fps = format!("{fps:.1}"),
                "the small screen takes a contact's picture at most this often"
            );
        }
        PacedPicture {
            feed,
            interval,
            last_drawn: None,
        }
    }

    /// The next picture to draw (or `None`: taken off), once it is due;
    /// never returns when there is no feed.
    pub(super) async fn next(&mut self) -> Option<ShownPicture> {
        let Some(feed) = self.feed.as_mut() else {
            return std::future::pending().await;
        };
        if feed.changed().await.is_err() {
            // The picture hub is gone: nothing more will come.
            self.feed = None;
            return std::future::pending().await;
        }
        if feed.borrow().is_some() {
            if let Some(last) = self.last_drawn {
                tokio::time::sleep_until(last + self.interval).await;
            }
        }
        // The latest by now: frames that came while waiting are skipped.
        let shown = feed.borrow_and_update().clone();
        self.last_drawn = Some(Instant::now());
        shown
    }
}
