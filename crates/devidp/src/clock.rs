//! The IdP clock: system time shifted by `--clock-offset`, so tests can play a skewed IdP, and by
//! the seconds in `--clock-file`, so tests can let time pass without waiting.

use std::time::{SystemTime, UNIX_EPOCH};

use tapgate_clock::{ShiftFileClock, shifted};

/// Time as the IdP believes it to be.
///
/// Everything a client can observe uses this clock: the `Date` header, `iat`/`nbf`/`exp`,
/// and the expiry of refresh tokens and pending ceremonies. Bookkeeping that only the IdP
/// reads (when a signing key was retired) uses real time, see [`real_unix_now`].
#[derive(Debug, Clone, Default)]
pub(crate) struct IdpClock {
    offset_secs: i64,
    /// Shared with the client under test, which reads the same file (see [`ShiftFileClock`]).
    shift_file: Option<ShiftFileClock>,
}

impl IdpClock {
    /// A clock `offset_secs` ahead of (or, when negative, behind) the system clock.
    pub(crate) fn new(offset_secs: i64) -> Self {
        Self { offset_secs, shift_file: None }
    }

    /// The same clock, also shifted by whatever `file` holds at each reading.
    pub(crate) fn with_shift_file(self, file: Option<std::path::PathBuf>) -> Self {
        Self { shift_file: file.map(ShiftFileClock::new), ..self }
    }

    /// The IdP's current time.
    pub(crate) fn now(&self) -> SystemTime {
        let extra = self.shift_file.as_ref().map_or(0, ShiftFileClock::shift_seconds);
        // An offset of centuries is a typo; `shifted` falls back to the real time rather than panic.
        shifted(SystemTime::now(), self.offset_secs.saturating_add(extra))
    }

    /// The IdP's current time in seconds since the Unix epoch.
    pub(crate) fn unix_now(&self) -> i64 {
        unix_seconds(self.now())
    }

    /// The IdP's current time in milliseconds since the Unix epoch (for rules finer than a
    /// second, such as the device flow's poll interval).
    pub(crate) fn unix_millis(&self) -> i64 {
        match self.now().duration_since(UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
        }
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

    #[test]
    fn a_clock_file_adds_to_the_offset() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("shift");
        let clock = IdpClock::new(60).with_shift_file(Some(file.clone()));
        std::fs::write(&file, "30")?;
        assert!((clock.unix_now() - real_unix_now() - 90).abs() <= 1);
        Ok(())
    }
}
