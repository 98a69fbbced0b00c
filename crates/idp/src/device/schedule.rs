//! When to poll (RFC 8628 §3.5): every `interval`, five seconds more for good after each
//! `slow_down`, and never once the device code has expired. Sans IO: times are offsets from
//! the start of the sign-in, so the loop in `device` decides how to wait (tokio time, which
//! tests can pause).

use std::time::Duration;

/// RFC 8628 §3.5: on `slow_down` "the interval MUST be increased by 5 seconds for this and
/// all subsequent requests".
pub(crate) const SLOW_DOWN_SECS: u32 = 5;

/// The polling plan of one device sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Schedule {
    /// The current wait between polls.
    interval: Duration,
    /// What one `slow_down` adds to `interval`.
    slow_down: Duration,
    /// When the device code expires, from the start.
    expires: Duration,
    /// When the next poll is due, from the start.
    next: Duration,
}

impl Schedule {
    /// `interval_secs` and the slow-down step are counted in `unit` (one second except in
    /// tests); `expires` is the device code's real lifetime.
    pub(crate) fn new(interval_secs: u64, unit: Duration, expires: Duration) -> Schedule {
        let interval = unit.saturating_mul(u32::try_from(interval_secs).unwrap_or(u32::MAX));
        let slow_down = unit.saturating_mul(SLOW_DOWN_SECS);
        // §3.5: the client waits `interval` before its first poll too.
        Schedule { interval, slow_down, expires, next: interval }
    }

    /// When the next poll is due, or `None` when it would come after the device code expired.
    pub(crate) fn due(&self) -> Option<Duration> {
        (self.next < self.expires).then_some(self.next)
    }

    /// The poll answered at `at` said to keep waiting (`slow_down`: and to wait longer).
    pub(crate) fn answered(&mut self, at: Duration, slow_down: bool) {
        if slow_down {
            self.interval = self.interval.saturating_add(self.slow_down);
        }
        self.next = at.saturating_add(self.interval);
    }

    /// The device code's lifetime, for the timeout message.
    pub(crate) fn lifetime(&self) -> Duration {
        self.expires
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn polls_come_an_interval_apart_after_each_answer() {
        let mut plan = Schedule::new(5, S, Duration::from_secs(600));
        assert_eq!(plan.due(), Some(Duration::from_secs(5)), "the first poll waits too");
        // A slow answer pushes the next poll: the gap is counted from the answer.
        plan.answered(Duration::from_secs(7), false);
        assert_eq!(plan.due(), Some(Duration::from_secs(12)));
    }

    #[test]
    fn slow_down_adds_five_seconds_for_good() {
        let mut plan = Schedule::new(5, S, Duration::from_secs(600));
        plan.answered(Duration::from_secs(5), true);
        assert_eq!(plan.due(), Some(Duration::from_secs(15)));
        plan.answered(Duration::from_secs(15), false);
        assert_eq!(plan.due(), Some(Duration::from_secs(25)), "still 10 s apart");
        plan.answered(Duration::from_secs(25), true);
        assert_eq!(plan.due(), Some(Duration::from_secs(40)));
    }

    #[test]
    fn no_poll_after_the_code_expired() {
        let mut plan = Schedule::new(5, S, Duration::from_secs(12));
        assert_eq!(plan.due(), Some(Duration::from_secs(5)));
        plan.answered(Duration::from_secs(5), false);
        assert_eq!(plan.due(), Some(Duration::from_secs(10)));
        plan.answered(Duration::from_secs(10), false);
        assert_eq!(plan.due(), None);
        assert_eq!(plan.lifetime(), Duration::from_secs(12));
    }

    #[test]
    fn a_smaller_unit_scales_interval_and_slow_down_alike() {
        let unit = Duration::from_millis(10);
        let mut plan = Schedule::new(5, unit, Duration::from_secs(600));
        assert_eq!(plan.due(), Some(Duration::from_millis(50)));
        plan.answered(Duration::from_millis(50), true);
        assert_eq!(plan.due(), Some(Duration::from_millis(150)));
    }
}
