//! `hearth relay --check`: allocates on each configured TURN server with
//! freshly minted credentials, exactly as clients will, and says plainly what
//! is wrong when that fails (unreachable, secret or clock mismatch, a URL this
//! check cannot follow). The allocation itself is the `rtc` crate's TURN
//! client driven over one UDP socket.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use rtc::sansio::Protocol;
use rtc::shared::{TransportContext, TransportMessage, TransportProtocol};
use rtc::turn::client::{Client, ClientConfig, Event};
use tokio::net::UdpSocket;

use super::ice::{mint, IceConfig};

/// Why an allocation could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TurnCheckError {
    /// The config lists no TURN server.
    #[error(
        "no TURN server is configured: set [ice] turn_urls and turn_secret in the relay's config"
    )]
    NotConfigured,
    /// A URL this check cannot use.
    #[error("`{url}`: {why}")]
    Url {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// The server's name did not resolve, or no local socket could be opened.
    #[error("{server}: {reason}")]
    Local {
        /// The server as `host:port`.
        server: String,
        /// What failed.
        reason: String,
    },
    /// Nothing answered.
    #[error("{server} did not answer within {waited:?}: check that the TURN server runs and that UDP port {port} is open in its firewall")]
    Unreachable {
        /// The server as `host:port`.
        server: String,
        /// How long the check waited.
        waited: Duration,
        /// The port it tried.
        port: u16,
    },
    /// The server answered and refused the credentials.
    #[error("{server} refused the minted credentials ({reason}): [ice] turn_secret must equal coturn's static-auth-secret, coturn must run with use-auth-secret, and the clocks of relay and TURN server must agree")]
    Refused {
        /// The server as `host:port`.
        server: String,
        /// The server's answer.
        reason: String,
    },
    /// The server answered with something else than an allocation.
    #[error("{server} did not allocate: {reason}")]
    Failed {
        /// The server as `host:port`.
        server: String,
        /// The server's answer.
        reason: String,
    },
}

/// Default TURN port (RFC 8656).
const DEFAULT_PORT: u16 = 3478;

/// `host:port` of a `turn:` URL over UDP; other forms are refused with the reason.
pub fn udp_server_of(url: &str) -> Result<String, TurnCheckError> {
    let bad = |why: &str| TurnCheckError::Url {
        url: url.to_string(),
        why: why.to_string(),
    };
    let rest = if let Some(rest) = url.strip_prefix("turn:") {
        rest
    } else if url.starts_with("turns:") {
        return Err(bad(
            "turns: (TLS) is not checked here; check the plain turn: URL of the same server",
        ));
    } else {
        return Err(bad("not a turn: URL"));
    };
    let (hostport, query) = rest.split_once('?').unwrap_or((rest, ""));
    if query.split('&').any(|p| p == "transport=tcp") {
        return Err(bad(
            "transport=tcp is not checked here; check the UDP URL of the same server",
        ));
    }
    if hostport.is_empty() {
        return Err(bad("no host"));
    }
    let has_port = match hostport.rsplit_once(':') {
        Some((_, port)) => !hostport.ends_with(']') && port.parse::<u16>().is_ok(),
        None => false,
    };
    Ok(if has_port {
        hostport.to_string()
    } else {
        format!("{hostport}:{DEFAULT_PORT}")
    })
}

/// A successful allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocated {
    /// The server's address.
    pub server: SocketAddr,
    /// The relayed address it handed out.
    pub relayed: SocketAddr,
}

