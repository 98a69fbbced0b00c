//! The window: sidebar navigation, a header with the mode and who is signed in, the current
//! view, the sign-in prompt and notices. Subscribes to Rust's events before reading the first
//! overview, so no change falls in between.

import { useEffect, useMemo, useReducer, useRef, useState, type ReactNode } from 'react';

import { api, toCommandError, type Overview, type ViewName } from '../api';
import { DatabasesView } from '../features/databases/DatabasesView';
import { HistoryView } from '../features/history/HistoryView';
import { Toasts } from '../features/notices/Toasts';
import { SignInPrompt } from '../features/prompt/SignInPrompt';
import { SettingsView } from '../features/settings/SettingsView';
import { Button, Spinner } from '../features/shared';
import { AppContext, type AppActions } from './AppContext';
import { initialState, reducer } from './state';

const VIEWS: { view: ViewName; label: string; icon: ReactNode }[] = [
  {
    view: 'databases',
    label: 'Databases',
    icon: (
      <svg viewBox="0 0 20 20" aria-hidden="true">
        <ellipse cx="10" cy="5" rx="6" ry="2.5" />
        <path d="M4 5v10c0 1.4 2.7 2.5 6 2.5s6-1.1 6-2.5V5M4 10c0 1.4 2.7 2.5 6 2.5s6-1.1 6-2.5" />
      </svg>
    ),
  },
  {
    view: 'history',
    label: 'History',
    icon: (
      <svg viewBox="0 0 20 20" aria-hidden="true">
        <circle cx="10" cy="10" r="7" />
        <path d="M10 6v4l3 2" />
      </svg>
    ),
  },
  {
    view: 'settings',
    label: 'Settings',
    icon: (
      <svg viewBox="0 0 20 20" aria-hidden="true">
        <path d="M4 6h12M4 14h12" />
        <circle cx="8" cy="6" r="2" />
        <circle cx="13" cy="14" r="2" />
      </svg>
    ),
  },
];

const TITLES: Record<ViewName, string> = { databases: 'Databases', history: 'History', settings: 'Settings' };

function ModeBadge({ overview }: { overview: Overview }) {
  const badge: Record<Overview['mode'], [string, string] | null> = {
    configured: null,
    demo: ['Demo', 'badge--demo'],
    startingDemo: ['Starting demo…', 'badge--demo'],
    unconfigured: ['Not set up', 'badge--muted'],
    configError: ['Config error', 'badge--error'],
  };
  const shown = badge[overview.mode];
  return shown ? (
    <span className={`badge ${shown[1]}`} data-testid="mode-badge">
      {shown[0]}
    </span>
  ) : null;
}

function Identities({ overview }: { overview: Overview }) {
  const signedIn = overview.idps.filter((i) => i.signedIn);
  if (signedIn.length === 0) return <span className="muted small">Not signed in</span>;
  return (
    <span className="identities" aria-label="Signed in">
      {signedIn.map((i) => (
        <span key={i.name} className="identity" title={`${i.identity ?? i.username} at ${i.issuer}`}>
          <span className="identity__avatar" aria-hidden="true">
            {(i.identity ?? i.username).charAt(0).toUpperCase()}
          </span>
          {i.identity ?? i.username}
          <span className="muted"> · {i.name}</span>
        </span>
      ))}
    </span>
  );
}

export function App() {
  const [state, dispatch] = useReducer(reducer, initialState);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const sawOverviewEvent = useRef(false);

  useEffect(() => {
    let disposed = false;
    let unsubscribe: (() => void) | null = null;
    setLoadError(null);
    api
      .onUiEvent((event) => {
        if (event.kind === 'overview') sawOverviewEvent.current = true;
        dispatch({ type: 'event', event });
      })
      .then((stop) => {
        if (disposed) stop();
        else unsubscribe = stop;
        return api.getOverview();
      })
      .then((overview) => {
        // An event that arrived meanwhile is at least as new as this answer.
        if (!disposed && !sawOverviewEvent.current) dispatch({ type: 'event', event: { kind: 'overview', overview } });
        // A window opened by a sign-in (Tapgate started hidden) missed the prompt event.
        return api.currentPrompt().catch(() => null);
      })
      .then((prompt) => {
        if (!disposed && prompt) dispatch({ type: 'event', event: { kind: 'prompt', prompt } });
      })
      .catch((reason) => {
        if (!disposed) setLoadError(toCommandError(reason).message);
      });
    return () => {
      disposed = true;
      unsubscribe?.();
    };
  }, [attempt]);

  const actions = useMemo<AppActions>(
    () => ({
      navigate: (view) => dispatch({ type: 'navigate', view }),
      notify: (level, text) => dispatch({ type: 'notify', level, text }),
      dismissNotice: (id) => dispatch({ type: 'dismissNotice', id }),
      databaseUpdated: (database) => dispatch({ type: 'databaseUpdated', database }),
      promptDismissed: (id) => dispatch({ type: 'promptDismissed', id }),
    }),
    [],
  );
  const context = useMemo(() => ({ state, actions }), [state, actions]);
  const { overview, view } = state;

  let content: ReactNode;
  if (loadError && !overview) {
    content = (
      <div className="panel panel--error" role="alert">
        <h2>Tapgate did not answer</h2>
        <p>{loadError}</p>
        <Button onClick={() => setAttempt((a) => a + 1)}>Try again</Button>
      </div>
    );
  } else if (!overview) {
    content = (
      <p className="empty">
        <Spinner /> Loading…
      </p>
    );
  } else if (view === 'history') {
    content = <HistoryView />;
  } else if (view === 'settings') {
    content = <SettingsView />;
  } else {
    content = <DatabasesView overview={overview} />;
  }

  return (
    <AppContext.Provider value={context}>
      <div className="app">
        <nav className="sidebar" aria-label="Views">
          <div className="brand">
            <span className="brand__mark" aria-hidden="true" />
            Tapgate
          </div>
          {VIEWS.map((v) => (
            <button
              key={v.view}
              type="button"
              className={`nav${view === v.view ? ' nav--active' : ''}`}
              aria-current={view === v.view ? 'page' : undefined}
              data-testid={`nav-${v.view}`}
              onClick={() => actions.navigate(v.view)}
            >
              {v.icon}
              {v.label}
            </button>
          ))}
        </nav>
        <div className="main">
          <header className="topbar">
            <h1>{TITLES[view]}</h1>
            {overview && <ModeBadge overview={overview} />}
            <span className="spacer" />
            {overview && <Identities overview={overview} />}
          </header>
          <main className="content">{content}</main>
        </div>
        <SignInPrompt />
        <Toasts />
      </div>
    </AppContext.Provider>
  );
}
