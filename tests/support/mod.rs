//! Support for the browser tests: a Chrome DevTools Protocol client that
//! drives Debian's headless Chromium. Not a test target itself.

#![allow(dead_code)]

pub mod chromium;