/// Allocates on every TURN URL of `config` with credentials minted now, as
/// a client with the id `check` would get them. One result per URL.
pub async fn check(
    config: &IceConfig,
    wait: Duration,
) -> Vec<(String, Result<Allocated, TurnCheckError>)> {
    if config.turn_urls.is_empty() {
        return vec![(String::new(), Err(TurnCheckError::NotConfigured))];
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let minted = mint(
        &config.turn_secret,
        "check",
        now + config.credential_ttl_secs,
    );
    let mut results = Vec::new();
    for url in &config.turn_urls {
        let result = match udp_server_of(url) {
            Ok(server) => allocate(&server, &minted.username, &minted.credential, wait).await,
            Err(e) => Err(e),
        };
        results.push((url.clone(), result));
    }
    results
}

/// Allocates a UDP relay on `server` (`host:port`) with `username` and
/// `password`, waiting at most `wait` for the answers. The allocation is
/// released again before returning.
pub async fn allocate(
    server: &str,
    username: &str,
    password: &str,
    wait: Duration,
) -> Result<Allocated, TurnCheckError> {
    let local_err = |reason: String| TurnCheckError::Local {
        server: server.to_string(),
        reason,
    };
    let resolved = tokio::net::lookup_host(server)
        .await
        .map_err(|e| local_err(format!("cannot resolve: {e}")))?
        .next()
        .ok_or_else(|| local_err("the name has no address".into()))?;
    let bind: SocketAddr = if resolved.is_ipv4() {
        "0.0.0.0:0".parse().expect("valid")
    } else {
        "[::]:0".parse().expect("valid")
    };
    let socket = UdpSocket::bind(bind)
        .await
        .map_err(|e| local_err(format!("cannot open a UDP socket: {e}")))?;
    socket
        .connect(resolved)
        .await
        .map_err(|e| local_err(format!("cannot reach it: {e}")))?;
    let local_addr = socket
        .local_addr()
        .map_err(|e| local_err(format!("no local address: {e}")))?;
    let provider = rtc::crypto::default_provider()
        .map_err(|e| local_err(format!("no crypto provider: {e}")))?;
    let mut client = Client::new(
        ClientConfig {
            turn_serv_addr: resolved.to_string(),
            local_addr,
            transport_protocol: TransportProtocol::UDP,
            username: username.to_string(),
            password: password.to_string(),
            software: "hearth relay --check".into(),
            ..ClientConfig::default()
        },
        provider,
    )
    .map_err(|e| local_err(e.to_string()))?;
    let started = tokio::time::Instant::now();
    let deadline = started + wait;
    let unreachable = || TurnCheckError::Unreachable {
        server: server.to_string(),
        waited: wait,
        port: resolved.port(),
    };
    client
        .allocate(Instant::now())
        .map_err(|e| local_err(e.to_string()))?;
    let mut buf = vec![0u8; 2048];
    let mut answered = false;
    loop {
        while let Some(out) = client.poll_write() {
            // A lost datagram is retransmitted by the client's own timers.
            let _ = socket.send(&out.message).await;
        }
        while let Some(event) = client.poll_event() {
            match event {
                Event::AllocateResponse(_, relayed) => {
                    if let Ok(mut relay) = client.relay(relayed) {
                        let _ = relay.close(Instant::now());
                    }
                    while let Some(out) = client.poll_write() {
                        let _ = socket.send(&out.message).await;
                    }
                    return Ok(Allocated {
                        server: resolved,
                        relayed,
                    });
                }
                Event::AllocateError(_, e) => return Err(refusal(server, e.to_string())),
                Event::TransactionTimeout(_) if !answered => return Err(unreachable()),
                Event::TransactionTimeout(_) => {
                    return Err(TurnCheckError::Failed {
                        server: server.to_string(),
                        reason: "it stopped answering halfway".into(),
                    })
                }
                _ => {}
            }
        }
        let next = client
            .poll_timeout()
            .map(tokio::time::Instant::from_std)
            .unwrap_or(deadline)
            .min(deadline);
        tokio::select! {
            received = socket.recv(&mut buf) => {
                let Ok(n) = received else { continue };
                answered = true;
                let message = TransportMessage {
                    now: Instant::now(),
                    transport: TransportContext {
                        local_addr,
                        peer_addr: resolved,
                        transport_protocol: TransportProtocol::UDP,
                        ecn: None,
                    },
                    message: BytesMut::from(&buf[..n]),
                };
                if let Err(e) = client.handle_read(message) {
                    tracing::debug!(error = %e, "unreadable answer from the TURN server");
                }
            }
            _ = tokio::time::sleep_until(next) => {
                if tokio::time::Instant::now() >= deadline {
                    return Err(if answered {
                        TurnCheckError::Failed {
                            server: server.to_string(),
                            reason: format!("no allocation within {wait:?}"),
                        }
                    } else {
                        unreachable()
                    });
                }
                let _ = client.handle_timeout(Instant::now());
            }
        }
    }
}

/// Sorts an allocate error into a refusal of the credentials or another failure.
fn refusal(server: &str, reason: String) -> TurnCheckError {
    let server = server.to_string();
    if reason.contains("401") || reason.contains("441") || reason.contains("Unauthori") {
        TurnCheckError::Refused { server, reason }
    } else {
        TurnCheckError::Failed { server, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_urls_become_udp_servers_or_a_reason() {
        assert_eq!(
            udp_server_of("turn:example.org").unwrap(),
            "example.org:3478"
        );
        assert_eq!(
            udp_server_of("turn:127.0.0.1:3479?transport=udp").unwrap(),
            "127.0.0.1:3479"
        );
        assert_eq!(udp_server_of("turn:[::1]:3478").unwrap(), "[::1]:3478");
        assert_eq!(udp_server_of("turn:[::1]").unwrap(), "[::1]:3478");
        let tcp = udp_server_of("turn:example.org:3478?transport=tcp").unwrap_err();
        assert!(tcp.to_string().contains("transport=tcp"), "{tcp}");
        assert!(udp_server_of("turns:example.org:5349").is_err());
        assert!(udp_server_of("stun:example.org").is_err());
    }

    #[test]
    fn a_401_is_a_refusal_of_the_credentials() {
        let e = refusal(
            "t:3478",
            "Allocate error response (error 401: Unauthorized)".into(),
        );
        assert!(matches!(e, TurnCheckError::Refused { .. }));
        assert!(e.to_string().contains("static-auth-secret"), "{e}");
        let e = refusal("t:3478", "error 508: Insufficient Capacity".into());
        assert!(matches!(e, TurnCheckError::Failed { .. }));
    }

    #[tokio::test]
    async fn a_silent_server_is_unreachable_within_the_wait() {
        // A bound UDP socket that never answers.
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let server = silent.local_addr().unwrap().to_string();
        let e = allocate(&server, "1:x", "p", Duration::from_millis(700))
            .await
            .unwrap_err();
        assert!(matches!(e, TurnCheckError::Unreachable { .. }), "{e:?}");
        assert!(e.to_string().contains("UDP port"), "{e}");
    }
}
