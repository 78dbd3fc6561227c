//! The thread a pipeline runs on: started with a name, closing every feed
//! when it ends (even by panic), stopped and joined when dropped. Shared by
//! the video and audio pipelines, which differ only in what the thread does.

use std::sync::Arc;
use std::thread::JoinHandle;

use tracing::{error, info};

use super::hub::Hub;
use super::MediaPacket;
use crate::media::MediaError;

/// A running pipeline thread, joined on drop.
pub(super) struct PipelineThread<T: MediaPacket> {
    hub: Arc<Hub<T>>,
    thread: Option<JoinHandle<()>>,
    kind: &'static str,
}

impl<T: MediaPacket> PipelineThread<T> {
    /// Runs `body` with the hub on a thread named `hearth-KIND`.
    pub(super) fn spawn(
        kind: &'static str,
        hub: &Arc<Hub<T>>,
        body: impl FnOnce(Arc<Hub<T>>) + Send + 'static,
    ) -> Result<Self, MediaError> {
        let thread_hub = Arc::clone(hub);
        let thread = std::thread::Builder::new()
            .name(format!("hearth-{kind}"))
            .spawn(move || {
                let _close = CloseOnExit(Arc::clone(&thread_hub));
                body(thread_hub)
            })
            .map_err(|e| MediaError::Thread(e.to_string()))?;
        Ok(PipelineThread {
            hub: Arc::clone(hub),
            thread: Some(thread),
            kind,
        })
    }
}

impl<T: MediaPacket> Drop for PipelineThread<T> {
    fn drop(&mut self) {
        self.hub.stop();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                error!(kind = self.kind, "a media pipeline thread panicked");
            }
        }
        info!(kind = self.kind, "media pipeline stopped");
    }
}

/// Closes the feeds when the thread ends, even by panic.
struct CloseOnExit<T: MediaPacket>(Arc<Hub<T>>);

impl<T: MediaPacket> Drop for CloseOnExit<T> {
    fn drop(&mut self) {
        self.0.close();
    }
}
