//! coturn (Debian's `turnserver`) as the internet's STUN and TURN server, for
//! tests in a [`Topology`](super::topology::Topology). It listens on
//! [`SERVER_IP`](super::topology::SERVER_IP):3478 and relays from the same
//! address; its log is kept beside the test's files.

use super::coturn::BASE_ARGS;
use super::topology::{Host, Process, SERVER_IP};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The port coturn listens on (UDP and TCP).
pub const TURN_PORT: u16 = 3478;

/// How coturn checks TURN credentials (STUN needs none).
pub enum TurnAuth<'a> {
    /// One fixed user (`--lt-cred-mech --user=NAME:PASSWORD`).
    Static {
        /// The username.
        user: &'a str,
        /// Its password.
        password: &'a str,
    },
    /// Time-limited credentials minted with a shared secret
    /// (`--use-auth-secret --static-auth-secret=SECRET`).
    Secret(&'a str),
}

/// A running coturn; stopped on drop.
pub struct TurnServer {
    _process: Process,
}

impl TurnServer {
    /// Starts coturn in `internet` (the topology's internet namespace), with
    /// its pid file, database and log under `dir`, and waits until it listens.
    pub fn start(internet: &Host, auth: TurnAuth, dir: &Path) -> TurnServer {
        let log = std::fs::File::create(dir.join("turnserver.log")).unwrap();
        let mut command = internet.command("turnserver");
        command.args(BASE_ARGS).args([
            &format!("--listening-ip={SERVER_IP}"),
            &format!("--relay-ip={SERVER_IP}"),
            &format!("--listening-port={TURN_PORT}"),
            "--min-port=49160",
            "--max-port=49400",
            "--verbose",
            // As a public TURN server should (systemd/turnserver.conf.example):
            // private networks are not relayed to. Without this, coturn 4.6.1 here
            // tried a peer's private host candidate, the send failed (network
            // unreachable), and the allocation relayed nothing to its public
            // address either: no relayed path at all.
            "--denied-peer-ip=0.0.0.0-0.255.255.255",
            "--denied-peer-ip=10.0.0.0-10.255.255.255",
            "--denied-peer-ip=100.64.0.0-100.127.255.255",
            "--denied-peer-ip=127.0.0.0-127.255.255.255",
            "--denied-peer-ip=169.254.0.0-169.254.255.255",
            "--denied-peer-ip=172.16.0.0-172.31.255.255",
            "--denied-peer-ip=192.168.0.0-192.168.255.255",
        ]);
        command
            .arg(format!(
                "--pidfile={}",
                dir.join("turnserver.pid").display()
            ))
            .arg(format!("--db={}", dir.join("turndb").display()));
        match auth {
            TurnAuth::Static { user, password } => {
                command.args(["--lt-cred-mech", &format!("--user={user}:{password}")])
            }
            TurnAuth::Secret(secret) => command.args([
                "--use-auth-secret",
                &format!("--static-auth-secret={secret}"),
            ]),
        };
        let process = internet.spawn(
            command
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let listening = internet.exec("ss", &["-Hlun", &format!("sport = :{TURN_PORT}")]);
            if !String::from_utf8_lossy(&listening.stdout).trim().is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "coturn did not listen within 20 s (apt-get install coturn); its log:\n{}",
                std::fs::read_to_string(dir.join("turnserver.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        TurnServer { _process: process }
    }

    /// The STUN URL of the server.
    pub fn stun_url() -> String {
        format!("stun:{SERVER_IP}:{TURN_PORT}")
    }

    /// The TURN URL of the server (UDP).
    pub fn turn_url() -> String {
        format!("turn:{SERVER_IP}:{TURN_PORT}?transport=udp")
    }
}
