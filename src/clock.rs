//! The time a device reads for its timing rules: the system's, or — in
//! tests — a manual one that moves only when told, so a rule of minutes is
//! checked in a moment. It reads tokio's clock, which a paused test runtime
//! also controls.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Where "now" comes from. Cloning it gives another handle on the same clock.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// `None`: the system's time; else how far a manual clock is ahead of it.
    ahead: Option<Arc<Mutex<Duration>>>,
}

impl Clock {
    /// The system's time (through tokio's clock).
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that runs with the system's but can be moved ahead with
    /// [`Clock::advance`].
    pub fn manual() -> Clock {
        Clock {
            ahead: Some(Arc::new(Mutex::new(Duration::ZERO))),
        }
    }

    /// Now, by this clock.
    pub fn now(&self) -> Instant {
        let now = Instant::now();
        match &self.ahead {
            Some(ahead) => now + *ahead.lock().expect("clock lock"),
            None => now,
        }
    }

    /// Moves a manual clock ahead by `by`; a system clock cannot be moved
    /// and stays as it is (a warning says so).
    pub fn advance(&self, by: Duration) {
        match &self.ahead {
            Some(ahead) => *ahead.lock().expect("clock lock") += by,
            None => tracing::warn!("the system clock cannot be moved"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_when_told_and_the_system_one_does_not() {
        let system = Clock::system();
        let manual = Clock::manual();
        let before = Instant::now();
        manual.advance(Duration::from_secs(600));
        system.advance(Duration::from_secs(600));
        assert!(manual.now() >= before + Duration::from_secs(600));
        assert!(system.now() < before + Duration::from_secs(600));
        let copy = manual.clone();
        copy.advance(Duration::from_secs(60));
        assert!(
            manual.now() >= before + Duration::from_secs(660),
            "one clock, two handles"
        );
    }
}
