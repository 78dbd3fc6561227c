//! Blocking work inside the device's async tasks — reading the inbox to
//! decide on a share offer, an SPI transfer to the screen — done without
//! holding up the other tasks: on a multi-threaded runtime the worker hands
//! its other tasks over first ([`tokio::task::block_in_place`]); elsewhere (a
//! single-threaded test runtime) it simply runs. The share session's inbox
//! writes go the same way (`share_link.rs`).

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `work`, which blocks, off the async workers' way.
pub(crate) fn off_the_workers<R>(work: impl FnOnce() -> R) -> R {
    match Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}
