//! Waiting with a deadline for a condition the harness can only look at (a window's text, a
//! file, a bus name): look, and look again every [`POLL`] until it holds or the deadline passes.
//! Waits that have an event to wait on (a process exit, a captured notification) use it instead:
//! see `processes.rs` and `notifications.rs`.

use std::time::{Duration, Instant};

/// How often a condition is looked at again.
pub const POLL: Duration = Duration::from_millis(100);

/// Looks at `probe` until it returns `Some` (then returns it) or `timeout` passes (then `None`).
pub fn poll_until<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        std::thread::sleep(POLL.min(left));
    }
}

/// Looks at `probe` until it returns `Some`, or panics after `timeout` with `what` and whatever
/// `seen` reports then.
#[track_caller]
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    probe: impl FnMut() -> Option<T>,
    seen: impl Fn() -> String,
) -> T {
    poll_until(timeout, probe).unwrap_or_else(|| panic!("waited {timeout:?} for {what}; saw:\n{}", seen()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_returns_what_the_probe_found_or_gives_up_at_the_deadline() {
        let mut looks = 0;
        let found = poll_until(Duration::from_secs(5), || {
            looks += 1;
            (looks == 3).then_some("third")
        });
        assert_eq!(found, Some("third"));

        let started = Instant::now();
        assert_eq!(poll_until(Duration::from_millis(250), || None::<()>), None);
        assert!(started.elapsed() >= Duration::from_millis(250));
    }
}
