//! The first run: what Tapgate is, the built-in demo (with its start-up steps), and the way
//! to settings; or, when the config file does not load, why.

import { useState } from 'react';

import { api, toCommandError, type DemoStep } from '../../api';
import { useApp } from '../../app/AppContext';
import { CheckIcon } from '../icons';
import { Button, Spinner } from '../shared';

function DemoProgress({ steps }: { steps: DemoStep[] }) {
  if (steps.length === 0) return null;
  return (
    <ol className="demo-steps" aria-label="Demo start-up">
      {steps.map((s) => (
        <li key={s.step} className={s.done ? 'demo-step demo-step--done' : 'demo-step'}>
          <span className="demo-step__icon">{s.done ? <span className="check" role="img" aria-label="done"><CheckIcon /></span> : <Spinner label="in progress" />}</span>
          <span className="demo-step__text">{s.step}</span>
          {s.detail && <span className="demo-step__detail muted">{s.detail}</span>}
        </li>
      ))}
    </ol>
  );
}

export function Welcome({ starting }: { starting: boolean }) {
  const { state, actions } = useApp();
  const [requested, setRequested] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Busy from the click until the demo runs (the overview's mode then leaves this view), also
  // when Rust answers `start_demo` before its steps are done.
  const busy = starting || requested || state.demoSteps.some((s) => !s.done);

  const start = async () => {
    setRequested(true);
    setError(null);
    try {
      await api.startDemo();
    } catch (reason) {
      setError(toCommandError(reason).message);
    } finally {
      setRequested(false);
    }
  };

  return (
    <section className="welcome">
      <div className="welcome__mark" aria-hidden="true">
        <KeyGlyph />
      </div>
      <h2>Welcome to Tapgate</h2>
      <p className="welcome__lead">
        Tapgate lets you reach PostgreSQL without passwords: you tap your security key, and it signs you in to your
        identity provider for a short-lived token. Each database then gets a local address on 127.0.0.1 that your
        usual tools connect to, while Tapgate hands the token to the server for you.
      </p>
      <div className="welcome__actions">
        <Button data-testid="start-demo" variant="primary" size="large" busy={busy} onClick={start}>
          {busy ? 'Starting the demo…' : 'Start the built-in demo'}
        </Button>
        <button type="button" className="link" onClick={() => actions.navigate('settings')}>
          Set up your own
        </button>
      </div>
      <p className="muted small">The demo runs a local PostgreSQL 18, a sign-in server and a software key: nothing leaves this computer.</p>
      <DemoProgress steps={state.demoSteps} />
      {error && (
        <p className="card-error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

export function ConfigErrorPanel({ error, path }: { error: string | null; path: string }) {
  const { actions } = useApp();
  return (
    <section className="panel panel--error" role="alert">
      <h2>The configuration does not load</h2>
      <p className="muted">
        <span className="mono">{path}</span>
      </p>
      <pre className="config-error">{error ?? 'Unknown problem in the config file.'}</pre>
      <button type="button" className="link" onClick={() => actions.navigate('settings')}>
        Fix it in Settings
      </button>
    </section>
  );
}

export function KeyGlyph() {
  return (
    <svg viewBox="0 0 64 64" width="64" height="64" aria-hidden="true">
      <rect x="20" y="6" width="24" height="40" rx="7" className="glyph-body" />
      <rect x="25" y="46" width="14" height="12" rx="2" className="glyph-plug" />
      <circle cx="32" cy="22" r="6" className="glyph-touch" />
    </svg>
  );
}
