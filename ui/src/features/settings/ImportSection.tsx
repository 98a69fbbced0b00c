//! "Import team config": a teammate's file of `[idp.*]` and `[db.*]` tables merged into ours.

import { useState, type FormEvent } from 'react';

import { api, toCommandError, type ImportSummary } from '../../api';
import { Button } from '../shared';

/** "Added IdP corp and databases prod, staging. Replaced database reporting." */
export function describeImport(s: ImportSummary): string {
  const list = (what: string, names: string[]) => (names.length ? `${what}${names.length > 1 ? 's' : ''} ${names.join(', ')}` : null);
  const sentence = (verb: string, idps: string[], dbs: string[]) => {
    const parts = [list('IdP', idps), list('database', dbs)].filter(Boolean);
    return parts.length ? `${verb} ${parts.join(' and ')}.` : null;
  };
  const needs = s.needsUsername.length
    ? `Enter your user name for ${s.needsUsername.join(', ')} (Edit, under Identity providers): the team file leaves it to you.`
    : null;
  const text = [sentence('Added', s.idpsAdded, s.dbsAdded), sentence('Replaced', s.idpsReplaced, s.dbsReplaced), needs].filter(Boolean).join(' ');
  return text || 'Nothing changed: the file matches your settings.';
}

export function ImportSection({ onImported }: { onImported: () => void }) {
  const [path, setPath] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<string[] | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!path.trim()) return;
    setBusy(true);
    setResult(null);
    setError(null);
    try {
      setResult(describeImport(await api.importConfig(path.trim())));
      onImported();
    } catch (reason) {
      const ce = toCommandError(reason);
      setError([ce.message, ...ce.fieldErrors.map((f) => (f.table ? `${f.table}${f.field ? `.${f.field}` : ''}: ${f.message}` : f.message))]);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" aria-labelledby="import-title">
      <h2 id="import-title">Import team config</h2>
      <p className="muted small">A file of [idp.*] and [db.*] tables from your team. Tables with the same name are replaced; your other settings stay.</p>
      <form className="import" onSubmit={submit}>
        <input
          className="input mono"
          aria-label="Path of the team config file"
          placeholder="/path/to/team.toml"
          data-testid="import-path"
          value={path}
          onChange={(e) => setPath(e.target.value)}
        />
        <Button type="submit" data-testid="import-button" busy={busy} disabled={!path.trim()}>
          Import
        </Button>
      </form>
      {result && (
        <p className="saved" role="status">
          {result}
        </p>
      )}
      {error && (
        <ul className="editor__problems" role="alert">
          {error.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
