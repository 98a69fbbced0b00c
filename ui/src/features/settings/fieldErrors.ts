//! Which of the settings' problems belong to which form field.

import type { FieldError } from '../../api';

/** `clientId`, `client_id` and `client-id` name the same field. */
export function sameField(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/[_-]/g, '').toLowerCase();
  return norm(a) === norm(b);
}

export interface SortedErrors {
  /** Errors of this form's table, by field. */
  byField: (field: string) => string[];
  /** This form's errors not tied to a field it shows, and errors of other tables. */
  general: string[];
}

/**
 * Splits `errors` for the form of `[kind.NAME]`: the table is the form's (new or previous)
 * name, and a field the form shows gets its errors next to it.
 */
export function sortErrors(errors: FieldError[], kind: 'idp' | 'db', names: (string | null)[], fields: string[]): SortedErrors {
  const tables = new Set(names.filter((n): n is string => n !== null).map((n) => `${kind}.${n.trim()}`));
  const mine = (e: FieldError) => tables.has(e.table) || e.table === `${kind}.`;
  const shownField = (e: FieldError) => e.field !== null && fields.some((f) => sameField(f, e.field ?? ''));
  return {
    byField: (field) => errors.filter((e) => mine(e) && e.field !== null && sameField(field, e.field)).map((e) => e.message),
    general: errors
      .filter((e) => !(mine(e) && shownField(e)))
      .map((e) => (e.table && !mine(e) ? `${e.table}: ${e.message}` : e.message)),
  };
}
