//! The speaker's own thread: several talk-back voices at once, mixed.
//!
//! [`SpeakerOutput`] owns the [`Speaker`] and a [`Mixer`]. Each caller gets a
//! [`MixerInput`] (itself a [`Speaker`], so a [`TalkBack`](super::TalkBack) plays into
//! it); the thread takes one 20 ms frame of the mix at a time and plays it, paced by the
//! clock two frames ahead of real time (which also keeps an ALSA device from running
//! dry), and rests while nobody talks. Callers never wait for the speaker.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use super::mixer::{Mixer, SourceId};
use super::Speaker;
use crate::hardware::HardwareError;
use crate::media::AUDIO_FRAME_DURATION;

/// Frames written ahead of real time when a voice starts.
const LEAD_FRAMES: u32 = 2;

struct State {
    mixer: Mixer,
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Plays the mix of every [`MixerInput`] on one speaker, on a thread of its own. The
/// thread ends when this is dropped.
pub struct SpeakerOutput {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SpeakerOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpeakerOutput")
            .field("sources", &self.shared.lock().mixer.sources())
            .finish()
    }
}

impl SpeakerOutput {
    /// Starts the thread that plays into `speaker`.
    pub fn start(speaker: Box<dyn Speaker>) -> Result<Self, HardwareError> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                mixer: Mixer::new(),
                stop: false,
            }),
            wake: Condvar::new(),
        });
        let thread = std::thread::Builder::new()
            .name("hearth-speaker".into())
            .spawn({
                let shared = shared.clone();
                move || run(&shared, speaker)
            })
            .map_err(|source| HardwareError::Io {
                device: "the speaker thread".into(),
                source,
            })?;
        Ok(SpeakerOutput {
            shared,
            thread: Some(thread),
        })
    }

    /// A new voice in the mix.
    pub fn input(&self) -> MixerInput {
        let id = self.shared.lock().mixer.add_source();
        MixerInput {
            shared: self.shared.clone(),
            id,
        }
    }
}

impl Drop for SpeakerOutput {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One voice of a [`SpeakerOutput`]'s mix. Playing never blocks; dropping it removes the
/// voice.
pub struct MixerInput {
    shared: Arc<Shared>,
    id: SourceId,
}

impl std::fmt::Debug for MixerInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MixerInput").field("id", &self.id).finish()
    }
}

impl Speaker for MixerInput {
    fn play(&mut self, pcm: &[i16]) -> Result<(), HardwareError> {
        self.shared.lock().mixer.push(self.id, pcm);
        self.shared.wake.notify_all();
        Ok(())
    }

    fn discard(&mut self) {
        self.shared.lock().mixer.clear(self.id);
    }
}

impl Drop for MixerInput {
    fn drop(&mut self) {
        self.shared.lock().mixer.remove_source(self.id);
    }
}

/// The thread: wait for a voice, play the mix in real time until it runs dry, repeat.
fn run(shared: &Shared, mut speaker: Box<dyn Speaker>) {
    let mut failures: u64 = 0;
    loop {
        {
            let mut state = shared.lock();
            while !state.stop && !state.mixer.has_audio() {
                state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            if state.stop {
                return;
            }
        }
        let mut epoch = Instant::now();
        let mut played: u32 = 0;
        loop {
            let frame = {
                let mut state = shared.lock();
                if state.stop {
                    return;
                }
                state.mixer.next_frame()
            };
            let Some(frame) = frame else { break };
            if let Err(e) = speaker.play(&frame) {
                failures += 1;
                if failures.is_power_of_two() {
                    tracing::warn!(error = %e, failures, "the speaker failed to play talk-back");
                }
            }
            played += 1;
            let due = epoch + AUDIO_FRAME_DURATION * played.saturating_sub(LEAD_FRAMES);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            } else if now - due > AUDIO_FRAME_DURATION * 2 {
                // Fell behind (a busy machine, a blocking device): don't rush to catch up.
                epoch += now - due;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hardware::audio::MemorySpeaker;
    use crate::media::AUDIO_FRAME_SAMPLES;
    use std::time::Duration;

    fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn two_inputs_are_heard_together() {
        let speaker = MemorySpeaker::new();
        let output = SpeakerOutput::start(Box::new(speaker.clone())).unwrap();
        let (mut a, mut b) = (output.input(), output.input());
        for _ in 0..3 {
            a.play(&[100; AUDIO_FRAME_SAMPLES]).unwrap();
        }
        wait_for("a's voice", || {
            speaker.samples().len() >= AUDIO_FRAME_SAMPLES
        });
        let frame = speaker.samples();
        assert_eq!(&frame[..AUDIO_FRAME_SAMPLES], &[100; AUDIO_FRAME_SAMPLES]);
        wait_for("a to run dry", || {
            speaker.samples().len() == 3 * AUDIO_FRAME_SAMPLES
        });
        // Queue both before the thread can take either: held while pushing.
        {
            let mut state = output.shared.lock();
            for _ in 0..3 {
                state.mixer.push(a.id, &[100; AUDIO_FRAME_SAMPLES]);
                state.mixer.push(b.id, &[20; AUDIO_FRAME_SAMPLES]);
            }
        }
        output.shared.wake.notify_all();
        wait_for("the mix", || {
            speaker.samples().len() == 6 * AUDIO_FRAME_SAMPLES
        });
        assert!(speaker.samples()[3 * AUDIO_FRAME_SAMPLES..]
            .iter()
            .all(|s| *s == 120));
        b.discard();
        drop(a);
        assert_eq!(output.shared.lock().mixer.sources(), 1);
    }

    #[test]
    fn dropping_the_output_ends_its_thread() {
        let output = SpeakerOutput::start(Box::new(MemorySpeaker::new())).unwrap();
        let mut input = output.input();
        drop(output);
        input.play(&[1; AUDIO_FRAME_SAMPLES]).unwrap();
    }
}
