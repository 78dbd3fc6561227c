//! Support for the browser tests: a Chrome DevTools Protocol client that
//! drives Debian's headless Chromium, and helpers for the viewer page. Not a
//! test target itself.

#![allow(dead_code)]

pub mod chromium;
pub mod viewer;
