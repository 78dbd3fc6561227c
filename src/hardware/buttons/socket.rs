//! `hearth press BUTTON`: pressing a button of the running device from another shell.
//!
//! The device listens on a Unix socket in its data directory (mode 0600, so only its own
//! user and root can press). A request is one line, `privacy` or `privacy long`; the
//! answer is one line once the device has acted on it: `ok`, `refused: …` (the device's
//! sentence: privacy is on, nobody may receive shares, …) or `error: …` (a bad request,
//! or the device did not answer). Works with simulated and GPIO buttons alike, which
//! makes it handy for scripts and end-to-end tests.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tracing::{debug, warn};

use super::{Action, AnsweredPress, Button, ButtonEvent, PressReply};
use crate::hardware::HardwareError;

/// How long the socket waits for the device to act on a press (a snapshot
/// waits up to 5 s for the camera's frame).
const ANSWER_WAIT: Duration = Duration::from_secs(8);
/// How long `hearth press` waits for the answer.
const CLIENT_WAIT: Duration = Duration::from_secs(10);

/// File name of the socket inside the data directory.
pub const SOCKET_FILE: &str = "buttons.sock";

/// Where the device listens, given its data directory.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_FILE)
}

const NOT_RUNNING: &str = "no Hearth device is running with this data directory; start it \
                           first, or pass the same --data-dir it uses";

/// Parses one request line into an event.
pub fn parse_request(line: &str) -> Result<ButtonEvent, String> {
    let mut words = line.split_whitespace();
    let button: Button = words
        .next()
        .ok_or("empty request; send `BUTTON` or `BUTTON long`")?
        .parse()
        .map_err(|e: super::UnknownButton| e.to_string())?;
    let action = match words.next() {
        None => Action::Press,
        Some("long") => Action::LongPress,
        Some(other) => return Err(format!("unknown action `{other}`; only `long` is known")),
    };
    Ok(ButtonEvent { button, action })
}

/// Sends one press to the device listening at `path` and waits for its answer.
pub fn press(path: &Path, button: Button, action: Action) -> Result<(), HardwareError> {
    let mut stream = UnixStream::connect(path).map_err(|_| HardwareError::Missing {
        device: path.to_path_buf(),
        fix: NOT_RUNNING,
    })?;
    let io = |e| HardwareError::Io {
        device: path.to_path_buf(),
        source: e,
    };
    stream.set_read_timeout(Some(CLIENT_WAIT)).map_err(io)?;
    let long = if action == Action::LongPress {
        " long"
    } else {
        ""
    };
    writeln!(stream, "{button}{long}").map_err(io)?;
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer).map_err(io)?;
    match answer.trim() {
        "ok" => Ok(()),
        other => match other.strip_prefix("refused: ") {
            Some(reason) => Err(HardwareError::Refused {
                button: button.name(),
                reason: reason.to_string(),
            }),
            None => Err(HardwareError::Config {
                key: "button".into(),
                reason: other.trim_start_matches("error: ").to_string(),
            }),
        },
    }
}

/// Where the socket hands presses.
#[derive(Clone)]
enum Forward {
    /// Straight on; answered `ok` at once.
    Plain(UnboundedSender<ButtonEvent>),
    /// With a reply; answered once the device has acted on it.
    Answering(UnboundedSender<AnsweredPress>),
}

/// The listening socket; dropping it stops listening and removes the file.
#[derive(Debug)]
pub struct PressSocket {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PressSocket {
    /// Listens at `path` and forwards every valid request to `tx`, answering `ok` as
    /// soon as it is forwarded. A stale socket file from a crashed run is replaced; a
    /// live one means another device runs here.
    pub fn bind(path: &Path, tx: UnboundedSender<ButtonEvent>) -> Result<Self, HardwareError> {
        Self::listen(path, Forward::Plain(tx))
    }

    /// Like [`PressSocket::bind`], but each press carries a [`PressReply`] and is
    /// answered with what the device made of it (`ok` or `refused: …`).
    pub fn bind_answering(
        path: &Path,
        tx: UnboundedSender<AnsweredPress>,
    ) -> Result<Self, HardwareError> {
        Self::listen(path, Forward::Answering(tx))
    }

