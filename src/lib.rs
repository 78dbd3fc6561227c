//! Hearth: a private, peer-to-peer family camera.
//!
//! Nothing is stored on a server: a device streams and shares only with the
//! contacts its owner approved, over WebRTC, after signalling through a relay
//! that forwards sealed envelopes and stores nothing.
//!
//! Layers, bottom up:
//! - [`keys`], [`identity`], [`contacts`], [`envelope`], [`signal`]: who is who,
//!   who may do what, and the sealed messages they exchange (pure, no I/O).
//! - [`config`]: the device's settings.
//! - [`hardware`]: camera, encoder, audio, buttons, LED and display, real or simulated.
//! - [`web`]: the family viewer page (JavaScript), embedded and served.
//! - [`edge`]: what every exposed HTTP server shares: connection caps and the header timeout.
//! - [`systemd_notify`]: readiness and watchdog pings for the packaged systemd unit.

#![warn(missing_docs)]

pub mod api;
pub mod atomic_file;
pub mod config;
pub mod contacts;
pub mod control;
pub mod data_dir_lock;
pub mod device;
pub mod edge;
pub mod envelope;
pub mod hardware;
mod host_addresses;
pub mod identity;
pub mod keys;
pub mod live_contacts;
pub mod media;
pub mod node;
pub mod peer;
pub mod policy;
pub mod privacy;
pub mod relay;
pub mod share;
pub mod signal;
pub mod systemd_notify;
pub mod web;
pub mod whep;
