//! A fake camera for Chromium that films our own test pattern: a YUV4MPEG2
//! file (4:2:0, 30 fps) of [`TestPattern`] frames, for
//! `--use-file-for-fake-video-capture`. Every frame carries its number, so
//! whoever receives the browser's video can tell which frame it shows.
//! Chromium plays the file in a loop: after the last frame, numbers start
//! again at 0.

use hearth::media::TestPattern;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Frames per second written in the file's header.
pub const FPS: u32 = 30;

/// A Y4M file of the test pattern in its own temporary directory (removed on drop).
pub struct PatternFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
    /// Width and height of every frame.
    pub size: (u32, u32),
    /// Frames in the file: numbers run 0..frames, then start again.
    pub frames: u32,
}

impl PatternFile {
    /// Writes `frames` test-pattern frames of `width`×`height`.
    pub fn new(width: u32, height: u32, frames: u32) -> PatternFile {
        let dir = tempfile::Builder::new()
            .prefix("hearth-y4m-")
            .tempdir()
            .expect("a directory for the camera file");
        let path = dir.path().join("pattern.y4m");
        write_pattern(&path, width, height, frames).expect("write the camera file");
        PatternFile {
            _dir: dir,
            path,
            size: (width, height),
            frames,
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The Chromium flag that makes this file its camera.
    pub fn chromium_flag(&self) -> String {
        format!("--use-file-for-fake-video-capture={}", self.path.display())
    }
}

/// Writes frames 0..`frames` of the test pattern to `path` as YUV4MPEG2.
pub fn write_pattern(path: &Path, width: u32, height: u32, frames: u32) -> std::io::Result<()> {
    let pattern = TestPattern::new(width, height).map_err(std::io::Error::other)?;
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        out,
        "YUV4MPEG2 W{width} H{height} F{FPS}:1 Ip A1:1 C420jpeg"
    )?;
    for n in 0..frames {
        out.write_all(b"FRAME\n")?;
        out.write_all(pattern.frame(n).data())?;
    }
    out.flush()
}
