//! Our own WHEP player (a [`HearthPeer`] viewer) in the player's namespace
//! of an [`ImpairedLink`], watching the device there and decoding what
//! arrives.

use super::http::post_whep;
use super::impaired_link::{ImpairedLink, DEVICE_IP, PLAYER_IP};
use super::topology::Host;
use hearth::media::H264Decoder;
use hearth::peer::{HearthPeer, PeerOptions};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// What the player saw.
pub struct Watched {
    /// When the device's answer was applied.
    pub answered: Instant,
    /// When the first frame arrived; `None` if none came within 30 s.
    pub first_frame: Option<Instant>,
    /// When each frame after the first was decoded.
    pub decoded: Vec<Instant>,
}

/// Watches the device at `port` with `token` for `span` after the first
/// frame, from the player's namespace; `at_second(n)` runs after each whole
/// second `n` of it.
pub fn watch_for(
    link: &ImpairedLink,
    port: u16,
    token: &str,
    span: Duration,
    at_second: impl FnMut(u64) + Send,
) -> Watched {
    watch_from(&link.player, PLAYER_IP, port, token, span, at_second)
}

/// [`watch_for`] from `host`'s namespace, bound to `ip` (the router's
/// 10.79.1.1 watches without the impairer in the way).
pub fn watch_from(
    host: &Host,
    ip: Ipv4Addr,
    port: u16,
    token: &str,
    span: Duration,
    mut at_second: impl FnMut(u64) + Send,
) -> Watched {
    ImpairedLink::run_in(host, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let options = PeerOptions {
                data_channel: false,
                bind_addrs: vec![(ip, 0).into()],
                ..PeerOptions::viewer()
            };
            let (peer, _events) = HearthPeer::new(options).await.unwrap();
            let offer = peer.create_offer().await.unwrap();
            let device = (DEVICE_IP, port).into();
            // The device may still be starting: wait until it listens.
            let deadline = Instant::now() + Duration::from_secs(30);
            while tokio::net::TcpStream::connect(device).await.is_err() {
                assert!(Instant::now() < deadline, "the device never listened");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let created = post_whep(device, token, &offer).await;
            assert_eq!(created.status, 201, "{}", created.body);
            peer.accept_answer(&created.body).await.unwrap();
            let answered = Instant::now();
            let mut frames = peer.take_remote_video().unwrap();
            let mut decoder = H264Decoder::new().unwrap();
            let mut decoded = vec![];
            let first = match tokio::time::timeout(Duration::from_secs(30), frames.recv()).await {
                Ok(Some(first)) => first,
                _ => {
                    let _ = peer.close().await;
                    return Watched {
                        answered,
                        first_frame: None,
                        decoded,
                    };
                }
            };
            let first_frame = Some(Instant::now());
            let _ = decoder.decode(&first.data);
            let start = Instant::now();
            let end = start + span;
            let mut second = 0;
            while Instant::now() < end {
                let elapsed = start.elapsed().as_secs();
                if elapsed > second {
                    second = elapsed;
                    at_second(second);
                }
                let next = tokio::time::timeout(Duration::from_millis(200), frames.recv());
                let frame = match next.await {
                    Ok(Some(frame)) => frame,
                    Ok(None) => break,
                    Err(_) => continue, // frozen: the clock goes on
                };
                if let Ok(Some(_)) = decoder.decode(&frame.data) {
                    decoded.push(Instant::now());
                }
            }
            let _ = peer.close().await;
            Watched {
                answered,
                first_frame,
                decoded,
            }
        })
    })
}
