//! Opus tests: a tone survives the round trip at the right pitch and level, packets have
//! sane sizes, and the audio pipeline fans one encode out to every listener.

use std::time::Duration;

use hearth::media::{
    AudioPipeline, OpusConfig, OpusDecoder, OpusEncoder, OpusMode, PipelineOptions, ToneGenerator,
    ToneMicrophone, AUDIO_FRAME_SAMPLES,
};

fn zero_crossings(samples: &[i16]) -> usize {
    samples
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count()
}

fn rms(samples: &[i16]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// Encodes one second of a tone and decodes it; returns (decoded PCM, packet sizes).
fn round_trip(freq: f64, config: OpusConfig) -> (Vec<i16>, Vec<usize>) {
    let mut tone = ToneGenerator::new(freq, 0.5).unwrap();
    let mut enc = OpusEncoder::new(config).unwrap();
    let mut dec = OpusDecoder::new().unwrap();
    let mut pcm = Vec::new();
    let mut sizes = Vec::new();
    for i in 0..50u64 {
        let packet = enc.encode(&tone.next_frame()).unwrap();
        assert_eq!(packet.sequence, i);
        assert_eq!(packet.duration, Duration::from_millis(20));
        sizes.push(packet.data.len());
        let out = dec.decode(&packet.data).unwrap();
        assert_eq!(out.len(), AUDIO_FRAME_SAMPLES);
        pcm.extend(out);
    }
    (pcm, sizes)
}

fn check_tone(freq: f64, config: OpusConfig) {
    let (pcm, sizes) = round_trip(freq, config);
    // Skip the first 200 ms (encoder start-up and codec delay), judge the last 0.8 s.
    let tail = &pcm[pcm.len() - 48_000 * 8 / 10..];
    let expected = 2.0 * freq * 0.8;
    let got = zero_crossings(tail) as f64;
    assert!(
        (got - expected).abs() < expected * 0.03,
        "{freq} Hz: {got} zero crossings, expected about {expected}"
    );
    let input_rms = 0.5 * f64::from(i16::MAX) / 2f64.sqrt();
    let level = rms(tail) / input_rms;
    assert!(
        (0.7..1.3).contains(&level),
        "{freq} Hz: level {level:.2} of input"
    );

    let avg = sizes.iter().sum::<usize>() as f64 / sizes.len() as f64;
    let nominal = f64::from(config.bitrate_bps) / 8.0 / 50.0;
    println!(
        "{freq} Hz {:?}: packets {avg:.0} bytes average (nominal {nominal:.0})",
        config.mode
    );
    assert!(
        sizes.iter().all(|&s| (3..=400).contains(&s)),
        "packet sizes {sizes:?}"
    );
    assert!(
        avg > nominal * 0.5 && avg < nominal * 1.5,
        "average {avg} vs {nominal}"
    );
}

#[test]
fn tone_round_trips_through_opus_voip() {
    check_tone(440.0, OpusConfig::default());
}

#[test]
fn tone_round_trips_through_opus_low_delay() {
    let config = OpusConfig {
        mode: OpusMode::LowDelay,
        bitrate_bps: 64_000,
        ..OpusConfig::default()
    };
    check_tone(1000.0, config);
}

#[test]
fn opus_rejects_bad_input_and_conceals_loss() {
    assert!(OpusEncoder::new(OpusConfig {
        bitrate_bps: 1,
        ..OpusConfig::default()
    })
    .is_err());
    let mut dec = OpusDecoder::new().unwrap();
    assert!(dec.decode(&[]).is_err());
    assert!(dec.decode(&[0xff; 3]).is_err(), "corrupt packet");
    assert_eq!(dec.conceal_loss().unwrap().len(), AUDIO_FRAME_SAMPLES);
}

fn fast_options() -> PipelineOptions {
    PipelineOptions {
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(10),
        ..PipelineOptions::default()
    }
}

async fn next<T: hearth::media::fanout::MediaPacket>(
    sub: &mut hearth::media::fanout::Subscriber<T>,
) -> Option<std::sync::Arc<T>> {
    tokio::time::timeout(Duration::from_secs(20), sub.recv())
        .await
        .expect("liveness guard: nothing arrived in 20 s")
}

#[tokio::test]
async fn audio_pipeline_encodes_once_for_all_listeners() {
    let encoder = OpusEncoder::new(OpusConfig::default()).unwrap();
    let pipeline =
        AudioPipeline::start_with(Box::new(ToneMicrophone::new()), encoder, fast_options())
            .unwrap();
    // Subscribe both while paused so neither can miss the first packet.
    pipeline.set_paused(true);
    let mut subs = [pipeline.subscribe(), pipeline.subscribe()];
    pipeline.set_paused(false);
    let mut seen = [Vec::new(), Vec::new()];
    for _ in 0..10 {
        for (sub, seen) in subs.iter_mut().zip(seen.iter_mut()) {
            seen.push(next(sub).await.unwrap());
        }
    }
    pipeline.set_paused(true);
    for (sub, seen) in subs.iter_mut().zip(seen.iter_mut()) {
        while let Some(p) = sub.try_recv() {
            seen.push(p);
        }
    }
    let published = pipeline.stats().frames_published;
    // Both listeners saw every packet, and
    // each packet is the same allocation: encoded once.
    assert_eq!(seen[0].len() as u64, published);
    assert_eq!(seen[1].len() as u64, published);
    for (a, b) in seen[0].iter().zip(&seen[1]) {
        assert!(std::sync::Arc::ptr_eq(a, b));
    }
    let encoded = pipeline.frames_encoded();
    assert!(
        encoded == published || encoded == published + 1,
        "{encoded} vs {published}"
    );
    let mut dec = OpusDecoder::new().unwrap();
    for p in &seen[0] {
        assert_eq!(dec.decode(&p.data).unwrap().len(), AUDIO_FRAME_SAMPLES);
    }
    drop(pipeline);
    assert!(
        next(&mut subs[0]).await.is_none(),
        "feed closes when the pipeline stops"
    );
}
