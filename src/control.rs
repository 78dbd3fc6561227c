//! The device's control socket: `control.sock` in the data directory, a Unix
//! socket only the device's user can open. One JSON request per line, one
//! JSON response per line. `hearth privacy`, `hearth status`, `hearth share`
//! (and, with the hardware branch, `hearth press`) talk to the running device
//! through it.

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
}

/// The socket path for `data_dir`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(CONTROL_SOCKET)
}

/// Sends one request to the device running on `data_dir`.
pub async fn request(data_dir: &Path, request: &Request) -> Result<Response, ControlError> {
    let path = socket_path(data_dir);
    let stream = tokio::net::UnixStream::connect(&path)
        .await
        .map_err(|_| ControlError::NotRunning(path.clone()))?;
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
