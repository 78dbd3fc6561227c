//! Hearth: a private, peer-to-peer family camera.
//!
//! Nothing is stored on a server: a device streams and shares only with the
//! contacts its owner approved, over WebRTC, after signalling through a relay
//! that forwards sealed envelopes and stores nothing.
//!
//! Layers, bottom up (each may use the ones above it in this list, never one
//! below; `ARCHITECTURE.md` says what each owns):
//! - [`keys`], [`identity`], [`contacts`], [`envelope`], [`signal`]: who is who
//!   and the sealed messages they exchange (pure, no I/O but their files);
//!   [`live_contacts`]: the contact book as a running node shares it.
//! - [`peer`]: one WebRTC connection (a thin wrapper around the `webrtc` crate).
//! - [`config`]: every setting, read once (hardware sections in [`config::hardware`]);
//!   the one exception to the order: it composes the `[share]` and relay sections
//!   that [`share`] and [`relay`] define. Nothing else reads the whole config.
//! - [`policy`]: who may do what — every permission rule, pure functions.
//! - [`privacy`]: the owner's privacy switch, its one owner.
//! - [`media`], [`hardware`]: where pictures and sound come from and how they are
//!   compressed; each hardware part real or simulated behind a small trait.
//! - [`edge`]: what every exposed HTTP server shares: connection caps and the header timeout.
//! - [`relay`]: the relay server (a sans-IO hub) and the client that reaches it.
//! - [`node`]: this peer on the signalling network: opens envelopes, routes them.
//! - [`api`]: the original network's API — streams and `PeerConnection`s with
//!   approved contacts, their sessions and recovery.
//! - [`share`], [`whep`]: snapshots, photos and thoughts pushed to contacts;
//!   standard players over WHEP.
//! - [`web`]: the family viewer page (JavaScript), embedded and served.
//! - [`device`]: the device itself, built from all of the above (its local
//!   control socket in [`device::socket`]).
//! - [`systemd_notify`], [`atomic_file`], [`data_dir_lock`], [`clock`]: small
//!   services to the rest.

#![warn(missing_docs)]

pub mod api;
pub mod atomic_file;
pub mod clock;
pub mod config;
pub mod contacts;
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
