//! Countdown text, the same as Rust's `countdown.rs` (tray and notifications), so the window and
//! the tray never disagree.

/** Under this many seconds left a token is "expiring soon" (amber). */
export const EXPIRING_SOON_SECS = 5 * 60;
/** In the last minute the countdown turns red. */
export const LAST_MINUTE_SECS = 60;

/** `"12:41 left"`, `"1:02:03 left"`, or `"expired"`. */
export function countdown(secondsLeft: number): string {
  if (secondsLeft <= 0) return 'expired';
  const h = Math.floor(secondsLeft / 3600);
  const m = Math.floor((secondsLeft % 3600) / 60);
  const s = secondsLeft % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s)} left` : `${m}:${two(s)} left`;
}

/** Seconds from `nowMs` to `expiresAtMs`, rounded up so "0:01 left" shows until the end. */
export function secondsLeft(expiresAtMs: number, nowMs: number): number {
  return Math.floor((expiresAtMs - nowMs + 999) / 1000);
}

/** How urgent the countdown looks. */
export function urgency(secondsLeft: number): 'ok' | 'soon' | 'critical' {
  if (secondsLeft <= LAST_MINUTE_SECS) return 'critical';
  if (secondsLeft <= EXPIRING_SOON_SECS) return 'soon';
  return 'ok';
}
