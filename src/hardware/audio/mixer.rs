//! Mixing several talk-back voices into one speaker (sans-IO).
//!
//! Each caller is a source with its own small jitter buffer of decoded 48 kHz PCM. A
//! source joins the mix once it has [`PREBUFFER_FRAMES`] queued (so network jitter does
//! not cut it up), plays while it has samples and rejoins after refilling once it runs
//! dry. Every 20 ms frame out is the sum of the playing sources, clipped to 16 bits.
//! A source never queues more than [`MAX_BUFFERED_FRAMES`]: the oldest audio goes first,
//! so a caller's delay stays bounded when its clock runs ahead of the speaker's.

use std::collections::{HashMap, VecDeque};

use crate::media::AUDIO_FRAME_SAMPLES;

/// Frames (20 ms each) a source must hold before it is played: 60 ms.
pub const PREBUFFER_FRAMES: usize = 3;
/// Frames a source may hold at most: 200 ms.
pub const MAX_BUFFERED_FRAMES: usize = 10;

/// Identifies one source of a [`Mixer`].
pub type SourceId = u64;

#[derive(Debug, Default)]
struct Source {
    queued: VecDeque<i16>,
    playing: bool,
}

/// Sums the voices of several sources into 20 ms frames. See the module documentation.
#[derive(Debug, Default)]
pub struct Mixer {
    sources: HashMap<SourceId, Source>,
    next_id: SourceId,
    dropped: u64,
}

impl Mixer {
    /// A mixer without sources.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a source and returns its id.
    pub fn add_source(&mut self) -> SourceId {
        let id = self.next_id;
        self.next_id += 1;
        self.sources.insert(id, Source::default());
        id
    }

    /// Removes a source and whatever it still had queued.
    pub fn remove_source(&mut self, id: SourceId) {
        self.sources.remove(&id);
    }

    /// Queues `pcm` for source `id` (ignored for an unknown source). Beyond
    /// [`MAX_BUFFERED_FRAMES`] the oldest samples are dropped.
    pub fn push(&mut self, id: SourceId, pcm: &[i16]) {
        let Some(source) = self.sources.get_mut(&id) else {
            return;
        };
        source.queued.extend(pcm);
        let limit = MAX_BUFFERED_FRAMES * AUDIO_FRAME_SAMPLES;
        if source.queued.len() > limit {
            let excess = source.queued.len() - limit;
            source.queued.drain(..excess);
            self.dropped += excess as u64;
        }
        if source.queued.len() >= PREBUFFER_FRAMES * AUDIO_FRAME_SAMPLES {
            source.playing = true;
        }
    }

    /// Forgets what source `id` has queued: it falls silent at once.
    pub fn clear(&mut self, id: SourceId) {
        if let Some(source) = self.sources.get_mut(&id) {
            source.queued.clear();
            source.playing = false;
        }
    }

    /// Whether any source is ready to be heard.
    pub fn has_audio(&self) -> bool {
        self.sources.values().any(|s| s.playing)
    }

    /// Number of sources.
    pub fn sources(&self) -> usize {
        self.sources.len()
    }

    /// Samples dropped so far because a source queued too much.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The next 20 ms of the mix, or `None` when no source is playing.
    pub fn next_frame(&mut self) -> Option<Vec<i16>> {
        if !self.has_audio() {
            return None;
        }
        let mut sum = vec![0i32; AUDIO_FRAME_SAMPLES];
        for source in self.sources.values_mut().filter(|s| s.playing) {
            let take = source.queued.len().min(AUDIO_FRAME_SAMPLES);
            for (acc, sample) in sum.iter_mut().zip(source.queued.drain(..take)) {
                *acc += i32::from(sample);
            }
            if source.queued.is_empty() {
                source.playing = false;
            }
        }
        Some(
            sum.into_iter()
                .map(|s| s.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16)
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: usize = AUDIO_FRAME_SAMPLES;

    #[test]
    fn a_source_plays_once_prebuffered() {
        let mut mixer = Mixer::new();
        let a = mixer.add_source();
        mixer.push(a, &[100; N]);
        mixer.push(a, &[100; N]);
        assert_eq!(mixer.next_frame(), None, "two frames are not enough yet");
        mixer.push(a, &[100; N]);
        for _ in 0..3 {
            assert_eq!(mixer.next_frame(), Some(vec![100; N]));
        }
        assert_eq!(mixer.next_frame(), None, "ran dry");
    }

    #[test]
    fn two_sources_are_summed_and_clipped() {
        let mut mixer = Mixer::new();
        let (a, b) = (mixer.add_source(), mixer.add_source());
        for _ in 0..PREBUFFER_FRAMES {
            mixer.push(a, &[1000; N]);
            mixer.push(b, &[-250; N]);
        }
        assert_eq!(mixer.next_frame(), Some(vec![750; N]));
        mixer.clear(b);
        mixer.push(a, &[i16::MAX; N]);
        let (c, d) = (mixer.add_source(), mixer.add_source());
        for _ in 0..PREBUFFER_FRAMES {
            mixer.push(c, &[i16::MAX; N]);
            mixer.push(d, &[i16::MIN; N]);
            mixer.push(d, &[i16::MIN; N]);
        }
        // a: 1000 + c: MAX + d: MIN = 999
        assert_eq!(mixer.next_frame(), Some(vec![999; N]));
        mixer.remove_source(d);
        assert_eq!(mixer.next_frame(), Some(vec![i16::MAX; N]), "clipped");
    }

    #[test]
    fn a_short_frame_is_padded_with_silence() {
        let mut mixer = Mixer::new();
        let a = mixer.add_source();
        mixer.push(a, &vec![7; PREBUFFER_FRAMES * N + 10]);
        for _ in 0..PREBUFFER_FRAMES {
            assert_eq!(mixer.next_frame(), Some(vec![7; N]));
        }
        let last = mixer.next_frame().unwrap();
        assert_eq!(&last[..10], &[7; 10]);
        assert!(last[10..].iter().all(|s| *s == 0));
        assert_eq!(mixer.next_frame(), None);
    }

    #[test]
    fn a_source_that_runs_ahead_keeps_only_the_newest_audio() {
        let mut mixer = Mixer::new();
        let a = mixer.add_source();
        for i in 0..(MAX_BUFFERED_FRAMES + 5) {
            mixer.push(a, &[i as i16; N]);
        }
        assert_eq!(mixer.dropped(), 5 * N as u64);
        assert_eq!(
            mixer.next_frame(),
            Some(vec![5; N]),
            "oldest frames dropped"
        );
    }

    #[test]
    fn clearing_silences_at_once_and_unknown_sources_are_ignored() {
        let mut mixer = Mixer::new();
        let a = mixer.add_source();
        for _ in 0..PREBUFFER_FRAMES {
            mixer.push(a, &[1; N]);
        }
        assert!(mixer.has_audio());
        mixer.clear(a);
        assert_eq!(mixer.next_frame(), None);
        mixer.push(99, &[1; N]);
        mixer.remove_source(a);
        assert_eq!(mixer.sources(), 0);
        assert_eq!(mixer.next_frame(), None);
    }
}
