//! When a failed delivery is tried again (docs/webhooks.md, "Retries"): exponential backoff
//! from 10 seconds, doubling up to 2 hours between attempts, each wait jittered to between half
//! and all of it (so receivers coming back from an outage are not hit by every node at the same
//! second), for the webhook's `retry_for` (a day by default); one last attempt at the end of
//! that window, then the delivery is dead. Pure: the caller gives the time and the jitter.

use keygate_core::model::UnixTime;

/// The first wait, in seconds.
const BASE: i64 = 10;
/// The longest wait between two attempts, in seconds.
const CAP: i64 = 2 * 3600;

/// The wait after the `failures`th failed attempt (1 for the first), before jitter:
/// `BASE · 2^(failures−1)`, at most [`CAP`].
pub fn full_wait(failures: u32) -> i64 {
    let doublings = failures.saturating_sub(1).min(20);
    (BASE << doublings).min(CAP)
}

/// The wait, jittered: between half of [`full_wait`] and all of it, `jitter` in `[0, 1)`
/// picking where.
pub fn wait(failures: u32, jitter: f64) -> i64 {
    let full = full_wait(failures);
    let half = full / 2;
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let extra = ((full - half) as f64 * jitter.clamp(0.0, 1.0)) as i64;
    half + extra
}

/// After a failed attempt at `now`, the `failures`th for a delivery whose retry window began at
/// `since` and lasts `retry_for` seconds: when to try next, or `None` when the window is over
/// (the delivery is dead). The last attempt is at the window's end.
pub fn next_attempt(
    now: UnixTime,
    failures: u32,
    since: UnixTime,
    retry_for: i64,
    jitter: f64,
) -> Option<UnixTime> {
    let deadline = since.saturating_add(retry_for);
    (now < deadline).then(|| now.saturating_add(wait(failures, jitter)).min(deadline))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_ten_seconds_to_two_hours() {
        let waits: Vec<i64> = (1..=12).map(full_wait).collect();
        assert_eq!(
            waits,
            [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 7200, 7200]
        );
        assert_eq!(full_wait(u32::MAX), CAP);
        assert_eq!(full_wait(0), BASE);
    }

    #[test]
    fn jitter_keeps_a_wait_between_half_and_all() {
        assert_eq!(wait(3, 0.0), 20);
        assert_eq!(wait(3, 0.5), 30);
        assert_eq!(wait(3, 0.999_999), 39);
        assert_eq!(wait(3, 7.0), 40); // out of range: clamped
        assert_eq!(wait(3, -1.0), 20);
    }

    #[test]
    fn a_day_of_retries_then_dead() {
        let day = 86_400;
        let start = 1_000_000;
        // Without jitter (the longest waits): count the attempts a day allows.
        let (mut now, mut failures) = (start, 1);
        while let Some(next) = next_attempt(now, failures, start, day, 1.0) {
            assert!(next > now && next <= start + day);
            now = next;
            failures += 1;
        }
        assert_eq!(now, start + day, "the last attempt is at the window's end");
        // `failures` is now the attempt that found the window over: 22 attempts in the day.
        assert_eq!(failures, 22);
        // The shortest waits allow more attempts, still within the day.
        let (mut now, mut short) = (start, 1);
        while let Some(next) = next_attempt(now, short, start, day, 0.0) {
            now = next;
            short += 1;
        }
        assert!(short > failures && now == start + day);
        // A window that is over: dead at once.
        assert_eq!(next_attempt(start + day, 1, start, day, 0.5), None);
        // A short window: one retry at its end.
        assert_eq!(next_attempt(start, 1, start, 3, 0.5), Some(start + 3));
    }
}
