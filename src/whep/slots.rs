//! The WHEP player cap as places that are taken, not counted after the fact:
//! a POST takes its place atomically before any work, so concurrent POSTs
//! can never pass [`super::MAX_SESSIONS`], and the place is given back
//! whenever its [`Slot`] is dropped — refusal, DELETE, or the session's end
//! (including a player that never connects within [`super::CONNECT_WITHIN`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A fixed number of places, shared by every clone.
#[derive(Clone, Debug)]
pub(super) struct Slots {
    used: Arc<AtomicUsize>,
    max: usize,
}

/// One taken place; dropping it gives the place back.
#[derive(Debug)]
pub(super) struct Slot {
    used: Arc<AtomicUsize>,
}

impl Slots {
    /// `max` free places.
    pub(super) fn new(max: usize) -> Self {
        Slots {
            used: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// Takes a place, or `None` when all are taken.
    pub(super) fn try_take(&self) -> Option<Slot> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot {
                used: self.used.clone(),
            })
    }

    /// Places taken now.
    pub(super) fn in_use(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.used.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_max_even_from_many_threads() {
        let slots = Slots::new(16);
        let taken: Vec<Vec<Slot>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..8)
                .map(|_| {
                    let slots = slots.clone();
                    scope.spawn(move || (0..10).filter_map(|_| slots.try_take()).collect())
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        assert_eq!(taken.iter().map(Vec::len).sum::<usize>(), 16);
        assert_eq!(slots.in_use(), 16);
        assert!(slots.try_take().is_none());
        drop(taken);
        assert_eq!(slots.in_use(), 0);
        assert!(slots.try_take().is_some());
    }
}
