//! Countdown text ("12:41 left") and how often it needs redrawing.

use std::time::Duration;

use tapgate_clock::clock_text;

/// Under this many seconds left, a token is "expiring soon": amber icon, a notification.
pub const EXPIRING_SOON_SECS: i64 = 5 * 60;

/// In the last minute the tray text counts every second; before that every 30 s is enough.
pub const LAST_MINUTE_SECS: i64 = 60;

/// The tray's refresh period while no token is in its last minute.
pub const CALM_REFRESH: Duration = Duration::from_secs(30);

/// `"12:41 left"`, `"1:02:03 left"`, or `"expired"`.
pub fn countdown(seconds_left: i64) -> String {
    if seconds_left <= 0 { "expired".to_string() } else { format!("{} left", clock_text(seconds_left)) }
}

/// Seconds from `now_ms` to `expires_at_ms`, rounded up so "0:01 left" shows until the end.
pub fn seconds_left(expires_at_ms: i64, now_ms: i64) -> i64 {
    (expires_at_ms - now_ms + 999).div_euclid(1000)
}

/// How long until the tray text must be redrawn for tokens expiring at `expiries` (Unix ms):
/// every second in a token's last minute, else every 30 s, waking early for the moment a token
/// enters its last five minutes or its last minute, so the icon and the per-second count are on time.
pub fn next_redraw(expiries: impl IntoIterator<Item = i64>, now_ms: i64) -> Duration {
    let mut wait_ms = CALM_REFRESH.as_millis() as i64;
    for expires_at in expiries {
        let left_ms = expires_at - now_ms;
        if left_ms <= 0 {
            continue;
        }
        if left_ms <= LAST_MINUTE_SECS * 1000 {
            // Land just after the next whole second so the text steps evenly.
            return Duration::from_millis(((left_ms - 1).rem_euclid(1000) + 1) as u64);
        }
        for threshold in [EXPIRING_SOON_SECS * 1000, LAST_MINUTE_SECS * 1000] {
            if left_ms > threshold {
                wait_ms = wait_ms.min(left_ms - threshold);
            }
        }
    }
    Duration::from_millis(wait_ms.max(1) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdown_reads_like_a_clock() {
        assert_eq!(countdown(761), "12:41 left");
        assert_eq!(countdown(59), "0:59 left");
        assert_eq!(countdown(3723), "1:02:03 left");
        assert_eq!(countdown(0), "expired");
        assert_eq!(countdown(-5), "expired");
    }

    #[test]
    fn seconds_left_rounds_up() {
        assert_eq!(seconds_left(10_000, 9_001), 1);
        assert_eq!(seconds_left(10_000, 10_000), 0);
        assert_eq!(seconds_left(10_000, 0), 10);
    }

    #[test]
    fn redraws_every_30_s_then_every_second_in_the_last_minute() {
        let now = 1_000_000;
        assert_eq!(next_redraw([], now), CALM_REFRESH);
        assert_eq!(next_redraw([now + 3_600_000], now), CALM_REFRESH);
        // 5:10 left: wake when the five-minute mark is crossed.
        assert_eq!(next_redraw([now + 310_000], now), Duration::from_secs(10));
        // 1:20 left: wake at the last minute.
        assert_eq!(next_redraw([now + 80_000], now), Duration::from_secs(20));
        // In the last minute: at the next whole second.
        assert_eq!(next_redraw([now + 42_300], now), Duration::from_millis(300));
        assert_eq!(next_redraw([now + 42_000], now), Duration::from_secs(1));
        // Expired tokens do not keep the tray busy.
        assert_eq!(next_redraw([now - 5_000], now), CALM_REFRESH);
    }
}
