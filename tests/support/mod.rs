//! Support for the browser and network tests: a Chrome DevTools Protocol
//! client that drives Debian's headless Chromium, helpers for the viewer
//! page, the `hearth` binary run as a family member and an owner would,
//! aiortc in a venv, and a small internet of network namespaces with NATs
//! ([`topology`]) and coturn ([`turn_server`]). Not a test target itself.

#![allow(dead_code)]

pub mod aiortc;
pub mod chromium;
pub mod moving_host;
pub mod topology;
pub mod turn_server;
pub mod viewer;
pub mod watch_cli;
