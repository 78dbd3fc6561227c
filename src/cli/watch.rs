//! `hearth watch NAME`: watches a contact's camera from the terminal. It
//! decodes every frame, reads the test pattern's frame number when there is
//! one, prints a line a second, and reconnects by itself when the session or
//! the relay drops. With `--talk` it also sends this machine's microphone
//! (talk-back: heard on the contact's speaker if it allowed `talk_back`).

use super::Context;
use hearth::identity::Identity;
use hearth::live_contacts::LiveContacts;
use hearth::media::{read_frame_number, H264Decoder};
use hearth::node::{Node, NodeOptions};
use hearth::rtc::{AudioStream, LocalMedia, MediaStream, PeerConnection, RtcError, RtcSettings};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Arguments of `hearth watch`.
#[derive(clap::Args)]
pub struct WatchArgs {
    /// Name or key (prefix) of the contact to watch.
    who: String,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long)]
    seconds: Option<u64>,
    /// Talk back: send this machine's microphone (`[audio] source`: the
    /// simulated tone, or ALSA). The contact hears it only if it allowed `talk_back`.
    #[arg(long)]
    talk: bool,
}

/// The microphone `--talk` sends, as a stream to add to each connection.
async fn open_voice(config: &hearth::config::Config) -> anyhow::Result<(LocalMedia, MediaStream)> {
    use hearth::hardware::{audio, Board};
    use hearth::media::{AudioPipeline, OpusConfig, OpusEncoder};
    let board = Board::load(&config.board.profile)?;
    let microphone = audio::open_microphone(config, &board)?;
    let opus = OpusEncoder::new(OpusConfig {
        bitrate_bps: config.audio.bitrate_kbps * 1000,
        ..OpusConfig::default()
    })?;
    let media = LocalMedia::new(None, Some(AudioPipeline::start(microphone, opus)?));
    let stream = AudioStream::open(&media).await?;
    Ok((media, stream))
}

/// Runs `hearth watch`.
pub fn run(ctx: &Context, args: WatchArgs) -> anyhow::Result<()> {
    let identity = Arc::new(Identity::load_or_create(&ctx.data_dir)?);
    let contacts = LiveContacts::load(&ctx.data_dir)?;
    let contact = contacts.with(|book| book.find(&args.who).cloned())?;
    let relays = if contact.relays.is_empty() {
        ctx.config.relay_urls()
    } else {
        contact.relays.clone()
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let voice = if args.talk {
        Some(runtime.block_on(open_voice(&ctx.config))?)
    } else {
        None
    };
    runtime.block_on(async move {
        let node = Node::start(
            identity,
            contacts,
            NodeOptions {
                name: ctx.config.name.clone(),
                relays,
            },
        );
        let settings = RtcSettings::from_config(&ctx.config.webrtc);
        let current = Current::default();
        let voice = voice.as_ref().map(|(_media, stream)| stream);
        let watching = watch_forever(&node, contact.key, &contact.name, settings, &current, voice);
        let limit = async {
            match args.seconds {
                Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = watching => {}
            _ = limit => {}
            _ = super::shutdown_signal() => {}
        }
        // Say goodbye, so the device stops sending and stops showing us as watching.
        let open = current.lock().expect("current lock").take();
        if let Some(connection) = open {
            connection.close().await;
        }
        Ok(())
    })
}

/// The connection being watched, so it can be closed on the way out.
type Current = std::sync::Mutex<Option<PeerConnection>>;

async fn watch_forever(
    node: &Node,
    key: hearth::keys::PeerKey,
    name: &str,
    settings: RtcSettings,
    current: &Current,
    voice: Option<&MediaStream>,
) {
    let mut delay = Duration::from_millis(500);
    loop {
        while !node.relay_connected() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let connection = PeerConnection::with_settings(node, key, settings.clone());
        if let Some(voice) = voice {
            if let Err(e) = connection.add_stream(voice) {
                println!("Cannot talk back: {e}.");
                return;
            }
        }
        *current.lock().expect("current lock") = Some(connection.clone());
        match connection.fetch_stream().await {
            Ok(mut remote) => {
                delay = Duration::from_millis(500);
                println!("Watching {name}.");
                let mut decoder = H264Decoder::new().expect("openh264 decoder");
                let (mut frames, mut decoded, mut audio) = (0u32, 0u32, 0u32);
                let mut last_number = None;
                let mut second = Instant::now();
                let mut audio_rx = remote.take_audio();
                loop {
                    tokio::select! {
                        frame = remote.next_video_frame() => {
                            let Some(frame) = frame else { break };
                            frames += 1;
                            if let Ok(Some(picture)) = decoder.decode(&frame.data) {
                                decoded += 1;
                                last_number = read_frame_number(&picture).or(last_number);
                            }
                        }
                        packet = async { audio_rx.as_mut()?.recv().await }, if audio_rx.is_some() => {
                            if packet.is_none() { audio_rx = None } else { audio += 1 }
                        }
                        _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                    }
                    if second.elapsed() >= Duration::from_secs(1) {
                        let number = last_number
                            .map(|n| format!(", frame #{n}"))
                            .unwrap_or_default();
                        println!("  video {frames} fps ({decoded} decoded{number}), audio {audio} packets/s");
                        (frames, decoded, audio) = (0, 0, 0);
                        second = Instant::now();
                    }
                    if connection.is_closed() {
                        break;
                    }
                }
                println!("The session with {name} ended; reconnecting.");
            }
            Err(RtcError::NotAllowed(denied)) => {
                println!(
                    "{name} has not allowed you: {denied}. Ask them to `hearth contacts allow`."
                );
                return;
            }
            Err(e) => println!("Could not watch {name}: {e}. Retrying in {delay:?}."),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}
