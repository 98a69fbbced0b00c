//! Settings: start at login, the config file's IdPs and databases (add, edit, remove, each
//! checked live by the config file's rules), and importing a team config.

import { useCallback, useEffect, useState } from 'react';

import { api, toCommandError, type DbForm, type IdpForm, type SettingsChange, type SettingsView as Settings } from '../../api';
import { useApp } from '../../app/AppContext';
import { Button, Spinner } from '../shared';
import { DbEditor, emptyDb } from './DbEditor';
import { EMPTY_IDP, IdpEditor } from './IdpEditor';
import { ImportSection } from './ImportSection';

type Editing = { kind: 'idp'; form: IdpForm; previousName: string | null } | { kind: 'db'; form: DbForm; previousName: string | null } | null;

function Autostart({ initial }: { initial: boolean }) {
  const [enabled, setEnabled] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setEnabled(initial), [initial]);

  const toggle = async (wanted: boolean) => {
    setBusy(true);
    setError(null);
    setEnabled(wanted);
    try {
      setEnabled(await api.setAutostart(wanted));
    } catch (reason) {
      setEnabled(!wanted);
      setError(toCommandError(reason).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="setting-row">
      <label className="checkbox">
        <input type="checkbox" data-testid="autostart" checked={enabled} disabled={busy} onChange={(e) => void toggle(e.target.checked)} />
        <span>
          Start at login
          <span className="muted small block">Tapgate waits in the tray; nothing signs in until you connect.</span>
        </span>
      </label>
      {error && (
        <p className="inline-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

function RemoveButton({ what, name, change, onRemoved }: { what: string; name: string; change: SettingsChange; onRemoved: (s: Settings) => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const remove = async () => {
    setBusy(true);
    setError(null);
    try {
      onRemoved(await api.saveSettings(change));
    } catch (reason) {
      const ce = toCommandError(reason);
      setError(ce.fieldErrors.length ? ce.fieldErrors.map((f) => f.message).join(' ') : ce.message);
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      {confirming ? (
        <span className="confirm">
          Remove {what} {name}?
          <Button size="small" variant="danger" busy={busy} onClick={remove} data-testid={`confirm-remove-${name}`}>
            Remove
          </Button>
          <Button size="small" variant="ghost" onClick={() => setConfirming(false)}>
            Keep
          </Button>
        </span>
      ) : (
        <Button size="small" variant="ghost" onClick={() => setConfirming(true)} aria-label={`Remove ${what} ${name}`}>
          Remove
        </Button>
      )}
      {error && (
        <p className="inline-error list__error" role="alert">
          {error}
        </p>
      )}
    </>
  );
}

export function SettingsView() {
  const { state, actions } = useApp();
  const [settings, setSettings] = useState<Settings | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [editing, setEditing] = useState<Editing>(null);

  const load = useCallback(() => {
    api
      .getSettings()
      .then((s) => {
        setSettings(s);
        setLoadError(null);
      })
      .catch((reason) => setLoadError(toCommandError(reason).message));
  }, []);
  useEffect(load, [load]);

  const saved = (what: string) => (s: Settings) => {
    setSettings(s);
    setEditing(null);
    actions.notify('info', what);
  };

  const configPath = settings?.configPath ?? state.overview?.configPath ?? '';
  return (
    <div className="settings" data-testid="settings-view">
      <section className="panel" aria-labelledby="general-title">
        <h2 id="general-title">General</h2>
        <Autostart initial={state.overview?.autostart ?? false} />
        <p className="small muted">
          Config file: <span className="mono selectable">{configPath}</span>
        </p>
        {state.overview?.mode === 'configError' && state.overview.configError && (
          <pre className="config-error" role="alert">
            {state.overview.configError}
          </pre>
        )}
      </section>

      {loadError && (
        <p className="card-error" role="alert">
          {loadError}{' '}
          <button type="button" className="link" onClick={load}>
            Try again
          </button>
        </p>
      )}
      {!settings && !loadError && (
        <p className="empty">
          <Spinner /> Loading settings…
        </p>
      )}

      {settings && (
        <>
          <section className="panel" aria-labelledby="idps-title">
            <div className="panel__head">
              <h2 id="idps-title">Identity providers</h2>
              {editing?.kind !== 'idp' && (
                <Button size="small" data-testid="add-idp" onClick={() => setEditing({ kind: 'idp', form: EMPTY_IDP, previousName: null })}>
                  Add identity provider
                </Button>
              )}
            </div>
            {editing?.kind === 'idp' ? (
              <IdpEditor
                key={editing.previousName ?? '(new)'}
                initial={editing.form}
                previousName={editing.previousName}
                onSaved={saved('Identity provider saved')}
                onCancel={() => setEditing(null)}
              />
            ) : settings.idps.length === 0 ? (
              <p className="empty small">No identity providers yet.</p>
            ) : (
              <ul className="list">
                {settings.idps.map((idp) => (
                  <li key={idp.name} className="list__item" data-testid={`settings-idp-${idp.name}`}>
                    <div className="list__main">
                      <strong>{idp.name}</strong>
                      <span className="muted small">
                        {idp.username} · {idp.issuer} · {idp.authenticator === 'usb' ? 'security key' : 'software key'}
                      </span>
                    </div>
                    <Button size="small" data-testid={`edit-idp-${idp.name}`} onClick={() => setEditing({ kind: 'idp', form: idp, previousName: idp.name })}>
                      Edit
                    </Button>
                    <RemoveButton what="identity provider" name={idp.name} change={{ kind: 'removeIdp', name: idp.name }} onRemoved={saved(`Removed ${idp.name}`)} />
                  </li>
                ))}
              </ul>
            )}
          </section>

          <section className="panel" aria-labelledby="dbs-title">
            <div className="panel__head">
              <h2 id="dbs-title">Databases</h2>
              {editing?.kind !== 'db' && (
                <Button
                  size="small"
                  data-testid="add-db"
                  onClick={() => setEditing({ kind: 'db', form: emptyDb(settings.idps[0]?.name ?? ''), previousName: null })}
                >
                  Add database
                </Button>
              )}
            </div>
            {editing?.kind === 'db' ? (
              <DbEditor
                key={editing.previousName ?? '(new)'}
                initial={editing.form}
                previousName={editing.previousName}
                idps={settings.idps.map((i) => i.name)}
                onSaved={saved('Database saved')}
                onCancel={() => setEditing(null)}
              />
            ) : settings.databases.length === 0 ? (
              <p className="empty small">No databases yet.</p>
            ) : (
              <ul className="list">
                {settings.databases.map((db) => (
                  <li key={db.name} className="list__item" data-testid={`settings-db-${db.name}`}>
                    <div className="list__main">
                      <strong>{db.name}</strong>
                      <span className="muted small mono">
                        {db.role}@{db.host}
                        {db.port !== null ? `:${db.port}` : ''}/{db.dbname}
                      </span>
                      <span className="muted small"> · via {db.idp}</span>
                    </div>
                    <Button size="small" data-testid={`edit-db-${db.name}`} onClick={() => setEditing({ kind: 'db', form: db, previousName: db.name })}>
                      Edit
                    </Button>
                    <RemoveButton what="database" name={db.name} change={{ kind: 'removeDb', name: db.name }} onRemoved={saved(`Removed ${db.name}`)} />
                  </li>
                ))}
              </ul>
            )}
          </section>
        </>
      )}

      <ImportSection onImported={load} />
    </div>
  );
}
