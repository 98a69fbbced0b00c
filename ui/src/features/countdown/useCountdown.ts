//! Seconds left until a token expires, redrawn once a second while the window is visible.

import { useEffect, useState } from 'react';

import { secondsLeft } from './format';

function visible(): boolean {
  return document.visibilityState !== 'hidden';
}

/**
 * Seconds left until `expiresAtMs` (Unix ms), or `null` without an expiry. Each tick lands just
 * after a whole second of the remaining time, so the text steps evenly; ticking stops while the
 * document is hidden (and after expiry) and catches up as soon as it is shown again.
 */
export function useCountdown(expiresAtMs: number | null): number | null {
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    if (expiresAtMs === null) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const stop = () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    };
    const schedule = () => {
      stop();
      const current = Date.now();
      setNow(current);
      const leftMs = expiresAtMs - current;
      if (leftMs <= 0 || !visible()) return;
      timer = setTimeout(schedule, ((leftMs - 1) % 1000) + 1);
    };
    const onVisibilityChange = () => (visible() ? schedule() : stop());

    schedule();
    document.addEventListener('visibilitychange', onVisibilityChange);
    return () => {
      stop();
      document.removeEventListener('visibilitychange', onVisibilityChange);
    };
  }, [expiresAtMs]);

  return expiresAtMs === null ? null : secondsLeft(expiresAtMs, now);
}
