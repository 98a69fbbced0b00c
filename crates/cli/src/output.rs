//! Human output: countdowns, times, and the printer of engine events.

use tapgate_core::CoreEvent;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

/// `14:59`, `1:02:03`, or `0:00` once past.
pub use tapgate_core::session::clock_text as countdown;

/// A unix time as RFC 3339 UTC, e.g. `2026-11-27T10:15:02Z`.
pub fn timestamp(unix: i64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64);
    humantime::format_rfc3339_seconds(time).to_string()
}

/// A unix time as `YYYY-MM-DD HH:MM:SS` UTC, for tables.
pub fn utc_time(unix: i64) -> String {
    timestamp(unix).replace('T', " ").trim_end_matches('Z').to_string()
}

/// `512 B`, `1.5 KiB`, `3.2 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Prints warnings from the engine on stderr until the engine is dropped.
pub fn print_events(mut events: broadcast::Receiver<CoreEvent>) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(event) = tapgate_core::next_event(&mut events).await {
            print_event(&event);
        }
    })
}

pub fn print_event(event: &CoreEvent) {
    match event {
        CoreEvent::ClockSkew { idp, seconds } => {
            let direction = if *seconds > 0 { "behind" } else { "ahead of" };
            eprintln!(
                "tapgate: warning: this machine's clock is {} s {direction} the IdP {idp}'s clock; \
                 countdowns use the IdP's time. Check time sync (NTP): servers reject tokens from skewed clocks.",
                seconds.abs()
            );
        }
        CoreEvent::RefreshRejected { idp } => {
            eprintln!("tapgate: the session with {idp} can no longer be renewed; a new sign-in is needed.");
        }
        CoreEvent::CacheWriteFailed { idp, reason } => {
            eprintln!(
                "tapgate: warning: could not save the {idp} session in the keyring ({reason}); it lasts for this command only."
            );
        }
        CoreEvent::RevocationFailed { reason, .. } => {
            eprintln!("tapgate: warning: {reason}");
        }
        CoreEvent::WaitingForOtherSignIn { idp } => {
            eprintln!("tapgate: another Tapgate program is signing in to {idp}; waiting for it to finish…");
        }
        CoreEvent::SignedIn { .. }
        | CoreEvent::Refreshed { .. }
        | CoreEvent::SignedOut { .. }
        | CoreEvent::SignInFailed { .. }
        | CoreEvent::ConnectionOpened { .. }
        | CoreEvent::ConnectionClosed { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdowns_read_like_clocks() {
        assert_eq!(countdown(899), "14:59");
        assert_eq!(countdown(3723), "1:02:03");
        assert_eq!(countdown(-5), "0:00");
    }

    #[test]
    fn byte_counts_are_short() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
    }

    #[test]
    fn timestamps_are_utc() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
    }
}
