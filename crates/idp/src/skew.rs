//! Clock skew between this machine and the IdP, measured from HTTP `Date` headers.
//!
//! Tokens carry `iat`/`nbf`/`exp` on the IdP's clock. A local clock that is off by more than a few
//! seconds makes fresh tokens look expired (or not yet valid), so the client measures the offset
//! on every response and the caller decides when to warn.

use std::time::SystemTime;

use tapgate_clock::{Clock, unix_millis};

use serde::{Deserialize, Serialize};

/// IdP clock minus local clock, in whole seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockSkew {
    /// Positive when the IdP's clock is ahead of ours.
    pub seconds: i64,
}

impl ClockSkew {
    /// Offsets up to this many seconds are noise (the `Date` header has one-second resolution,
    /// plus network latency); beyond it the user should hear about it.
    pub const THRESHOLD_SECONDS: i64 = 5;

    /// Whether the skew is large enough to mention to the user.
    pub fn is_significant(&self) -> bool {
        self.seconds.abs() > Self::THRESHOLD_SECONDS
    }

    /// The IdP's current time in unix seconds, estimated from the local `clock`.
    pub fn idp_now(&self, clock: &dyn Clock) -> i64 {
        clock.unix_seconds() + self.seconds
    }

    /// Estimates the skew from one exchange: `date` is the response's `Date` header, `sent` and
    /// `received` the local clock around the exchange.
    ///
    /// The IdP stamped `Date` somewhere between `sent` and `received`; the midpoint is the best
    /// guess. `Date` is truncated to the second (RFC 9110 §5.6.7), so the IdP's true time lies in
    /// `[date, date + 1 s)`: compare against the middle of that interval.
    pub fn measure(date: SystemTime, sent: SystemTime, received: SystemTime) -> ClockSkew {
        let sent_ms = unix_millis(sent);
        let received_ms = unix_millis(received).max(sent_ms);
        let local_mid_ms = sent_ms + (received_ms - sent_ms) / 2;
        let idp_mid_ms = unix_millis(date) + 500;
        let diff_ms = idp_mid_ms - local_mid_ms;
        // Round to the nearest second, halves away from zero.
        let seconds = if diff_ms >= 0 { (diff_ms + 500) / 1000 } else { -((-diff_ms + 500) / 1000) };
        ClockSkew { seconds }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn same_clock_measures_zero_even_with_date_truncation() {
        // Local midpoint 1000.7 s; the IdP (same clock) stamps Date: 1000 s.
        let skew = ClockSkew::measure(at(1_000_000), at(1_000_600), at(1_000_800));
        assert_eq!(skew.seconds, 0);
        assert!(!skew.is_significant());
    }

    #[test]
    fn idp_ahead_is_positive_and_behind_is_negative() {
        let ahead = ClockSkew::measure(at(1_030_000), at(1_000_000), at(1_000_200));
        assert_eq!(ahead.seconds, 30);
        assert!(ahead.is_significant());

        let behind = ClockSkew::measure(at(940_000), at(1_000_000), at(1_000_200));
        assert_eq!(behind.seconds, -60);
        assert!(behind.is_significant());
    }

    #[test]
    fn threshold_is_exclusive() {
        assert!(!ClockSkew { seconds: 5 }.is_significant());
        assert!(!ClockSkew { seconds: -5 }.is_significant());
        assert!(ClockSkew { seconds: 6 }.is_significant());
        assert!(ClockSkew { seconds: -6 }.is_significant());
    }

    #[test]
    fn idp_now_adds_the_skew_to_the_local_clock() {
        let clock = tapgate_clock::ManualClock::at(at(2_000_000));
        assert_eq!(ClockSkew { seconds: 120 }.idp_now(clock.as_ref()), 2_000_000 / 1000 + 120);
    }

    #[test]
    fn a_received_time_before_sent_does_not_underflow() {
        // The local clock can step backwards during a request.
        let skew = ClockSkew::measure(at(2_000_000), at(2_000_000), at(1_999_000));
        assert_eq!(skew.seconds, 1);
    }
}
