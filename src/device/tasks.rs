//! The device's long-lived tasks, kept so that stopping the device waits for
//! them: each one watches the stop signal and ends by itself; one that has
//! not ended within the time allowed is aborted and named in the log.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Tasks started by the device, joined on stop.
#[derive(Default)]
pub(super) struct Tasks {
    running: Mutex<Vec<(&'static str, JoinHandle<()>)>>,
}

impl Tasks {
    /// Starts `task`, named `name` in logs.
    pub(super) fn spawn(
        &self,
        name: &'static str,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        self.keep(name, tokio::spawn(task));
    }

    /// Keeps a task started elsewhere.
    pub(super) fn keep(&self, name: &'static str, handle: JoinHandle<()>) {
        self.lock().push((name, handle));
    }

    /// Waits for every task to end, at most `within` in all; aborts the rest.
    /// Returns the names of the tasks that had to be aborted.
    pub(super) async fn join_all(&self, within: Duration) -> Vec<&'static str> {
        let running = std::mem::take(&mut *self.lock());
        let deadline = tokio::time::Instant::now() + within;
        let mut aborted = vec![];
        for (name, mut handle) in running {
            match tokio::time::timeout_at(deadline, &mut handle).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) if e.is_panic() => {
                    tracing::error!(task = name, "a device task had panicked");
                }
                Ok(Err(_)) => {}
                Err(_) => {
                    handle.abort();
                    tracing::warn!(task = name, "a device task did not stop in time; aborted");
                    aborted.push(name);
                }
            }
        }
        aborted
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(&'static str, JoinHandle<()>)>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::watch;

    #[tokio::test]
    async fn stop_waits_for_tasks_and_aborts_one_that_hangs() {
        let tasks = Tasks::default();
        let (stop, stopped) = watch::channel(false);
        let (done_tx, mut done) = tokio::sync::mpsc::unbounded_channel();
        for _ in 0..3 {
            let mut stopped = stopped.clone();
            let done_tx = done_tx.clone();
            tasks.spawn("polite", async move {
                let _ = stopped.wait_for(|s| *s).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                let _ = done_tx.send(());
            });
        }
        tasks.spawn("stuck", std::future::pending());
        stop.send_replace(true);
        let aborted = tasks.join_all(Duration::from_millis(500)).await;
        assert_eq!(aborted, vec!["stuck"]);
        for _ in 0..3 {
            assert!(
                done.try_recv().is_ok(),
                "every polite task finished before join_all returned"
            );
        }
    }
}
