//! One IdP above the database cards: who is signed in, their groups, the token's time left,
//! and Sign in / Sign out.

import { useState } from 'react';

import { api, toCommandError, type IdpView } from '../../api';
import { Countdown } from '../countdown/Countdown';
import { Button, StatusDot } from '../shared';

/**
 * The expiry to count down to: the token's while signed in; after a sign-out only a past expiry
 * (which reads "expired"), otherwise none ("signed out").
 */
export function tokenExpiry(idp: IdpView, nowMs: number = Date.now()): number | null {
  if (idp.signedIn) return idp.expiresAtMs;
  return idp.expiresAtMs !== null && idp.expiresAtMs <= nowMs ? idp.expiresAtMs : null;
}

/** How the person signs in, as the IdP row's tag says it. */
const SIGN_IN_KIND: Record<IdpView['keyKind'], string> = {
  usb: 'Security key',
  soft: 'Software key',
  browser: 'In the browser',
  device: 'Code on another device',
};

export function IdpRow({ idp }: { idp: IdpView }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (reason) {
      setError(toCommandError(reason).message);
    } finally {
      setBusy(false);
    }
  };

  const shownError = error ?? idp.lastError;
  const signingIn = idp.signingIn || busy;
  return (
    <div className="idp-row" data-testid={`idp-row-${idp.name}`}>
      <StatusDot state={idp.signingIn ? 'busy' : idp.signedIn ? 'on' : 'off'} />
      <div className="idp-row__who">
        <div className="idp-row__title">
          <span className="idp-row__name">{idp.name}</span>
          <span className="muted">{idp.identity ?? idp.username}</span>
          <span className="tag">{SIGN_IN_KIND[idp.keyKind]}</span>
        </div>
        {idp.groups.length > 0 && (
          <div className="chips" aria-label="Groups">
            {idp.groups.map((g) => (
              <span className="chip" key={g}>
                {g}
              </span>
            ))}
          </div>
        )}
        {shownError && (
          <p className="inline-error" role="alert" data-testid={`idp-error-${idp.name}`}>
            {shownError}
          </p>
        )}
      </div>
      <Countdown expiresAtMs={tokenExpiry(idp)} testId={`countdown-${idp.name}`} />
      <div className="idp-row__actions">
        {idp.signedIn ? (
          <Button data-testid={`sign-out-${idp.name}`} size="small" busy={busy} onClick={() => run(() => api.signOut(idp.name))}>
            Sign out
          </Button>
        ) : (
          <Button
            data-testid={`sign-in-${idp.name}`}
            variant="primary"
            size="small"
            busy={signingIn}
            onClick={() => run(() => api.signIn(idp.name))}
          >
            {signingIn ? 'Signing in…' : 'Sign in'}
          </Button>
        )}
      </div>
    </div>
  );
}
