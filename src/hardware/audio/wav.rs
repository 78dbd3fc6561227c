//! The simulated speaker: talk-back written to a WAV file (48 kHz mono 16-bit), so a
//! device without a sound card can be listened to afterwards, or checked by a test.
//!
//! The header is brought up to date after every write, so the file is a valid WAV at
//! any moment. Only audio is written, not the silence between voices. Past
//! [`WAV_LIMIT_SAMPLES`] the file starts over, so it never grows without bound.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::Speaker;
use crate::hardware::HardwareError;
use crate::media::AUDIO_SAMPLE_RATE;

/// The file name the simulated speaker writes in the data directory.
pub const TALKBACK_WAV: &str = "talkback.wav";

/// Samples a file holds before it starts over: ten minutes (55 MiB).
pub const WAV_LIMIT_SAMPLES: u64 = AUDIO_SAMPLE_RATE as u64 * 600;

const HEADER_BYTES: u64 = 44;

/// A [`Speaker`] that appends what it plays to a WAV file.
#[derive(Debug)]
pub struct WavSpeaker {
    file: File,
    path: PathBuf,
    samples: u64,
}

impl WavSpeaker {
    /// Creates (or empties) the file at `path`.
    pub fn create(path: &Path) -> Result<Self, HardwareError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| io_error(path, e))?;
        let mut speaker = WavSpeaker {
            file,
            path: path.to_path_buf(),
            samples: 0,
        };
        speaker.write_header().map_err(|e| io_error(path, e))?;
        Ok(speaker)
    }

    /// Where the audio goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_header(&mut self) -> io::Result<()> {
        let data = (self.samples * 2) as u32;
        let rate = AUDIO_SAMPLE_RATE;
        let mut h = Vec::with_capacity(HEADER_BYTES as usize);
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&(36 + data).to_le_bytes());
        h.extend_from_slice(b"WAVEfmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        h.extend_from_slice(&1u16.to_le_bytes()); // PCM
        h.extend_from_slice(&1u16.to_le_bytes()); // mono
        h.extend_from_slice(&rate.to_le_bytes());
        h.extend_from_slice(&(rate * 2).to_le_bytes()); // bytes per second
        h.extend_from_slice(&2u16.to_le_bytes()); // bytes per sample
        h.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
        h.extend_from_slice(b"data");
        h.extend_from_slice(&data.to_le_bytes());
        self.file.write_all_at(&h, 0)
    }

    fn append(&mut self, pcm: &[i16]) -> io::Result<()> {
        if self.samples + pcm.len() as u64 > WAV_LIMIT_SAMPLES {
            self.file.set_len(HEADER_BYTES)?;
            self.samples = 0;
        }
        let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
        self.file
            .write_all_at(&bytes, HEADER_BYTES + self.samples * 2)?;
        self.samples += pcm.len() as u64;
        self.write_header()
    }
}

impl Speaker for WavSpeaker {
    fn play(&mut self, pcm: &[i16]) -> Result<(), HardwareError> {
        self.append(pcm).map_err(|e| io_error(&self.path, e))
    }
}

fn io_error(path: &Path, source: io::Error) -> HardwareError {
    HardwareError::Io {
        device: path.to_path_buf(),
        source,
    }
}

/// Reads the samples of a 48 kHz mono 16-bit WAV file such as [`WavSpeaker`] writes.
/// A file caught between writing samples and updating its header gives the samples
/// the header already counts.
pub fn read_samples(path: &Path) -> io::Result<Vec<i16>> {
    let bytes = std::fs::read(path)?;
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{path:?}: {what}"));
    if bytes.len() < HEADER_BYTES as usize
        || &bytes[0..4] != b"RIFF"
        || &bytes[8..16] != b"WAVEfmt "
    {
        return Err(bad("not a WAV file"));
    }
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    if u16_at(20) != 1 || u16_at(22) != 1 || u32_at(24) != AUDIO_SAMPLE_RATE || u16_at(34) != 16 {
        return Err(bad("not 48 kHz mono 16-bit PCM"));
    }
    if &bytes[36..40] != b"data" {
        return Err(bad("no data chunk after the format"));
    }
    let data = &bytes[HEADER_BYTES as usize..];
    let len = (u32_at(40) as usize).min(data.len()) / 2 * 2;
    Ok(data[..len]
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_played_reads_back_from_a_valid_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TALKBACK_WAV);
        let mut speaker = WavSpeaker::create(&path).unwrap();
        assert_eq!(read_samples(&path).unwrap(), Vec::<i16>::new());
        speaker.play(&[1, -2, 3]).unwrap();
        speaker.play(&[i16::MIN, i16::MAX]).unwrap();
        assert_eq!(
            read_samples(&path).unwrap(),
            vec![1, -2, 3, i16::MIN, i16::MAX]
        );
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 44 + 10);
        assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()), 36 + 10);
    }

    #[test]
    fn a_new_speaker_empties_the_file_and_a_full_one_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TALKBACK_WAV);
        WavSpeaker::create(&path).unwrap().play(&[5; 10]).unwrap();
        let mut speaker = WavSpeaker::create(&path).unwrap();
        assert!(read_samples(&path).unwrap().is_empty());
        speaker.samples = WAV_LIMIT_SAMPLES - 1;
        speaker.play(&[9, 9]).unwrap();
        assert_eq!(read_samples(&path).unwrap(), vec![9, 9]);
    }

    #[test]
    fn other_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.wav");
        std::fs::write(&path, b"not a wav at all, not even close to one...........").unwrap();
        assert!(read_samples(&path).is_err());
    }
}
