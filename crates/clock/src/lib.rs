//! Time as Tapgate's libraries see it.
//!
//! No library crate reads the system clock itself: each is handed a [`Clock`] by the program
//! that uses it. Programs pass [`SystemClock`]; tests pass a [`ManualClock`] and move it
//! forward, so a token "expires" the instant a test says so instead of after a real wait.
//!
//! # Layout
//! Everything is here: the trait, the clocks, the Unix-time conversions they share and
//! [`clock_text`], the one countdown format.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, on this clock.
    fn now(&self) -> SystemTime;

    /// Now in whole seconds since the Unix epoch.
    fn unix_seconds(&self) -> i64 {
        unix_seconds(self.now())
    }

    /// Now in milliseconds since the Unix epoch.
    fn unix_millis(&self) -> i64 {
        unix_millis(self.now())
    }
}

/// A clock shared by everything one engine (or one server) runs.
pub type SharedClock = Arc<dyn Clock>;

/// The system's wall clock: the one programs use.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

impl SystemClock {
    /// The system clock, ready to share.
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

/// A clock that stands still until told to move: tests drive expiry with it.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn at(start: SystemTime) -> Arc<ManualClock> {
        Arc::new(ManualClock { now: Mutex::new(start) })
    }

    /// A clock stopped at the current system time (tokens it stamps look real to real servers).
    pub fn starting_now() -> Arc<ManualClock> {
        ManualClock::at(SystemTime::now())
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The system clock shifted by the whole seconds written in a file, read at every call.
///
/// Programs are separate processes, so a test cannot hand them a [`ManualClock`]. Instead the
/// test builds of the programs (cargo feature `test-clock` of `tapgate-cli`, the dev IdP's
/// `--clock-file`) can be pointed at one file: the test writes `90` and the CLI and the IdP see
/// the same instant, 90 s later, at once. A missing, empty or unreadable file means no shift, so
/// a test that never writes it runs on real time.
#[derive(Debug, Clone)]
pub struct ShiftFileClock {
    file: PathBuf,
}

impl ShiftFileClock {
    /// A clock shifted by what `file` holds (now or later).
    pub fn new(file: impl Into<PathBuf>) -> ShiftFileClock {
        ShiftFileClock { file: file.into() }
    }

    /// The shift the file holds now, in seconds (negative: behind).
    pub fn shift_seconds(&self) -> i64 {
        std::fs::read_to_string(&self.file).ok().and_then(|text| text.trim().parse().ok()).unwrap_or(0)
    }

    /// `time` moved by the file's shift.
    pub fn shift(&self, time: SystemTime) -> SystemTime {
        shifted(time, self.shift_seconds())
    }
}

impl Clock for ShiftFileClock {
    fn now(&self) -> SystemTime {
        self.shift(SystemTime::now())
    }
}

/// `time` moved by `seconds` (negative: earlier); unchanged if the result is unrepresentable.
pub fn shifted(time: SystemTime, seconds: i64) -> SystemTime {
    let by = Duration::from_secs(seconds.unsigned_abs());
    let moved = if seconds >= 0 { time.checked_add(by) } else { time.checked_sub(by) };
    moved.unwrap_or(time)
}

/// Seconds since the Unix epoch (negative before 1970), rounded down.
pub fn unix_seconds(time: SystemTime) -> i64 {
    unix_millis(time).div_euclid(1000)
}

/// Milliseconds since the Unix epoch (negative before 1970).
pub fn unix_millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// The system time `seconds` after the Unix epoch.
pub fn from_unix_seconds(seconds: i64) -> SystemTime {
    let magnitude = Duration::from_secs(seconds.unsigned_abs());
    if seconds >= 0 { UNIX_EPOCH + magnitude } else { UNIX_EPOCH - magnitude }
}

/// Time left as a clock: `14:59`, `1:02:03`, or `0:00` once past. The one countdown format of
/// the CLI, the tray and notifications.
pub fn clock_text(seconds: i64) -> String {
    let s = seconds.max(0);
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shift_file_moves_the_clock_when_written_and_not_before() -> std::io::Result<()> {
        let dir = std::env::temp_dir().join(format!("tapgate-clock-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let file = dir.join("shift");
        let clock = ShiftFileClock::new(&file);
        assert_eq!(clock.shift_seconds(), 0, "no file: no shift");
        std::fs::write(&file, "90\n")?;
        assert!((clock.unix_seconds() - SystemClock.unix_seconds() - 90).abs() <= 1);
        std::fs::write(&file, "-30")?;
        assert_eq!(clock.shift_seconds(), -30);
        std::fs::write(&file, "soon")?;
        assert_eq!(clock.shift_seconds(), 0, "unreadable text: no shift");
        std::fs::remove_dir_all(&dir)
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = ManualClock::at(from_unix_seconds(1_000));
        assert_eq!(clock.unix_seconds(), 1_000);
        clock.advance(Duration::from_millis(2_500));
        assert_eq!(clock.unix_seconds(), 1_002);
        assert_eq!(clock.unix_millis(), 1_002_500);
    }

    #[test]
    fn times_before_1970_round_down() {
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_millis(1)), -1);
        assert_eq!(unix_seconds(from_unix_seconds(-5)), -5);
    }
}
