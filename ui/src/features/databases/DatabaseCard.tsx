//! One database: its forwarder's state and address, roles, open connections, the token's time
//! left, Connect/Disconnect, the connection strings to copy, and what went wrong last.

import { useEffect, useRef, useState } from 'react';

import { api, toCommandError, type DatabaseView, type DsnFormatView, type IdpView } from '../../api';
import { useApp } from '../../app/AppContext';
import { Countdown } from '../countdown/Countdown';
import { CheckIcon, CopyIcon } from '../icons';
import { Button, StatusDot } from '../shared';
import { tokenExpiry } from './IdpRow';

const FORMATS: { format: DsnFormatView; label: string }[] = [
  { format: 'uri', label: 'URI' },
  { format: 'keyword', label: 'Key/value' },
  { format: 'jdbc', label: 'JDBC' },
  { format: 'psql', label: 'psql' },
  { format: 'tcp', label: 'TCP' },
];

const COPIED_FOR_MS = 1800;

function CopyButton({ database, format, label, preview }: { database: string; format: DsnFormatView; label: string; preview: string | undefined }) {
  const [copied, setCopied] = useState(false);
  const [failed, setFailed] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout>>();
  useEffect(() => () => clearTimeout(timer.current), []);

  const copy = async () => {
    setFailed(null);
    try {
      await api.copyConnectionString(database, format);
      setCopied(true);
      clearTimeout(timer.current);
      timer.current = setTimeout(() => setCopied(false), COPIED_FOR_MS);
    } catch (reason) {
      setFailed(toCommandError(reason).message);
    }
  };

  return (
    <button
      type="button"
      className={`copy${copied ? ' copy--done' : ''}`}
      data-testid={`copy-${format}-${database}`}
      title={failed ?? preview ?? `Copy the ${label} connection string`}
      aria-label={copied ? `${label} copied` : `Copy ${label} connection string`}
      onClick={copy}
    >
      {copied ? <CheckIcon className="copy__icon" /> : <CopyIcon className="copy__icon" />}
      {copied ? 'Copied' : label}
    </button>
  );
}

export function DatabaseCard({ db, idp, canOpenTerminal = true }: { db: DatabaseView; idp: IdpView | undefined; canOpenTerminal?: boolean }) {
  const { actions } = useApp();
  const [pending, setPending] = useState<'connect' | 'disconnect' | 'psql' | null>(null);
  const [error, setError] = useState<string | null>(null);

  const run = async (kind: 'connect' | 'disconnect' | 'psql') => {
    setPending(kind);
    setError(null);
    try {
      if (kind === 'connect') actions.databaseUpdated(await api.connect(db.name));
      else if (kind === 'disconnect') await api.disconnect(db.name);
      else await api.openPsql(db.name);
    } catch (reason) {
      setError(toCommandError(reason).message);
    } finally {
      setPending(null);
    }
  };

  const shownError = error ?? db.lastError;
  const otherRoles = db.roles.filter((r) => r !== db.role);
  const status = db.listening ? 'listening' : 'stopped';
  return (
    <article className={`card db-card${db.listening ? ' db-card--on' : ''}`} data-testid={`db-card-${db.name}`} aria-label={`Database ${db.name}`}>
      <div className="db-card__head">
        <StatusDot state={pending === 'connect' ? 'busy' : shownError && !db.listening ? 'error' : db.listening ? 'on' : 'off'} />
        <h3 className="db-card__name">{db.name}</h3>
        <span className={`status status--${status}`} data-testid={`db-status-${db.name}`}>
          {status}
        </span>
        <span className="spacer" />
        {idp && <Countdown expiresAtMs={tokenExpiry(idp)} testId={`db-countdown-${db.name}`} />}
      </div>

      <dl className="facts">
        <div>
          <dt>Local address</dt>
          <dd className="mono">
            {db.localPort !== null ? <span data-testid={`local-address-${db.name}`}>127.0.0.1:{db.localPort}</span> : <span className="muted">assigned on connect</span>}
          </dd>
        </div>
        <div>
          <dt>Open connections</dt>
          <dd data-testid={`open-connections-${db.name}`}>{db.openConnections}</dd>
        </div>
        <div className="facts__wide">
          <dt>Upstream</dt>
          <dd className="mono" title={`${db.upstream}/${db.dbname}`}>
            {db.upstream}/{db.dbname}
          </dd>
        </div>
        <div className="facts__wide">
          <dt>Role</dt>
          <dd>
            <span className="mono">{db.role}</span>
            {otherRoles.length > 0 && <span className="muted"> · also {otherRoles.join(', ')}</span>}
          </dd>
        </div>
      </dl>

      {shownError && (
        <p className="card-error" role="alert" data-testid={`db-error-${db.name}`}>
          {shownError}
        </p>
      )}

      <div className="db-card__actions">
        {db.listening ? (
          <Button data-testid={`disconnect-${db.name}`} busy={pending === 'disconnect'} onClick={() => run('disconnect')}>
            {pending === 'disconnect' ? 'Disconnecting…' : 'Disconnect'}
          </Button>
        ) : (
          <Button data-testid={`connect-${db.name}`} variant="primary" busy={pending === 'connect'} onClick={() => run('connect')}>
            {pending === 'connect' ? 'Connecting…' : 'Connect'}
          </Button>
        )}
        <Button
          data-testid={`open-psql-${db.name}`}
          variant="ghost"
          busy={pending === 'psql'}
          disabled={!canOpenTerminal}
          title={canOpenTerminal ? 'Open psql in a terminal' : 'No terminal emulator found: copy the psql command instead'}
          onClick={() => run('psql')}
        >
          Open psql
        </Button>
        <span className="spacer" />
        <div className="copies" role="group" aria-label="Copy connection string">
          {FORMATS.map(({ format, label }) => (
            <CopyButton key={format} database={db.name} format={format} label={label} preview={db.connectionStrings?.[format]} />
          ))}
        </div>
      </div>
    </article>
  );
}
