//! Add or edit an `[idp.NAME]` table.

import { useState } from 'react';

import type { IdpForm, SettingsView } from '../../api';
import { EditorFrame } from './EditorFrame';
import { ChipInput, Field } from './fields';
import { useEditor } from './useEditor';

const FIELDS = ['name', 'issuer', 'clientId', 'username', 'authenticator', 'rpOrigin', 'audience', 'scopes', 'caFile'];

interface Draft {
  /** Kept as it was: there is one sign-in API so far, nothing to choose. */
  dialect: string | null;
  name: string;
  issuer: string;
  clientId: string;
  username: string;
  keyType: 'usb' | 'soft';
  softPath: string;
  rpOrigin: string;
  audience: string;
  scopes: string[];
  caFile: string;
}

export const EMPTY_IDP: IdpForm = {
  name: '',
  issuer: '',
  clientId: 'tapgate',
  username: '',
  dialect: null,
  authenticator: 'usb',
  rpOrigin: null,
  audience: null,
  scopes: [],
  caFile: null,
};

function toDraft(form: IdpForm): Draft {
  const soft = form.authenticator.startsWith('soft:');
  return {
    dialect: form.dialect,
    name: form.name,
    issuer: form.issuer,
    clientId: form.clientId,
    username: form.username,
    keyType: soft ? 'soft' : 'usb',
    softPath: soft ? form.authenticator.slice('soft:'.length) : '',
    rpOrigin: form.rpOrigin ?? '',
    audience: form.audience ?? '',
    scopes: form.scopes,
    caFile: form.caFile ?? '',
  };
}

const optional = (s: string) => (s.trim() === '' ? null : s.trim());

function toForm(d: Draft): IdpForm {
  return {
    name: d.name.trim(),
    issuer: d.issuer.trim(),
    clientId: d.clientId.trim(),
    username: d.username.trim(),
    dialect: d.dialect,
    authenticator: d.keyType === 'usb' ? 'usb' : `soft:${d.softPath.trim()}`,
    rpOrigin: optional(d.rpOrigin),
    audience: optional(d.audience),
    scopes: d.scopes,
    caFile: optional(d.caFile),
  };
}

interface Props {
  initial: IdpForm;
  previousName: string | null;
  onSaved: (view: SettingsView) => void;
  onCancel: () => void;
}

export function IdpEditor({ initial, previousName, onSaved, onCancel }: Props) {
  const [draft, setDraft] = useState(() => toDraft(initial));
  const form = toForm(draft);
  const editor = useEditor({
    kind: 'idp',
    previousName,
    name: form.name,
    change: { kind: 'upsertIdp', form, previous_name: previousName },
    fields: FIELDS,
    localErrors: {},
    onSaved,
  });
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const text = (key: 'name' | 'issuer' | 'clientId' | 'username' | 'rpOrigin' | 'audience' | 'caFile', field: string = key) => (control: object) => (
    <input className="input" {...control} value={draft[key]} onChange={(e) => set(key, e.target.value)} onBlur={() => editor.touch(field)} />
  );

  return (
    <EditorFrame title={previousName ? `Identity provider ${previousName}` : 'New identity provider'} editor={editor} onCancel={onCancel} testId="idp-editor">
      <Field label="Name" hint="The table name, as in [idp.corp]" errors={editor.errorsFor('name')}>
        {text('name')}
      </Field>
      <Field label="Issuer" hint="https://sso.example.com/realms/corp" errors={editor.errorsFor('issuer')} wide>
        {text('issuer')}
      </Field>
      <Field label="Client ID" errors={editor.errorsFor('clientId')}>
        {text('clientId')}
      </Field>
      <Field label="Username" hint="Your account at the IdP" errors={editor.errorsFor('username')}>
        {text('username')}
      </Field>
      <Field label="Key" errors={editor.errorsFor('authenticator')}>
        {(control) => (
          <select
            className="input"
            {...control}
            value={draft.keyType}
            onChange={(e) => set('keyType', e.target.value === 'soft' ? 'soft' : 'usb')}
            onBlur={() => editor.touch('authenticator')}
          >
            <option value="usb">Security key (USB)</option>
            <option value="soft">Software key file</option>
          </select>
        )}
      </Field>
      {draft.keyType === 'soft' && (
        <Field label="Software key file" errors={[]}>
          {(control) => (
            <input
              className="input"
              {...control}
              placeholder="/path/to/key.json"
              value={draft.softPath}
              onChange={(e) => set('softPath', e.target.value)}
              onBlur={() => editor.touch('authenticator')}
            />
          )}
        </Field>
      )}
      <Field label="Relying party origin" hint="Optional: the issuer's origin when empty" errors={editor.errorsFor('rpOrigin')}>
        {text('rpOrigin')}
      </Field>
      <Field label="Audience" hint="Optional" errors={editor.errorsFor('audience')}>
        {text('audience')}
      </Field>
      <Field label="Scopes" hint="Empty: openid, profile, groups, offline_access" errors={editor.errorsFor('scopes')}>
        {(control) => <ChipInput {...control} values={draft.scopes} onChange={(v) => set('scopes', v)} onBlur={() => editor.touch('scopes')} placeholder="Type and press Enter" />}
      </Field>
      <Field label="CA file" hint="Optional: a PEM file to trust for the issuer" errors={editor.errorsFor('caFile')}>
        {text('caFile')}
      </Field>
    </EditorFrame>
  );
}
