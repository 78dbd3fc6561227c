//! The write queue of one relay connection, bounded twice: by frames and by
//! bytes. Whatever a client that does not read can make the relay hold is
//! at most one queue's worth, and only until its write timeout drops it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PushError {
    /// The queue holds its limit of frames or bytes: the client is not keeping up.
    Full,
    /// The connection is gone.
    Closed,
}

/// The sending half, kept by the relay for each connection.
pub(super) struct Outbox {
    tx: mpsc::Sender<String>,
    queued: Arc<AtomicUsize>,
    max_bytes: usize,
}

/// The receiving half, owned by the connection's task.
pub(super) struct OutboxReceiver {
    rx: mpsc::Receiver<String>,
    queued: Arc<AtomicUsize>,
}

/// A queue holding at most `max_frames` frames and `max_bytes` bytes of text.
pub(super) fn outbox(max_frames: usize, max_bytes: usize) -> (Outbox, OutboxReceiver) {
    let (tx, rx) = mpsc::channel(max_frames);
    let queued = Arc::new(AtomicUsize::new(0));
    let sender = Outbox {
        tx,
        queued: queued.clone(),
        max_bytes,
    };
    (sender, OutboxReceiver { rx, queued })
}

impl Outbox {
    /// Queues `text` without waiting.
    pub(super) fn push(&self, text: String) -> Result<(), PushError> {
        let len = text.len();
        let before = self.queued.fetch_add(len, Ordering::AcqRel);
        if before.saturating_add(len) > self.max_bytes {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            return Err(PushError::Full);
        }
        self.tx.try_send(text).map_err(|e| {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            match e {
                mpsc::error::TrySendError::Full(_) => PushError::Full,
                mpsc::error::TrySendError::Closed(_) => PushError::Closed,
            }
        })
    }
}

impl OutboxReceiver {
    /// The next frame to write; `None` once the relay dropped the sending half
    /// and everything queued before was taken.
    pub(super) async fn recv(&mut self) -> Option<String> {
        let text = self.rx.recv().await?;
        self.queued.fetch_sub(text.len(), Ordering::AcqRel);
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_by_frames_and_by_bytes() {
        let (tx, mut rx) = outbox(3, 10);
        assert_eq!(tx.push("aaaa".into()), Ok(()));
        assert_eq!(tx.push("bbbb".into()), Ok(()));
        assert_eq!(tx.push("ccc".into()), Err(PushError::Full), "11 bytes > 10");
        assert_eq!(tx.push("cc".into()), Ok(()));
        assert_eq!(tx.push("".into()), Err(PushError::Full), "3 frames");
        assert_eq!(rx.recv().await.as_deref(), Some("aaaa"));
        assert_eq!(tx.push("dddd".into()), Ok(()), "room again once taken");
        drop(tx);
        for want in ["bbbb", "cc", "dddd"] {
            assert_eq!(rx.recv().await.as_deref(), Some(want));
        }
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn closed_when_the_receiver_is_gone() {
        let (tx, rx) = outbox(3, 10);
        drop(rx);
        assert_eq!(tx.push("x".into()), Err(PushError::Closed));
    }
}
