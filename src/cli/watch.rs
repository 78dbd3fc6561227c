//! `hearth watch NAME`: watches a contact's camera from the terminal. It
//! decodes every frame, reads the test pattern's frame number when there is
//! one, prints a line a second, and reconnects by itself when the session or
//! the relay drops. It says at once what the contact's owner changed —
//! privacy on or off, video or sound allowed — and when more is allowed than
//! the session carries it calls again at once to receive it. A contact that
//! allows sound only is listened to; when nothing is allowed yet, it waits on
//! the open session until something is. With `--talk` it also sends this
//! machine's microphone (talk-back: heard on the contact's speaker if it
//! allowed `talk_back`), and with `--camera` this machine's camera (shown on
//! the contact's screen if it allowed `show_on_device`; it prints one line
//! each time the contact says whether it shows it, and why not).

use super::watch_sending::{next_notice, picture_words, Sending};
use super::Context;
use hearth::api::{Access, EndCode, Grant, PeerConnection, RemoteStream, RtcError, RtcSettings};
use hearth::identity::Identity;
use hearth::live_contacts::LiveContacts;
use hearth::media::{read_frame_number, H264Decoder};
use hearth::node::{Node, NodeOptions};
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
    /// Send this machine's camera (`[video] source`: the simulated test
    /// pattern, or V4L2). The contact's device shows it only if it allowed
    /// `show_on_device`, and says whether it does.
    #[arg(long)]
    camera: bool,
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
    let sending = runtime.block_on(Sending::open(&ctx.config, args.camera, args.talk))?;
    runtime.block_on(async move {
        let settings = RtcSettings::from_config(&ctx.config.webrtc);
        let node = Node::start_with(
            identity,
            contacts,
            NodeOptions {
                name: ctx.config.name.clone(),
                relays,
            },
            settings.relay_ice.clone(),
        );
        let current = Current::default();
        let sending = sending.as_ref();
        let watching = watch_forever(
            &node,
            contact.key,
            &contact.name,
            settings,
            &current,
            sending,
        );
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

/// How long a session with nothing allowed is kept before asking again, for
/// a contact too old to say when its owner allows something.
const RECHECK: Duration = Duration::from_secs(30);

/// What to do once a session is over.
enum Next {
    /// The contact allows more than the session carried: call again now.
    CallAgain,
    /// The session ended: reconnect after the back-off.
    Reconnect,
}

async fn watch_forever(
    node: &Node,
    key: hearth::keys::PeerKey,
    name: &str,
    settings: RtcSettings,
    current: &Current,
    sending: Option<&Sending>,
) {
    let mut delay = Duration::from_millis(500);
    loop {
        while !node.relay_connected() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let connection = PeerConnection::with_settings(node, key, settings.clone());
        if let Some(sending) = sending {
            if let Err(e) = connection.add_stream(&sending.stream) {
                println!("Cannot send your camera or microphone: {e}.");
                return;
            }
        }
        let camera = sending.and_then(|s| s.camera);
        *current.lock().expect("current lock") = Some(connection.clone());
        let next = match connection.fetch_stream().await {
            Ok(remote) => {
                delay = Duration::from_millis(500);
                watch_session(&connection, remote, name, camera).await
            }
            Err(RtcError::NotAllowed(denied)) => {
                delay = Duration::from_millis(500);
                wait_until_allowed(&connection, name, &denied, camera).await
            }
            Err(RtcError::NoPath { turn }) => {
                println!(
                    "No network path to {name}: {}. Trying again in {delay:?}.",
                    hearth::api::no_path_words(turn)
                );
                Next::Reconnect
            }
            Err(e) => {
                println!("Could not watch {name}: {e}. Retrying in {delay:?}.");
                Next::Reconnect
            }
        };
        if let Next::CallAgain = next {
            continue;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

/// What the session carries, in words.
fn watching(name: &str, granted: &Grant) -> String {
    match (granted.video, granted.audio) {
        (true, true) => format!("Watching {name}."),
        (true, false) => format!("Watching {name}. Video only: sound is not allowed."),
        _ => format!("Watching {name}. Sound only: video is not allowed."),
    }
}

/// Says what an access message means; `Next::CallAgain` when it allows more
/// than `granted` (the session is closed: the caller calls again).
async fn on_access(
    connection: &PeerConnection,
    name: &str,
    access: &Access,
    granted: &Grant,
) -> Option<Next> {
    if access.widens(granted) {
        println!("{name} now allows you more; connecting again to receive it.");
        connection.close().await;
        return Some(Next::CallAgain);
    }
    match (access.private(), access.video || access.audio) {
        (true, _) => println!("{name} has privacy mode on."),
        (false, true) => println!("{name} turned privacy mode off."),
        (false, false) => println!("{name} shares nothing live with you now."),
    }
    None
}

/// Watches one session until it ends or the contact allows more than it
/// carries; `camera` is the size this side sends, if it sends its camera.
async fn watch_session(
    connection: &PeerConnection,
    mut remote: RemoteStream,
    name: &str,
    camera: Option<(u32, u32)>,
) -> Next {
    let granted = connection.granted().unwrap_or_default();
    println!("{}", watching(name, &granted));
    let mut access = connection.access();
    let mut path = connection.path();
    let ended = connection.ended();
    tokio::pin!(ended);
    let mut decoder = H264Decoder::new().expect("openh264 decoder");
    let (mut frames, mut decoded, mut audio) = (0u32, 0u32, 0u32);
    let (mut picture, mut sound) = (false, false);
    let mut last_number = None;
    let mut second = Instant::now();
    let mut video_rx = remote.take_video();
    let mut audio_rx = remote.take_audio();
    let mut messages = true;
    loop {
        tokio::select! {
            notice = next_notice(connection, &mut messages) => {
                println!("{}", picture_words(name, &notice, camera));
            }
            frame = async { video_rx.as_mut()?.recv().await }, if video_rx.is_some() => {
                let Some(frame) = frame else { break };
                frames += 1;
                if let Ok(Some(decoded_picture)) = decoder.decode(&frame.data) {
                    decoded += 1;
                    last_number = read_frame_number(&decoded_picture).or(last_number);
                    if !picture {
                        picture = true;
                        let number = last_number.map(|n| format!(" (frame #{n})")).unwrap_or_default();
                        println!("Picture from {name}{number}.");
                    }
                }
            }
            packet = async { audio_rx.as_mut()?.recv().await }, if audio_rx.is_some() => {
                if packet.is_none() {
                    audio_rx = None;
                } else {
                    audio += 1;
                    if !sound {
                        sound = true;
                        println!("Sound from {name}.");
                    }
                }
            }
            now = changed(&mut path) => {
                if let Some(now) = now {
                    let kind = now.kind();
                    println!("Connected to {name}: {} [{kind}].", kind.words());
                }
            }
            told = changed(&mut access) => {
                let Some(told) = told else { continue };
                if let Some(next) = on_access(connection, name, &told, &granted).await {
                    return next;
                }
                // Paused by privacy: say so again when the picture and sound come back.
                if !told.video && !told.audio {
                    (picture, sound) = (false, false);
                }
            }
            why = &mut ended => {
                if why.code == EndCode::AccessWithdrawn {
                    // The next session carries what is still allowed: ask now.
                    println!("{name} withdrew some of what you may receive; connecting again.");
                    return Next::CallAgain;
                }
                break;
            }
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        if second.elapsed() >= Duration::from_secs(1) {
            let number = last_number
                .map(|n| format!(", frame #{n}"))
                .unwrap_or_default();
            match granted.video {
                true => println!(
                    "  video {frames} fps ({decoded} decoded{number}), audio {audio} packets/s"
                ),
                false => println!("  audio {audio} packets/s"),
            }
            (frames, decoded, audio) = (0, 0, 0);
            second = Instant::now();
        }
    }
    println!("The session with {name} ended; reconnecting.");
    Next::Reconnect
}

/// Keeps a session on which nothing live is allowed until the contact allows
/// something (then calls again at once) or it ends; without a camera to
/// send, it also calls again every [`RECHECK`].
async fn wait_until_allowed(
    connection: &PeerConnection,
    name: &str,
    denied: &str,
    camera: Option<(u32, u32)>,
) -> Next {
    if denied.split(", ").any(|d| d == "privacy") {
        println!("{name} has privacy mode on.");
    } else {
        println!("{name} hasn't allowed you video or sound yet ({denied}); waiting until they do (`hearth contacts allow`).");
    }
    let granted = connection.granted().unwrap_or_default();
    let mut access = connection.access();
    let ended = connection.ended();
    tokio::pin!(ended);
    let recheck = tokio::time::sleep(RECHECK);
    tokio::pin!(recheck);
    let mut messages = true;
    loop {
        tokio::select! {
            notice = next_notice(connection, &mut messages) => {
                println!("{}", picture_words(name, &notice, camera));
            }
            told = changed(&mut access) => {
                let Some(told) = told else { continue };
                if let Some(next) = on_access(connection, name, &told, &granted).await {
                    return next;
                }
            }
            _ = &mut ended => return Next::Reconnect,
            // Not while the camera goes with the session: calling again
            // would take it off the contact's screen.
            _ = &mut recheck, if camera.is_none() => {
                connection.close().await;
                return Next::CallAgain;
            }
        }
    }
}

/// The next value the session says on `watched` (an access message, a new
/// path); never, if it cannot say any.
async fn changed<T: Clone>(
    watched: &mut Option<tokio::sync::watch::Receiver<Option<T>>>,
) -> Option<T> {
    let Some(rx) = watched.as_mut() else {
        return std::future::pending().await;
    };
    if rx.changed().await.is_err() {
        *watched = None;
        return None;
    }
    rx.borrow_and_update().clone()
}
