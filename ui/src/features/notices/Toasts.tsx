//! Notices from Rust (and the window's own): errors stay until dismissed, the rest fade.

import { useEffect } from 'react';

import { useApp } from '../../app/AppContext';
import type { ShownNotice } from '../../app/state';
import { CloseIcon } from '../icons';

/** How long an info notice stays. */
export const INFO_NOTICE_MS = 5000;

function Toast({ notice, onDismiss }: { notice: ShownNotice; onDismiss: () => void }) {
  useEffect(() => {
    if (notice.level !== 'info') return undefined;
    const timer = setTimeout(onDismiss, INFO_NOTICE_MS);
    return () => clearTimeout(timer);
    // Only the notice's identity restarts the timer, not a new onDismiss closure.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [notice.id, notice.level]);

  return (
    <div data-testid="notice" className={`toast toast--${notice.level}`} role={notice.level === 'error' ? 'alert' : 'status'}>
      <span className="toast__icon" aria-hidden="true">
        {notice.level === 'error' ? '!' : 'i'}
      </span>
      <span className="toast__text">{notice.text}</span>
      <button type="button" className="toast__close" aria-label="Dismiss" onClick={onDismiss}>
        <CloseIcon />
      </button>
    </div>
  );
}

export function Toasts() {
  const { state, actions } = useApp();
  return (
    <div className="toasts" aria-live="polite">
      {state.notices.map((n) => (
        <Toast key={n.id} notice={n} onDismiss={() => actions.dismissNotice(n.id)} />
      ))}
    </div>
  );
}
