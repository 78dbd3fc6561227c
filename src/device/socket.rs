//! The device's control socket: `control.sock` in the data directory, a Unix
//! socket only the device's user can open. One JSON request per line, one
//! JSON response per line. `hearth privacy`, `hearth status`, `hearth share`
//! and `hearth contacts` talk to the running device through it: while a
//! device runs, it is the only writer of its state, and a command that
//! returned has taken effect, in memory and on disk.

use crate::contacts::{ChangeOutcome, ContactChange};
use crate::data_dir_lock::{DataDirLock, LockError};
use crate::device::deliveries::DeliveryReport;
use crate::device::shares::{ShareReceipt, ShareRequest};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// File name of the socket inside the data directory.
pub const CONTROL_SOCKET: &str = "control.sock";

/// Longest request line accepted (a photo travels inside, as b64u).
pub const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;

/// Errors talking to the running device.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Nothing listens on the socket.
    #[error("no running device at {0}: start it with `hearth run` (with the same --data-dir)")]
    NotRunning(PathBuf),
    /// The exchange failed.
    #[error("talking to the device failed: {0}")]
    Io(#[from] std::io::Error),
    /// The device's answer could not be read.
    #[error("the device's answer could not be read: {0}")]
    Protocol(String),
    /// The device refused or failed the request.
    #[error("{0}")]
    Refused(String),
    /// A process holds the data directory but does not answer on its socket.
    #[error("a Hearth process{} holds {} but does not answer on its control socket; it may still be starting (try again) or be stuck (restart it). Nothing was changed", holder(.pid), .dir.display())]
    NotAnswering {
        /// The data directory.
        dir: PathBuf,
        /// The holder's process id, if known.
        pid: Option<u32>,
    },
    /// The data directory could not be locked.
    #[error(transparent)]
    Lock(crate::data_dir_lock::LockError),
}

fn holder(pid: &Option<u32>) -> String {
    pid.map(|p| format!(" (process {p})")).unwrap_or_default()
}

/// Who answers a request: the running device, or nobody — then the caller
/// holds the data directory's lock and may change the files itself.
#[derive(Debug)]
pub enum Reached {
    /// The running device answered.
    Device(Response),
    /// No device runs; the lock is held until this is dropped.
    Offline(DataDirLock),
}

/// Sends `request` to the device running on `data_dir`; with none running,
/// takes the data directory's lock instead. A process that holds the lock
/// without answering is an error, never taken as "not running".
pub async fn request_or_lock(data_dir: &Path, request: &Request) -> Result<Reached, ControlError> {
    match self::request(data_dir, request).await {
        Ok(response) => return Ok(Reached::Device(response)),
        Err(ControlError::NotRunning(_)) => {}
        Err(e) => return Err(e),
    }
    let dir = data_dir.to_path_buf();
    let locked = tokio::task::spawn_blocking(move || {
        DataDirLock::acquire_within(&dir, std::time::Duration::from_secs(2))
    })
    .await
    .map_err(|e| ControlError::Protocol(e.to_string()))?;
    match locked {
        Ok(lock) => Ok(Reached::Offline(lock)),
        Err(LockError::Held { dir, pid }) => Err(ControlError::NotAnswering { dir, pid }),
        Err(e) => Err(ControlError::Lock(e)),
    }
}

/// A request to the device.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Privacy, who is connected and watching, and the outbox.
    Status,
    /// Turns privacy on or off; `None` toggles (like the button).
    Privacy {
        /// On, off, or toggle.
        on: Option<bool>,
    },
    /// Shares a snapshot, photo or thought.
    Share(ShareRequest),
    /// Changes the contact book (`hearth contacts …`): the device applies
    /// it, saves it and answers only then.
    Contacts {
        /// The change.
        change: ContactChange,
    },
    /// Calls a contact and keeps the call up both ways (`hearth call`), or
    /// ends that call.
    Call {
        /// The contact's name or key prefix.
        who: String,
        /// End the call instead.
        #[serde(default)]
        end: bool,
    },
    /// Where a recent share stands, once every contact has it (or refused
    /// it) or after `wait_secs` (at most [`MAX_DELIVERY_WAIT_SECS`]),
    /// whichever comes first.
    Delivery {
        /// The share's id, from [`Response::Shared`].
        id: String,
        /// How long to wait for acknowledgements.
        #[serde(default)]
        wait_secs: u64,
    },
}

