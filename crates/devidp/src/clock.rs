//! The IdP clock: system time shifted by `--clock-offset`, so tests can play a skewed IdP.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time as the IdP believes it to be.
///
/// Everything a client can observe uses this clock: the `Date` header, `iat`/`nbf`/`exp`,
/// and the expiry of refresh tokens and pending ceremonies. Bookkeeping that only the IdP
/// reads (when a signing key was retired) uses real time, see [`real_unix_now`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct IdpClock {
    offset_secs: i64,
}

impl IdpClock {
    /// A clock `offset_secs` ahead of (or, when negative, behind) the system clock.
    pub(crate) fn new(offset_secs: i64) -> Self {
        Self { offset_secs }
    }

    /// The IdP's current time.
    pub(crate) fn now(&self) -> SystemTime {
        let shift = Duration::from_secs(self.offset_secs.unsigned_abs());
        let now = SystemTime::now();
        let shifted = if self.offset_secs >= 0 { now.checked_add(shift) } else { now.checked_sub(shift) };
        // An offset of centuries is a typo; fall back to the real time rather than panic.
        shifted.unwrap_or(now)
    }

    /// The IdP's current time in seconds since the Unix epoch.
    pub(crate) fn unix_now(&self) -> i64 {
        unix_seconds(self.now())
    }
}

/// The real (unshifted) time in seconds since the Unix epoch.
pub(crate) fn real_unix_now() -> i64 {
    unix_seconds(SystemTime::now())
}

fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_shifts_both_ways() {
        let real = real_unix_now();
        let ahead = IdpClock::new(3600).unix_now();
        let behind = IdpClock::new(-3600).unix_now();
        assert!((ahead - real - 3600).abs() <= 1);
        assert!((real - behind - 3600).abs() <= 1);
    }
}
