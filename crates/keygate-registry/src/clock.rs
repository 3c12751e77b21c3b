//! The one clock. Every rule that depends on *now* reads it from here, passed in through the
//! application state, so a test sets the time instead of sleeping (docs/architecture.md).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use keygate_core::model::UnixTime;

/// Where *now* comes from: the system's wall clock, or a time a test sets.
#[derive(Clone, Debug, Default)]
pub struct Clock(Source);

#[derive(Clone, Debug, Default)]
enum Source {
    #[default]
    System,
    Manual(Arc<AtomicI64>),
}

/// The hand that moves a manual clock (held by a test; the application holds the `Clock`).
#[derive(Clone, Debug)]
pub struct ManualTime(Arc<AtomicI64>);

impl Clock {
    /// The system's wall clock (UTC seconds).
    pub fn system() -> Clock {
        Clock(Source::System)
    }

    /// A clock that stands at `start` until its hand moves it.
    pub fn manual(start: UnixTime) -> (Clock, ManualTime) {
        let time = Arc::new(AtomicI64::new(start));
        (Clock(Source::Manual(time.clone())), ManualTime(time))
    }

    /// Now, in Unix seconds.
    pub fn now(&self) -> UnixTime {
        match &self.0 {
            Source::System => chrono::Utc::now().timestamp(),
            Source::Manual(time) => time.load(Ordering::SeqCst),
        }
    }
}

impl ManualTime {
    /// Set the time.
    pub fn set(&self, t: UnixTime) {
        self.0.store(t, Ordering::SeqCst);
    }

    /// Move the time forward by `seconds` (backward when negative).
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    /// The time the clock stands at.
    pub fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let (clock, hand) = Clock::manual(1_000);
        assert_eq!(clock.now(), 1_000);
        hand.advance(90);
        assert_eq!(clock.now(), 1_090);
        hand.set(5);
        assert_eq!(clock.clone().now(), 5);
    }

    #[test]
    fn system_clock_is_near_the_wall_clock() {
        let wall = chrono::Utc::now().timestamp();
        assert!((Clock::system().now() - wall).abs() <= 1);
    }
}
