//! What the IdP and database editors share: live validation with `check_settings` (debounced),
//! saving with `save_settings`, and which problems to show where.

import { useEffect, useMemo, useRef, useState } from 'react';

import { api, toCommandError, type FieldError, type SettingsChange, type SettingsView } from '../../api';
import { sortErrors } from './fieldErrors';

/** How long typing pauses before the change is checked. */
export const CHECK_DEBOUNCE_MS = 300;

interface Options {
  kind: 'idp' | 'db';
  /** The table's name before this edit (`null` when adding). */
  previousName: string | null;
  /** The form's current name. */
  name: string;
  change: SettingsChange;
  /** The fields the form shows (errors for others are listed above the form). */
  fields: string[];
  /** Problems found in the browser (a port that is not a number), by field. */
  localErrors: Record<string, string>;
  onSaved: (view: SettingsView) => void;
}

export function useEditor({ kind, previousName, name, change, fields, localErrors, onSaved }: Options) {
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [saving, setSaving] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const generation = useRef(0);

  const key = JSON.stringify(change);
  useEffect(() => {
    const mine = ++generation.current;
    const timer = setTimeout(() => {
      api
        .checkSettings(change)
        .then((found) => {
          if (mine === generation.current) setErrors(found);
        })
        // A failed check is not news: saving reports the same problems.
        .catch(() => undefined);
    }, CHECK_DEBOUNCE_MS);
    return () => clearTimeout(timer);
    // `key` stands for `change`, which is a new object on every render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  const sorted = useMemo(() => sortErrors(errors, kind, [name, previousName], fields), [errors, kind, name, previousName, fields]);
  const visible = (field: string) => submitted || touched.has(field);

  const save = async () => {
    setSubmitted(true);
    setMessage(null);
    if (Object.keys(localErrors).length > 0) return;
    setSaving(true);
    generation.current++; // a check still on its way must not overwrite what saving says
    try {
      onSaved(await api.saveSettings(change));
    } catch (reason) {
      const e = toCommandError(reason);
      setErrors(e.fieldErrors);
      setMessage(e.fieldErrors.length ? null : e.message);
    } finally {
      setSaving(false);
    }
  };

  return {
    errorsFor: (field: string): string[] => {
      if (!visible(field)) return [];
      const local = localErrors[field];
      return local ? [local, ...sorted.byField(field)] : sorted.byField(field);
    },
    general: submitted || touched.size > 0 ? sorted.general : [],
    message,
    touch: (field: string) => setTouched((t) => (t.has(field) ? t : new Set(t).add(field))),
    save,
    saving,
  };
}

export type Editor = ReturnType<typeof useEditor>;
