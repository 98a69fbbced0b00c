//! Add or edit a `[db.NAME]` table.

import { useState } from 'react';

import type { DbForm, SettingsView } from '../../api';
import { EditorFrame } from './EditorFrame';
import { ChipInput, Field } from './fields';
import { useEditor } from './useEditor';

const FIELDS = ['name', 'idp', 'host', 'port', 'dbname', 'role', 'roles', 'auth', 'sslmode', 'sslnegotiation', 'caFile', 'localPort', 'maxConnections'];

type NumberKey = 'port' | 'localPort' | 'maxConnections';
type TextKey = 'name' | 'idp' | 'host' | 'dbname' | 'role' | 'auth' | 'sslmode' | 'sslnegotiation' | 'caFile';
type Draft = Record<TextKey | NumberKey, string> & { roles: string[] };

export function emptyDb(idp: string): DbForm {
  return {
    name: '',
    idp,
    host: '',
    port: null,
    dbname: '',
    role: '',
    roles: [],
    auth: null,
    sslmode: null,
    sslnegotiation: null,
    caFile: null,
    localPort: null,
    maxConnections: null,
  };
}

function toDraft(f: DbForm): Draft {
  const num = (n: number | null) => (n === null ? '' : String(n));
  return {
    name: f.name,
    idp: f.idp,
    host: f.host,
    port: num(f.port),
    dbname: f.dbname,
    role: f.role,
    roles: f.roles,
    auth: f.auth ?? '',
    sslmode: f.sslmode ?? '',
    sslnegotiation: f.sslnegotiation ?? '',
    caFile: f.caFile ?? '',
    localPort: num(f.localPort),
    maxConnections: num(f.maxConnections),
  };
}

const optional = (s: string) => (s.trim() === '' ? null : s.trim());

function parseNumber(s: string): number | null | 'invalid' {
  const t = s.trim();
  if (t === '') return null;
  return /^\d+$/.test(t) ? Number(t) : 'invalid';
}

function toForm(d: Draft): { form: DbForm; localErrors: Record<string, string> } {
  const localErrors: Record<string, string> = {};
  const number = (key: NumberKey) => {
    const n = parseNumber(d[key]);
    if (n === 'invalid') {
      localErrors[key] = 'Enter a whole number';
      return null;
    }
    return n;
  };
  const form: DbForm = {
    name: d.name.trim(),
    idp: d.idp,
    host: d.host.trim(),
    port: number('port'),
    dbname: d.dbname.trim(),
    role: d.role.trim(),
    roles: d.roles,
    auth: optional(d.auth),
    sslmode: optional(d.sslmode),
    sslnegotiation: optional(d.sslnegotiation),
    caFile: optional(d.caFile),
    localPort: number('localPort'),
    maxConnections: number('maxConnections'),
  };
  return { form, localErrors };
}

interface Props {
  initial: DbForm;
  previousName: string | null;
  idps: string[];
  onSaved: (view: SettingsView) => void;
  onCancel: () => void;
}

export function DbEditor({ initial, previousName, idps, onSaved, onCancel }: Props) {
  const [draft, setDraft] = useState(() => toDraft(initial));
  const { form, localErrors } = toForm(draft);
  const editor = useEditor({
    kind: 'db',
    previousName,
    name: form.name,
    change: { kind: 'upsertDb', form, previous_name: previousName },
    fields: FIELDS,
    localErrors,
    onSaved,
  });
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const text = (key: TextKey | NumberKey, extra: { placeholder?: string; inputMode?: 'numeric' } = {}) => (control: object) => (
    <input className="input" data-testid={`db-field-${key}`} {...control} {...extra} value={draft[key]} onChange={(e) => set(key, e.target.value)} onBlur={() => editor.touch(key)} />
  );
  const numeric = (key: NumberKey, placeholder: string) => text(key, { placeholder, inputMode: 'numeric' });
  const select = (key: TextKey, options: [string, string][]) => (control: object) => (
    <select className="input" {...control} value={draft[key]} onChange={(e) => set(key, e.target.value)} onBlur={() => editor.touch(key)}>
      {options.map(([value, label]) => (
        <option key={value} value={value}>
          {label}
        </option>
      ))}
    </select>
  );
  const idpOptions: [string, string][] = idps.map((n) => [n, n]);
  if (!idps.includes(draft.idp)) idpOptions.unshift([draft.idp, draft.idp === '' ? 'Choose an IdP' : draft.idp]);

  return (
    <EditorFrame title={previousName ? `Database ${previousName}` : 'New database'} editor={editor} onCancel={onCancel} testId="db-editor">
      <Field label="Name" hint="The table name, as in [db.prod]" errors={editor.errorsFor('name')}>
        {text('name')}
      </Field>
      <Field label="Identity provider" errors={editor.errorsFor('idp')}>
        {select('idp', idpOptions)}
      </Field>
      <Field label="Host" errors={editor.errorsFor('host')}>
        {text('host', { placeholder: 'db.example.com' })}
      </Field>
      <Field label="Port" errors={editor.errorsFor('port')}>
        {numeric('port', '5432')}
      </Field>
      <Field label="Database name" errors={editor.errorsFor('dbname')}>
        {text('dbname')}
      </Field>
      <Field label="Role" hint="The default role" errors={editor.errorsFor('role')}>
        {text('role')}
      </Field>
      <Field label="Other roles" hint="Roles a client may pick by user name" errors={editor.errorsFor('roles')} wide>
        {(control) => <ChipInput {...control} values={draft.roles} onChange={(v) => set('roles', v)} onBlur={() => editor.touch('roles')} placeholder="app_ro, app_rw" />}
      </Field>
      <Field label="Authentication" errors={editor.errorsFor('auth')}>
        {select('auth', [
          ['', 'Default (password)'],
          ['password', 'Token as password (PAM)'],
          ['oauthbearer', 'OAUTHBEARER (PostgreSQL 18)'],
        ])}
      </Field>
      <Field label="TLS mode" errors={editor.errorsFor('sslmode')}>
        {select('sslmode', [
          ['', 'Default (verify-full)'],
          ['verify-full', 'verify-full'],
          ['verify-ca', 'verify-ca'],
          ['require', 'require'],
        ])}
      </Field>
      <Field label="TLS negotiation" errors={editor.errorsFor('sslnegotiation')}>
        {select('sslnegotiation', [
          ['', 'Default (postgres)'],
          ['postgres', 'postgres'],
          ['direct', 'direct'],
        ])}
      </Field>
      <Field label="CA file" hint="Optional: a PEM file to trust" errors={editor.errorsFor('caFile')}>
        {text('caFile')}
      </Field>
      <Field label="Local port" hint="Optional: picked for you" errors={editor.errorsFor('localPort')}>
        {numeric('localPort', 'auto')}
      </Field>
      <Field label="Max connections" hint="Optional: 100 when empty" errors={editor.errorsFor('maxConnections')}>
        {numeric('maxConnections', '100')}
      </Field>
    </EditorFrame>
  );
}
