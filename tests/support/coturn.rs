//! A real coturn (Debian `turnserver`) on loopback for the TURN tests, set
//! up the way docs/relay.md deploys it: time-limited credentials checked with
//! a shared secret (`use-auth-secret`), plus what loopback needs. For coturn
//! inside a network namespace, see [`turn_server`](super::turn_server).

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hearth::relay::ice::{mint, IceConfig};
use hearth::relay::turn_check::allocate;

/// The flags every coturn of the tests runs with, here and in a
/// [`turn_server`](super::turn_server): in the foreground, without TLS, DTLS
/// or its admin CLI, logging plainly to stdout, in the realm `hearth`.
pub const BASE_ARGS: [&str; 7] = [
    "-n",
    "--no-tls",
    "--no-dtls",
    "--no-cli",
    "--log-file=stdout",
    "--simple-log",
    "--realm=hearth",
];

/// A running `turnserver`, killed when dropped.
pub struct Coturn {
    /// Its UDP port on 127.0.0.1.
    pub port: u16,
    /// The shared secret it checks credentials with.
    pub secret: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Coturn {
    /// Starts coturn with `secret` and waits until it allocates.
    pub async fn start(secret: &str) -> Coturn {
        let port = free_udp_port();
        // Relay ports next to the listening port, so parallel tests do not collide.
        let min = 20_000 + (port % 400) * 100;
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("turnserver")
            .args(BASE_ARGS)
            .args([
                "--listening-ip=127.0.0.1",
                "--relay-ip=127.0.0.1",
                &format!("--listening-port={port}"),
                &format!("--min-port={min}"),
                &format!("--max-port={}", min + 99),
                "--use-auth-secret",
                &format!("--static-auth-secret={secret}"),
                "--allow-loopback-peers",
                &format!("--pidfile={}", dir.path().join("turn.pid").display()),
                &format!("--userdb={}", dir.path().join("turndb").display()),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver (Debian package coturn) is installed");
        let coturn = Coturn {
            port,
            secret: secret.to_string(),
            child,
            _dir: dir,
        };
        coturn.wait_ready().await;
        coturn
    }

    /// `host:port` of the server.
    pub fn server(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The `[ice]` settings of a relay that hands this server out.
    pub fn ice_config(&self) -> IceConfig {
        IceConfig {
            turn_urls: vec![format!("turn:127.0.0.1:{}?transport=udp", self.port)],
            turn_secret: self.secret.clone(),
            ..IceConfig::default()
        }
    }

    async fn wait_ready(&self) {
        let now = unix_now();
        let good = mint(&self.secret, "ready", now + 600);
        for _ in 0..50 {
            let attempt = allocate(
                &self.server(),
                &good.username,
                &good.credential,
                Duration::from_millis(300),
            )
            .await;
            if attempt.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("coturn did not start allocating on {}", self.server());
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Seconds since 1970.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A raw TURN client (the `rtc` crate's, on one UDP socket) for tests that
/// go beyond allocating: it keeps its allocation and asks for permissions.
pub struct RawTurn {
    client: rtc::turn::client::Client,
    socket: tokio::net::UdpSocket,
    server: std::net::SocketAddr,
    local: std::net::SocketAddr,
}

impl RawTurn {
    /// A client for `coturn` with these credentials.
    pub async fn new(coturn: &Coturn, username: &str, password: &str) -> RawTurn {
        let server: std::net::SocketAddr = coturn.server().parse().unwrap();
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket.connect(server).await.unwrap();
        let local = socket.local_addr().unwrap();
        let client = rtc::turn::client::Client::new(
            rtc::turn::client::ClientConfig {
                turn_serv_addr: server.to_string(),
                local_addr: local,
                username: username.into(),
                password: password.into(),
                ..Default::default()
            },
            rtc::crypto::default_provider().unwrap(),
        )
        .unwrap();
        RawTurn {
            client,
            socket,
            server,
            local,
        }
    }

    /// Allocates; the relayed address.
    pub async fn allocate(&mut self) -> std::net::SocketAddr {
        self.client.allocate(std::time::Instant::now()).unwrap();
        let events = self.pump(Duration::from_secs(2)).await;
        events
            .into_iter()
            .find_map(|e| match e {
                rtc::turn::client::Event::AllocateResponse(_, relayed) => Some(relayed),
                _ => None,
            })
            .expect("an allocation")
    }

    /// Asks for a permission towards `peer` on the allocation `relayed`;
    /// whether coturn granted it.
    pub async fn permit(
        &mut self,
        relayed: std::net::SocketAddr,
        peer: std::net::SocketAddr,
    ) -> bool {
        self.client
            .relay(relayed)
            .unwrap()
            .create_permission(std::time::Instant::now(), peer)
            .unwrap();
        let events = self.pump(Duration::from_secs(2)).await;
        let granted = events.iter().any(
            |e| matches!(e, rtc::turn::client::Event::CreatePermissionResponse(_, p) if *p == peer),
        );
        let refused = events
            .iter()
            .any(|e| matches!(e, rtc::turn::client::Event::CreatePermissionError(..)));
        assert!(granted != refused, "one answer about the permission");
        granted
    }

    async fn pump(&mut self, wait: Duration) -> Vec<rtc::turn::client::Event> {
        use rtc::sansio::Protocol;
        let deadline = tokio::time::Instant::now() + wait;
        let mut buf = vec![0u8; 2048];
        let mut events = Vec::new();
        loop {
            while let Some(out) = self.client.poll_write() {
                let _ = self.socket.send(&out.message).await;
            }
            while let Some(event) = self.client.poll_event() {
                events.push(event);
            }
            if !events.is_empty() || tokio::time::Instant::now() >= deadline {
                return events;
            }
            tokio::select! {
                received = self.socket.recv(&mut buf) => if let Ok(n) = received {
                    let message = rtc::shared::TransportMessage {
                        now: std::time::Instant::now(),
                        transport: rtc::shared::TransportContext {
                            local_addr: self.local,
                            peer_addr: self.server,
                            transport_protocol: rtc::shared::TransportProtocol::UDP,
                            ecn: None,
                        },
                        message: bytes::BytesMut::from(&buf[..n]),
                    };
                    let _ = self.client.handle_read(message);
                },
                _ = tokio::time::sleep(Duration::from_millis(50)) => {
                    let _ = self.client.handle_timeout(std::time::Instant::now());
                }
            }
        }
    }
}
