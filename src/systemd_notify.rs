//! Tells systemd how the device is doing: the `sd_notify` protocol without libsystemd.
//!
//! The packaged unit runs Hearth as `Type=notify` with a watchdog. systemd then
//! expects, over the Unix datagram socket named in `$NOTIFY_SOCKET`:
//! - `READY=1` once the device is up (until then `systemctl start` waits),
//! - `WATCHDOG=1` at least every `WatchdogSec` (a wedged main loop stops
//!   pinging, and systemd kills and restarts it),
//! - `STOPPING=1` when shutdown begins, and `STATUS=…` for `systemctl status`.
//!
//! Outside systemd (`$NOTIFY_SOCKET` unset, e.g. `./dev run`) every call is a
//! no-op, so the device loop can call these unconditionally.
//!
//! ```no_run
//! use hearth::systemd_notify::{watchdog_interval, Notifier};
//! # fn main() -> Result<(), hearth::systemd_notify::NotifyError> {
//! let notifier = Notifier::from_env()?;
//! notifier.status("waiting for the relay")?;
//! notifier.ready()?;
//! if let Some(every) = watchdog_interval() {
//!     // In the main loop, at least this often:
//!     notifier.watchdog()?;
//!     # let _ = every;
//! }
//! notifier.stopping()?;
//! # Ok(())
//! # }
//! ```

use std::ffi::OsStr;
use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// How long one notification may block before it is reported as failed.
const SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// Why a notification could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// `$NOTIFY_SOCKET` is neither an absolute path nor an `@abstract` name.
    #[error(
        "NOTIFY_SOCKET={0:?} is neither an absolute path nor an @abstract socket name; \
         unset it to run without systemd"
    )]
    BadAddress(String),
    /// The notification socket could not be created or reached.
    #[error(
        "cannot send {state:?} to systemd's notification socket: {source} \
         (check NotifyAccess= in the unit)"
    )]
    Send {
        /// The first line of the message that failed.
        state: String,
        /// The underlying socket error.
        #[source]
        source: io::Error,
    },
}

/// Sends state changes to systemd; does nothing when not started by systemd.
#[derive(Debug)]
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
}

impl Notifier {
    /// Connects to the socket named by `$NOTIFY_SOCKET`, or returns a disabled
    /// notifier when the variable is unset or empty.
    pub fn from_env() -> Result<Self, NotifyError> {
        match std::env::var_os("NOTIFY_SOCKET") {
            Some(address) if !address.is_empty() => Self::connect(&address),
            _ => Ok(Self::disabled()),
        }
    }

    /// A notifier that sends nothing (for runs outside systemd, and tests).
    pub fn disabled() -> Self {
        Self { target: None }
    }

    /// Prepares to send to `address`: an absolute socket path, or `@name` for
    /// a Linux abstract socket, as systemd writes into `$NOTIFY_SOCKET`.
    pub fn connect(address: &OsStr) -> Result<Self, NotifyError> {
        let bad = || NotifyError::BadAddress(address.to_string_lossy().into_owned());
        let bytes = address.as_encoded_bytes();
        let addr = match bytes.first() {
            Some(b'/') => SocketAddr::from_pathname(address).map_err(|_| bad())?,
            Some(b'@') => abstract_address(&bytes[1..]).ok_or_else(bad)?,
            _ => return Err(bad()),
        };
        let socket = UnixDatagram::unbound()
            .and_then(|s| s.set_write_timeout(Some(SEND_TIMEOUT)).map(|()| s))
            .map_err(|source| NotifyError::Send {
                state: String::new(),
                source,
            })?;
        Ok(Self {
            target: Some((socket, addr)),
        })
    }

    /// Whether notifications actually go anywhere.
    pub fn is_enabled(&self) -> bool {
        self.target.is_some()
    }

    /// `READY=1`: start-up is complete; `systemctl start` returns.
    pub fn ready(&self) -> Result<(), NotifyError> {
        self.send("READY=1")
    }

    /// `STOPPING=1`: shutdown has begun.
    pub fn stopping(&self) -> Result<(), NotifyError> {
        self.send("STOPPING=1")
    }

    /// `WATCHDOG=1`: the main loop is alive. Send it every [`watchdog_interval`].
    pub fn watchdog(&self) -> Result<(), NotifyError> {
        self.send("WATCHDOG=1")
    }

    /// `STATUS=…`: one line shown by `systemctl status hearth`. Line breaks are
    /// replaced by spaces, so a status can never smuggle in another assignment.
    pub fn status(&self, text: &str) -> Result<(), NotifyError> {
        let line: String = text
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
            .collect();
        self.send(&format!("STATUS={line}"))
    }

