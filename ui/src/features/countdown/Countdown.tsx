//! A token's time left as text: "12:41 left", amber under five minutes, red in the last minute.

import { countdown, urgency } from './format';
import { useCountdown } from './useCountdown';

interface Props {
  /** When the token expires (Unix ms), `null` when no token is held. */
  expiresAtMs: number | null;
  testId?: string;
}

export function Countdown({ expiresAtMs, testId }: Props) {
  const left = useCountdown(expiresAtMs);
  if (left === null) {
    return (
      <span className="countdown countdown--none" data-testid={testId}>
        signed out
      </span>
    );
  }
  const level = left <= 0 ? 'expired' : urgency(left);
  return (
    <span className={`countdown countdown--${level}`} data-testid={testId}>
      {countdown(left)}
    </span>
  );
}
