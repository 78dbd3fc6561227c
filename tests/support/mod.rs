//! Support for the browser tests: a Chrome DevTools Protocol client that
//! drives Debian's headless Chromium, helpers for the viewer page, and the
//! `hearth` binary run as a family member and an owner would. Not a
//! test target itself.

#![allow(dead_code)]

pub mod chromium;
pub mod moving_host;
pub mod viewer;
pub mod watch_cli;