    fn listen(path: &Path, tx: Forward) -> Result<Self, HardwareError> {
        if path.exists() {
            if UnixStream::connect(path).is_ok() {
                return Err(HardwareError::Busy {
                    device: path.to_path_buf(),
                });
            }
            let _ = std::fs::remove_file(path);
        }
        let io = |e| HardwareError::Io {
            device: path.to_path_buf(),
            source: e,
        };
        let listener = UnixListener::bind(path).map_err(io)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let thread = std::thread::Builder::new()
            .name("hearth-press".into())
            .spawn(move || serve(listener, tx, thread_stop))
            .map_err(io)?;
        Ok(PressSocket {
            path: path.to_path_buf(),
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for PressSocket {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // The thread waits in `accept`: a connection of our own wakes it, and it ends.
        let woke = UnixStream::connect(&self.path).is_ok();
        if let Some(t) = self.thread.take() {
            if woke {
                let _ = t.join();
            } else {
                // The socket file was removed behind our back, so nobody can connect
                // any more: the thread stays parked in `accept` until the process ends.
                debug!("button socket file already gone; not waiting for its thread");
            }
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Answers presses one at a time. Blocks in `accept` (no polling), so a press is
/// handled the moment it arrives and an idle device does not wake up for it.
fn serve(listener: UnixListener, tx: Forward, stop: Arc<AtomicBool>) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        match stream {
            Ok(stream) => {
                if let Err(e) = answer(stream, &tx) {
                    debug!("hearth press client went away: {e}");
                }
            }
            Err(e) => {
                warn!("button socket: {e}");
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
}

fn answer(stream: UnixStream, tx: &Forward) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    let reply = match parse_request(&line) {
        Ok(event) => {
            debug!(?event, "button pressed through the socket");
            forward(tx, event)
        }
        Err(e) => format!("error: {e}"),
    };
    writeln!(&stream, "{reply}")
}

/// Hands `event` to the device and says what became of it.
fn forward(tx: &Forward, event: ButtonEvent) -> String {
    const GONE: &str = "error: the device is shutting down";
    match tx {
        Forward::Plain(tx) => match tx.send(event) {
            Ok(()) => "ok".into(),
            Err(_) => GONE.into(),
        },
        Forward::Answering(tx) => {
            let (reply, answer) = PressReply::channel();
            if tx.send((event, reply)).is_err() {
                return GONE.into();
            }
            match answer.recv_timeout(ANSWER_WAIT) {
                Ok(Ok(())) | Err(RecvTimeoutError::Disconnected) => "ok".into(),
                Ok(Err(reason)) => format!("refused: {}", reason.replace('\n', " ")),
                Err(RecvTimeoutError::Timeout) => format!(
                    "error: the device did not act on the press within {} s",
                    ANSWER_WAIT.as_secs()
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse() {
        let e = parse_request("snapshot\n").unwrap();
        assert_eq!((e.button, e.action), (Button::Snapshot, Action::Press));
        let e = parse_request("yes long").unwrap();
        assert_eq!(e.action, Action::LongPress);
        assert!(parse_request("").is_err());
        assert!(parse_request("privacy twice").unwrap_err().contains("long"));
        assert!(parse_request("mute")
            .unwrap_err()
            .contains("unknown button"));
    }

    /// Drops `socket` on another thread; whether that returned within 10 s.
    fn drop_returns(socket: PressSocket) -> bool {
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            drop(socket);
            let _ = done.send(());
        });
        finished.recv_timeout(Duration::from_secs(10)).is_ok()
    }

    #[test]
    fn a_waiting_socket_stops_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = socket_path(dir.path());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let socket = PressSocket::bind(&path, tx).unwrap();
        press(&path, Button::Snapshot, Action::Press).unwrap();
        assert_eq!(rx.try_recv().unwrap().button, Button::Snapshot);
        assert!(
            drop_returns(socket),
            "the thread waiting in accept was woken"
        );
        assert!(!path.exists());
        assert!(rx.try_recv().is_err(), "the wake-up is not a press");
    }

    #[test]
    fn a_refused_press_comes_back_with_the_devices_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let path = socket_path(dir.path());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<AnsweredPress>();
        let _socket = PressSocket::bind_answering(&path, tx).unwrap();
        let device = std::thread::spawn(move || {
            let (event, reply) = rx.blocking_recv().unwrap();
            assert_eq!(event.button, Button::Snapshot);
            reply.answer(Err("privacy is on: the camera is off".into()));
            let (_, reply) = rx.blocking_recv().unwrap();
            reply.answer(Ok(()));
            let (_, reply) = rx.blocking_recv().unwrap();
            drop(reply);
        });
        let err = press(&path, Button::Snapshot, Action::Press).unwrap_err();
        assert!(matches!(err, HardwareError::Refused { .. }), "{err}");
        assert!(err.to_string().contains("privacy is on"), "{err}");
        press(&path, Button::Privacy, Action::Press).unwrap();
        press(&path, Button::Yes, Action::Press).expect("no answer counts as done");
        device.join().unwrap();
    }

    #[test]
    fn dropping_does_not_hang_when_the_socket_file_was_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = socket_path(dir.path());
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let socket = PressSocket::bind(&path, tx).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(drop_returns(socket));
    }
}
