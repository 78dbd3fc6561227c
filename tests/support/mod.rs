//! The one support module of the integration tests and the benchmarks; every
//! test says `mod support;`, the Chromium benchmark includes it with `#[path]`,
//! and the `hearth-bench` binary includes [`setup`] alone with `#[path]` (a
//! `[[bin]]` cannot use dev-dependencies). Not a test target itself.
//!
//! - [`setup`]: what the tests and `hearth-bench` both set up: a device config
//!   without an embedded relay, nodes, approved contacts, WHEP token contacts.
//! - [`harness`]: a relay on loopback, simulated devices and viewer nodes,
//!   befriending, waiting, logs; with [`screen`] (the simulated screen),
//!   [`photo`] (real JPEGs), [`http`] (a tiny HTTP client) and
//!   [`evil_relay`] (a relay that tampers).
//! - [`cli`]: the `hearth` binary run as the owner runs it, one command at a
//!   time.
//! - [`peer`]: two bare WebRTC peers negotiating directly.
//! - [`raw_relay`]: a relay client speaking the wire protocol by hand.
//! - [`cluster`]: a relay cluster: `nats-server` processes joined by
//!   routes and `hearth relay --nats` nodes a test can `kill -9`.
//! - [`coturn`]: coturn on loopback; [`turn_server`]: coturn inside a
//!   [`topology`], a small internet of network namespaces with NATs.
//! - [`netns`]: two namespaces joined by a veth pair; [`moving_host`]: a
//!   host whose address changes under a running test; [`impaired_link`]: a
//!   router that loses and delays packets (a TUN), with counts of what passed;
//!   [`whep_player`]: our own WHEP player on its far side; [`whep_page`]: a
//!   WHEP player in a Chromium page.
//! - [`noting_camera`]: the test pattern, noting when it took each numbered
//!   frame; [`picture_readback`]: which frame number a picture the device
//!   showed (its simulated output's PNG) carries.
//! - [`chromium`] (headless Chromium over the DevTools protocol),
//!   [`viewer`] (the viewer page in it), [`watch_cli`] (`hearth watch` as a
//!   family member runs it) and [`aiortc`] (aiortc in a venv).

#![allow(dead_code)]

pub mod aiortc;
pub mod chromium;
pub mod cli;
pub mod cluster;
pub mod coturn;
pub mod evil_relay;
pub mod harness;
pub mod http;
pub mod impaired_link;
pub mod moving_host;
pub mod netns;
pub mod noting_camera;
pub mod peer;
pub mod photo;
pub mod picture_readback;
pub mod raw_relay;
pub mod screen;
pub mod setup;
pub mod topology;
pub mod turn_server;
pub mod viewer;
pub mod watch_cli;
pub mod whep_page;
pub mod whep_player;
