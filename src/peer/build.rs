//! Building the underlying `webrtc` connection from [`PeerOptions`], with one
//! fallback: when the mDNS socket cannot be opened — a host with no multicast
//! route, e.g. a LAN without a default gateway or a test's network namespace —
//! the connection is built again without mDNS instead of failing. It then
//! cannot resolve `.local` candidates (browsers that hide their addresses), but
//! connects to everything else.

use crate::peer::codecs::media_engine_and_registry;
use crate::peer::data_channel::SEND_BUFFER_LIMIT;
use crate::peer::error::{PeerError, PeerResult};
use crate::peer::handler::PeerHandler;
use crate::peer::options::PeerOptions;
use crate::peer::shared::Shared;
use rtc::ice::mdns::MulticastDnsMode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, RTCConfigurationBuilder, RTCIceServer,
    RTCIceTransportPolicy, SettingEngineBuilder,
};
use webrtc::runtime::Runtime;

/// ICE consent: a check on the selected path every second; no answer for 3 s
/// is `Disconnected`, which is when a Hearth session starts restarting ICE
/// (the defaults, 2 s and 5 s, cost two more seconds of every outage).
const ICE_KEEPALIVE: Duration = Duration::from_secs(1);
/// See [`ICE_KEEPALIVE`].
const ICE_DISCONNECTED_AFTER: Duration = Duration::from_secs(3);
/// `Failed` this long after `Disconnected` (or after checks began).
const ICE_FAILED_AFTER: Duration = Duration::from_secs(10);

/// Whether the "no mDNS" warning was logged already (once per process).
static WARNED_NO_MDNS: AtomicBool = AtomicBool::new(false);

/// Builds the connection; see the module documentation for the mDNS fallback.
pub(crate) async fn build_connection(
    opts: &PeerOptions,
    shared: &Arc<Shared>,
    runtime: Arc<dyn Runtime>,
) -> PeerResult<Arc<dyn PeerConnection>> {
    let first = build_with(opts, shared, runtime.clone(), MulticastDnsMode::QueryOnly).await;
    let Err(error) = first else { return first };
    match build_with(opts, shared, runtime, MulticastDnsMode::Disabled).await {
        Ok(pc) => {
            if !WARNED_NO_MDNS.swap(true, Ordering::Relaxed) {
                tracing::warn!(%error, "mDNS is unavailable here (no multicast route?); connecting without it, so browsers' .local candidates are not resolved");
            }
            Ok(pc)
        }
        Err(_) => Err(error),
    }
}

async fn build_with(
    opts: &PeerOptions,
    shared: &Arc<Shared>,
    runtime: Arc<dyn Runtime>,
    mdns: MulticastDnsMode,
) -> PeerResult<Arc<dyn PeerConnection>> {
    let (media_engine, registry) =
        media_engine_and_registry(shared.send_estimate.clone(), opts.send_ceiling_bps)?;
    let config = RTCConfigurationBuilder::new()
        .with_ice_servers(
            opts.ice_servers
                .iter()
                .map(|s| RTCIceServer {
                    urls: s.urls.clone(),
                    username: s.username.clone(),
                    credential: s.credential.clone(),
                })
                .collect(),
        )
        .with_ice_transport_policy(if opts.relay_only {
            RTCIceTransportPolicy::Relay
        } else {
            RTCIceTransportPolicy::All
        })
        .build();
    // An ICE restart drops the local candidates and binds the sockets again,
    // so a restart after an address change gathers on the new addresses.
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(mdns)
        .with_ice_timeouts(
            Some(ICE_DISCONNECTED_AFTER),
            Some(ICE_FAILED_AFTER),
            Some(ICE_KEEPALIVE),
        )
        .with_discard_local_candidates_during_ice_restart(true)
        .build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(config)
        .with_setting_engine(settings)
        .with_media_engine(media_engine)
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(PeerHandler {
            shared: shared.clone(),
        }))
        .with_runtime(runtime)
        .with_udp_addrs(opts.bind_addrs.clone())
        .with_data_channel_send_buffer_limit(SEND_BUFFER_LIMIT)
        .build()
        .await
        .map_err(PeerError::webrtc("building the peer connection"))?;
    Ok(Arc::new(pc))
}