/// What `hearth status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Camera and microphone off for everyone.
    pub private: bool,
    /// Contacts with a session now (watching or exchanging shares).
    pub connected: Vec<String>,
    /// Contacts receiving live video or audio now.
    pub watching: Vec<String>,
    /// Contacts heard on the speaker now (talk-back).
    #[serde(default)]
    pub talking: Vec<String>,
    /// The contact whose camera is on the device's screen now.
    #[serde(default)]
    pub showing: Option<String>,
    /// Each session's contact and how its media travels: `host`, `srflx`
    /// (directly through the routers), `relay` (through a TURN relay), or
    /// `connecting`.
    #[serde(default)]
    pub paths: Vec<(String, String)>,
    /// Shares waiting in the outbox, per contact name.
    pub outbox: Vec<(String, usize)>,
    /// Bytes the inbox holds (received shares and unfinished transfers).
    #[serde(default)]
    pub inbox_bytes: u64,
    /// The inbox's bound (`[share] inbox_max_bytes`).
    #[serde(default)]
    pub inbox_max_bytes: u64,
    /// Set while shares are refused because the inbox is full: what to do.
    #[serde(default)]
    pub inbox_full: Option<String>,
    /// Damaged share files set aside in `outbox/damaged/` and `inbox/damaged/`
    /// (paths); nothing in them was deleted.
    #[serde(default)]
    pub damaged: Vec<String>,
}

/// The device's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Response {
    /// The request failed; the text says why and what to do.
    Error {
        /// Why.
        error: String,
    },
    /// The status.
    Status(Status),
    /// Privacy is now as given.
    Privacy {
        /// Whether privacy is on.
        on: bool,
    },
    /// The share was queued.
    Shared(ShareReceipt),
    /// The contact book was changed and saved.
    Contacts(ChangeOutcome),
    /// Who has the share, who gets it later, who will not.
    Delivery(DeliveryReport),
    /// The call to a contact is now kept up (`on`) or ended.
    Call {
        /// The contact's name.
        name: String,
        /// Kept up (true) or ended.
        on: bool,
    },
}

/// The socket path for `data_dir`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(CONTROL_SOCKET)
}

/// How long the device has to answer a request.
pub const ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The longest one `delivery` request waits for acknowledgements: well
/// within [`ANSWER_TIMEOUT`] (`hearth share --wait` asks again to wait longer).
pub const MAX_DELIVERY_WAIT_SECS: u64 = 6;

/// Sends one request to the device running on `data_dir`. A device that
/// takes the request but does not answer within [`ANSWER_TIMEOUT`] is
/// [`ControlError::NotAnswering`].
pub async fn request(data_dir: &Path, request: &Request) -> Result<Response, ControlError> {
    let path = socket_path(data_dir);
    let stream = tokio::net::UnixStream::connect(&path)
        .await
        .map_err(|_| ControlError::NotRunning(path.clone()))?;
    tokio::time::timeout(ANSWER_TIMEOUT, exchange(stream, request))
        .await
        .map_err(|_| ControlError::NotAnswering {
            dir: data_dir.to_path_buf(),
            pid: crate::data_dir_lock::holder(data_dir),
        })?
}

async fn exchange(
    stream: tokio::net::UnixStream,
    request: &Request,
) -> Result<Response, ControlError> {
    let (read, mut write) = stream.into_split();
    let mut line =
        serde_json::to_vec(request).map_err(|e| ControlError::Protocol(e.to_string()))?;
    line.push(b'\n');
    write.write_all(&line).await?;
    let mut answer = String::new();
    BufReader::new(read).read_line(&mut answer).await?;
    match serde_json::from_str(&answer).map_err(|e| ControlError::Protocol(e.to_string()))? {
        Response::Error { error } => Err(ControlError::Refused(error)),
        response => Ok(response),
    }
}
