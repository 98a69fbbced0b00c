//! The frame around an IdP or database form: title, problems not tied to a field, Save/Cancel.

import { useEffect, useRef, type FormEvent, type ReactNode } from 'react';

import { Button } from '../shared';
import type { Editor } from './useEditor';

interface Props {
  title: string;
  editor: Editor;
  onCancel: () => void;
  children: ReactNode;
  testId: string;
}

export function EditorFrame({ title, editor, onCancel, children, testId }: Props) {
  const form = useRef<HTMLFormElement>(null);
  useEffect(() => {
    // Bring the form into view and put the cursor in its first field.
    // At once, not smoothly: a click aimed at Save while the page still glides lands elsewhere.
    form.current?.scrollIntoView?.({ block: 'nearest' });
    form.current?.querySelector<HTMLInputElement>('input')?.focus({ preventScroll: true });
  }, []);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void editor.save();
  };
  const problems = editor.message ? [editor.message, ...editor.general] : editor.general;
  return (
    <form ref={form} className="editor" onSubmit={submit} data-testid={testId} aria-label={title} noValidate>
      <h3>{title}</h3>
      {problems.length > 0 && (
        <ul className="editor__problems" role="alert">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      <div className="editor__grid">{children}</div>
      <div className="editor__actions">
        <Button variant="ghost" onClick={onCancel}>
          Cancel
        </Button>
        <Button type="submit" variant="primary" busy={editor.saving} data-testid="save-settings">
          Save
        </Button>
      </div>
    </form>
  );
}