    /// Sends raw newline-separated `KEY=value` assignments in one datagram.
    pub fn send(&self, state: &str) -> Result<(), NotifyError> {
        let Some((socket, addr)) = &self.target else {
            return Ok(());
        };
        socket
            .send_to_addr(state.as_bytes(), addr)
            .map(|_| ())
            .map_err(|source| NotifyError::Send {
                state: state.lines().next().unwrap_or_default().to_owned(),
                source,
            })
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_address(name: &[u8]) -> Option<SocketAddr> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    if name.is_empty() {
        return None;
    }
    SocketAddr::from_abstract_name(name).ok()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_address(_name: &[u8]) -> Option<SocketAddr> {
    None
}

/// How often to send [`Notifier::watchdog`]: half of systemd's `WatchdogSec`
/// (from `$WATCHDOG_USEC`), or `None` when no watchdog is set up for this
/// process (unset, zero, unparsable, or `$WATCHDOG_PID` names another process).
pub fn watchdog_interval() -> Option<Duration> {
    watchdog_interval_from(
        std::env::var_os("WATCHDOG_USEC").as_deref(),
        std::env::var_os("WATCHDOG_PID").as_deref(),
        std::process::id(),
    )
}

/// [`watchdog_interval`] on explicit values: `usec` and `pid` as found in
/// `$WATCHDOG_USEC` and `$WATCHDOG_PID`, and `own_pid` this process's id.
pub fn watchdog_interval_from(
    usec: Option<&OsStr>,
    pid: Option<&OsStr>,
    own_pid: u32,
) -> Option<Duration> {
    if let Some(pid) = pid {
        let pid: u32 = pid.to_str()?.trim().parse().ok()?;
        if pid != own_pid {
            return None;
        }
    }
    let usec: u64 = usec?.to_str()?.trim().parse().ok()?;
    if usec == 0 {
        return None;
    }
    Some(Duration::from_micros(usec) / 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    /// A stand-in for systemd: a bound datagram socket in a fresh directory.
    fn listener() -> (tempfile::TempDir, UnixDatagram, OsString) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        (dir, socket, path.into_os_string())
    }

    fn receive(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 4096];
        let n = socket.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn sends_each_state_as_one_datagram() {
        let (_dir, systemd, address) = listener();
        let notifier = Notifier::connect(&address).unwrap();
        assert!(notifier.is_enabled());
        notifier.status("connecting to the relay").unwrap();
        notifier.ready().unwrap();
        notifier.watchdog().unwrap();
        notifier.stopping().unwrap();
        assert_eq!(receive(&systemd), "STATUS=connecting to the relay");
        assert_eq!(receive(&systemd), "READY=1");
        assert_eq!(receive(&systemd), "WATCHDOG=1");
        assert_eq!(receive(&systemd), "STOPPING=1");
    }

    #[test]
    fn status_cannot_inject_other_assignments() {
        let (_dir, systemd, address) = listener();
        let notifier = Notifier::connect(&address).unwrap();
        notifier.status("all good\nREADY=1\r\nX").unwrap();
        let got = receive(&systemd);
        assert_eq!(got, "STATUS=all good READY=1  X");
        assert_eq!(got.lines().count(), 1);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reaches_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("hearth-notify-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let systemd = UnixDatagram::bind_addr(&addr).unwrap();
        systemd
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let notifier = Notifier::connect(OsStr::new(&format!("@{name}"))).unwrap();
        notifier.ready().unwrap();
        assert_eq!(receive(&systemd), "READY=1");
    }

    #[test]
    fn a_missing_socket_is_an_error_naming_the_state() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("nobody-listens");
        let notifier = Notifier::connect(gone.as_os_str()).unwrap();
        let err = notifier.ready().unwrap_err();
        assert!(matches!(err, NotifyError::Send { ref state, .. } if state == "READY=1"));
        assert!(err.to_string().contains("READY=1"), "{err}");
    }

    #[test]
    fn refuses_relative_and_empty_addresses() {
        for bad in ["notify", "", "@"] {
            let err = Notifier::connect(OsStr::new(bad)).unwrap_err();
            assert!(matches!(err, NotifyError::BadAddress(_)), "{bad:?}: {err}");
        }
    }

    #[test]
    fn disabled_notifier_sends_nothing_and_succeeds() {
        let notifier = Notifier::disabled();
        assert!(!notifier.is_enabled());
        notifier.ready().unwrap();
        notifier.watchdog().unwrap();
        notifier.status("x").unwrap();
        notifier.stopping().unwrap();
    }

    #[test]
    fn watchdog_interval_is_half_the_timeout() {
        let usec = OsString::from("30000000");
        assert_eq!(
            watchdog_interval_from(Some(&usec), None, 42),
            Some(Duration::from_secs(15))
        );
        let pid = OsString::from("42");
        assert_eq!(
            watchdog_interval_from(Some(&usec), Some(&pid), 42),
            Some(Duration::from_secs(15))
        );
    }

    #[test]
    fn no_watchdog_when_unset_zero_garbled_or_meant_for_another_process() {
        let usec = OsString::from("30000000");
        assert_eq!(watchdog_interval_from(None, None, 42), None);
        assert_eq!(
            watchdog_interval_from(Some(OsStr::new("0")), None, 42),
            None
        );
        assert_eq!(
            watchdog_interval_from(Some(OsStr::new("soon")), None, 42),
            None
        );
        assert_eq!(
            watchdog_interval_from(Some(&usec), Some(OsStr::new("7")), 42),
            None
        );
        assert_eq!(
            watchdog_interval_from(Some(&usec), Some(OsStr::new("x")), 42),
            None
        );
    }
}
