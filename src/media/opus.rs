//! Opus voice encoding and decoding, the only audio codec every WebRTC peer must support.
//!
//! Hearth sends one mono 48 kHz stream in 20 ms packets (Opus' and WebRTC's default
//! packet time). The encoder is tuned for speech over a lossy network: VoIP mode and
//! in-band FEC by default, with a restricted-low-delay mode for when latency matters
//! more than voice quality.

use std::time::{Duration, Instant};

use bytes::Bytes;
use opus::{Application, Bitrate, Channels};

use crate::media::capture::{
    AudioFrame, AUDIO_FRAME_DURATION, AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE,
};
use crate::media::MediaError;

/// Largest Opus packet we ever produce (RFC 6716 allows up to 1275 bytes per frame).
const MAX_PACKET: usize = 1500;

/// How the Opus encoder trades quality for delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpusMode {
    /// Speech-optimised (SILK/hybrid), about 26.5 ms algorithmic delay. Best for voice.
    #[default]
    Voip,
    /// CELT only, about 5 ms less delay; music-like quality, weaker at low bitrates.
    LowDelay,
}

/// Settings for [`OpusEncoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusConfig {
    /// Target bitrate in bits per second (6,000..=128,000).
    pub bitrate_bps: u32,
    /// Voice or low delay.
    pub mode: OpusMode,
    /// Add in-band forward error correction so a lost packet can be partly recovered.
    pub inband_fec: bool,
    /// Expected packet loss in percent (0..=100); tunes how much FEC is spent.
    pub expected_loss_percent: u8,
}

impl Default for OpusConfig {
    /// 32 kbps, VoIP mode, FEC on for 10% loss.
    fn default() -> Self {
        Self {
            bitrate_bps: 32_000,
            mode: OpusMode::Voip,
            inband_fec: true,
            expected_loss_percent: 10,
        }
    }
}

/// One encoded 20 ms Opus packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedAudio {
    /// The Opus packet (one RTP payload).
    pub data: Bytes,
    /// Audio duration the packet covers (20 ms).
    pub duration: Duration,
    /// Position in the stream: 0, 1, 2, … (a pipeline renumbers to its publish order).
    pub sequence: u64,
    /// When the PCM was captured (set by the pipeline; the encoder uses encode time).
    pub captured_at: Instant,
}

fn opus_err(what: &str) -> impl Fn(opus::Error) -> MediaError + '_ {
    move |e| MediaError::Opus(format!("{what}: {e}"))
}

/// Encodes 20 ms mono 48 kHz PCM frames into Opus packets.
pub struct OpusEncoder {
    inner: opus::Encoder,
    config: OpusConfig,
    sequence: u64,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder")
            .field("config", &self.config)
            .finish()
    }
}

impl OpusEncoder {
    /// Creates an encoder; fails if the configuration is out of range.
    pub fn new(config: OpusConfig) -> Result<Self, MediaError> {
        if !(6_000..=128_000).contains(&config.bitrate_bps) || config.expected_loss_percent > 100 {
            return Err(MediaError::InvalidConfig(format!(
                "Opus bitrate {} bps / loss {}% out of range; use 6..=128 kbps and 0..=100%",
                config.bitrate_bps, config.expected_loss_percent
            )));
        }
        let app = match config.mode {
            OpusMode::Voip => Application::Voip,
            OpusMode::LowDelay => Application::LowDelay,
        };
        let mut inner = opus::Encoder::new(AUDIO_SAMPLE_RATE, Channels::Mono, app)
            .map_err(opus_err("creating encoder"))?;
        inner
            .set_bitrate(Bitrate::Bits(config.bitrate_bps as i32))
            .map_err(opus_err("setting bitrate"))?;
        inner
            .set_inband_fec(config.inband_fec)
            .map_err(opus_err("setting FEC"))?;
        inner
            .set_packet_loss_perc(i32::from(config.expected_loss_percent))
            .map_err(opus_err("setting expected loss"))?;
        Ok(Self {
            inner,
            config,
            sequence: 0,
        })
    }

    /// The configuration this encoder was built with.
    pub fn config(&self) -> &OpusConfig {
        &self.config
    }

    /// Encodes one 20 ms frame into one packet.
    pub fn encode(&mut self, pcm: &AudioFrame) -> Result<EncodedAudio, MediaError> {
        let captured_at = Instant::now();
        let data = self
            .inner
            .encode_vec(pcm, MAX_PACKET)
            .map_err(opus_err("encoding"))?;
        let sequence = self.sequence;
        self.sequence += 1;
        Ok(EncodedAudio {
            data: Bytes::from(data),
            duration: AUDIO_FRAME_DURATION,
            sequence,
            captured_at,
        })
    }
}

/// Decodes Opus packets back into 48 kHz mono PCM.
pub struct OpusDecoder {
    inner: opus::Decoder,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder").finish_non_exhaustive()
    }
}

impl OpusDecoder {
    /// Creates a mono 48 kHz decoder.
    pub fn new() -> Result<Self, MediaError> {
        let inner = opus::Decoder::new(AUDIO_SAMPLE_RATE, Channels::Mono)
            .map_err(opus_err("creating decoder"))?;
        Ok(Self { inner })
    }

    /// Decodes one packet (any duration up to 120 ms) into PCM samples.
    pub fn decode(&mut self, packet: &[u8]) -> Result<Vec<i16>, MediaError> {
        if packet.is_empty() {
            return Err(MediaError::Opus(
                "empty packet; call conceal_loss() for a lost packet instead".into(),
            ));
        }
        self.run(packet)
    }

    /// Produces 20 ms of concealment audio for a packet that never arrived.
    pub fn conceal_loss(&mut self) -> Result<Vec<i16>, MediaError> {
        self.run(&[])
    }

    fn run(&mut self, packet: &[u8]) -> Result<Vec<i16>, MediaError> {
        // 120 ms is the longest an Opus packet can be.
        let mut out = vec![0i16; AUDIO_FRAME_SAMPLES * 6];
        let n = if packet.is_empty() {
            self.inner
                .decode(&[], &mut out[..AUDIO_FRAME_SAMPLES], false)
        } else {
            self.inner.decode(packet, &mut out, false)
        }
        .map_err(opus_err("decoding"))?;
        out.truncate(n);
        Ok(out)
    }
}
