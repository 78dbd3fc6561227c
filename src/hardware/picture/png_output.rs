//! The simulated picture output: every shown frame becomes a PNG file, so a contact's
//! picture can be looked at (and tested) on a machine with no screen.
//!
//! In a directory it writes `frame-00000.png`, `frame-00001.png`, … in order, and the
//! same picture again as `latest.png` for a viewer that only wants the newest. Each file
//! is written atomically (temporary file, fsync, rename), so a viewer never reads half a
//! PNG.

use std::path::{Path, PathBuf};

use embedded_graphics::prelude::Size;
use tracing::debug;

use super::output::{compose, PictureOutput};
use super::rgb_image::RgbImage;
use crate::atomic_file::write_atomic;
use crate::hardware::HardwareError;
use crate::media::I420Frame;

/// The newest picture's file name.
pub const LATEST: &str = "latest.png";

/// A [`PictureOutput`] that writes PNG files into a directory.
#[derive(Debug)]
pub struct PngPictureOutput {
    directory: PathBuf,
    image: RgbImage,
    next_frame: u64,
}

impl PngPictureOutput {
    /// Writes pictures of `size` into `directory`, creating it if needed; numbering
    /// starts at 0.
    pub fn new(directory: &Path, size: Size) -> Result<Self, HardwareError> {
        std::fs::create_dir_all(directory).map_err(|source| HardwareError::Io {
            device: directory.to_path_buf(),
            source,
        })?;
        Ok(PngPictureOutput {
            directory: directory.to_path_buf(),
            image: RgbImage::new(size),
            next_frame: 0,
        })
    }

    /// The file the newest picture is in.
    pub fn latest_path(&self) -> PathBuf {
        self.directory.join(LATEST)
    }

    /// The file the `n`th shown frame (from 0) is written to.
    pub fn frame_path(&self, n: u64) -> PathBuf {
        self.directory.join(format!("frame-{n:05}.png"))
    }

    /// How many frames were written so far.
    pub fn frames_written(&self) -> u64 {
        self.next_frame
    }

    fn write(&self, path: &Path, png: &[u8]) -> Result<(), HardwareError> {
        write_atomic(path, png, 0o644).map_err(|source| HardwareError::Io {
            device: path.to_path_buf(),
            source,
        })
    }
}

/// Encodes an RGB888 image as an 8-bit RGB PNG.
pub fn encode_png(image: &RgbImage) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, image.width(), image.height());
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Simulator frames come often; fast compression keeps up with the picture.
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(image.data())?;
    writer.finish()?;
    Ok(out)
}

impl PictureOutput for PngPictureOutput {
    fn size(&self) -> Size {
        Size::new(self.image.width(), self.image.height())
    }

    fn show(&mut self, frame: &I420Frame, who: &str) -> Result<(), HardwareError> {
        compose(frame, who, &mut self.image);
        let png = encode_png(&self.image).map_err(|e| HardwareError::Io {
            device: self.latest_path(),
            source: std::io::Error::other(e),
        })?;
        let numbered = self.frame_path(self.next_frame);
        self.write(&numbered, &png)?;
        self.write(&self.latest_path(), &png)?;
        self.next_frame += 1;
        debug!(path = %numbered.display(), "picture written");
        Ok(())
    }

    fn clear(&mut self) -> Result<(), HardwareError> {
        self.image.fill_black();
        let png = encode_png(&self.image).map_err(|e| HardwareError::Io {
            device: self.latest_path(),
            source: std::io::Error::other(e),
        })?;
        self.write(&self.latest_path(), &png)?;
        debug!(path = %self.latest_path().display(), "picture cleared");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hardware::picture::output::name_band;
    use crate::media::TestPattern;

    /// Reads an 8-bit RGB PNG back as (width, height, pixels).
    fn read_png(path: &Path) -> (u32, u32, Vec<u8>) {
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    #[test]
    fn shown_frames_are_numbered_pngs_with_bars_picture_and_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut output = PngPictureOutput::new(dir.path(), Size::new(240, 240)).unwrap();
        assert_eq!(output.size(), Size::new(240, 240));
        let pattern = TestPattern::new(640, 480).unwrap();
        output.show(&pattern.frame(0), "Grandma Rose").unwrap();
        output.show(&pattern.frame(1), "Grandma Rose").unwrap();
        assert_eq!(output.frames_written(), 2);
        assert!(output.frame_path(0).ends_with("frame-00000.png"));
        assert!(output.frame_path(1).exists());

        let (w, h, rgb) = read_png(&output.latest_path());
        assert_eq!((w, h), (240, 240));
        let at = |x: u32, y: u32| {
            let i = (y * w + x) as usize * 3;
            [rgb[i], rgb[i + 1], rgb[i + 2]]
        };
        // 640×480 into 240×240: picture rows 30..210, black above.
        for x in (0..240).step_by(7) {
            assert_eq!(at(x, 0), [0, 0, 0]);
            assert_eq!(at(x, 29), [0, 0, 0]);
        }
        assert_ne!(at(120, 31), [0, 0, 0], "the picture starts at row 30");
        // The name band is drawn, not black.
        let band = name_band(Size::new(240, 240), "Grandma Rose");
        let lit = (band.top_left.y..band.top_left.y + band.size.height as i32)
            .flat_map(|y| {
                (band.top_left.x..band.top_left.x + band.size.width as i32).map(move |x| (x, y))
            })
            .filter(|&(x, y)| at(x as u32, y as u32) != [0, 0, 0])
            .count();
        assert!(lit as u32 > band.size.width * band.size.height / 2, "{lit}");
        // Only the finished files, no temporary ones, are left.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
    }

    #[test]
    fn clear_writes_a_black_latest_frame() {
        let dir = tempfile::tempdir().unwrap();
        let mut output = PngPictureOutput::new(dir.path(), Size::new(128, 64)).unwrap();
        let frame = TestPattern::new(640, 480).unwrap().frame(0);
        output.show(&frame, "Sam").unwrap();
        output.clear().unwrap();
        let (w, h, rgb) = read_png(&output.latest_path());
        assert_eq!((w, h), (128, 64));
        assert!(rgb.iter().all(|&b| b == 0));
        assert_eq!(output.frames_written(), 1, "clearing is not a frame");
    }
}
