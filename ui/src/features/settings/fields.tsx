//! Form fields for the settings: a label, the input, a hint, and the field's problems under it.

import { useId, useState, type KeyboardEvent, type ReactNode } from 'react';

import { CloseIcon } from '../icons';

interface FieldProps {
  label: string;
  hint?: ReactNode;
  errors?: string[];
  /** Renders the control, given the id and the aria props tying it to its label and errors. */
  children: (control: { id: string; 'aria-invalid'?: true; 'aria-describedby'?: string }) => ReactNode;
  wide?: boolean;
}

export function Field({ label, hint, errors = [], children, wide }: FieldProps) {
  const id = useId();
  const errorId = `${id}-errors`;
  const hintId = `${id}-hint`;
  const describedBy = [errors.length ? errorId : null, hint ? hintId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${wide ? ' field--wide' : ''}${errors.length ? ' field--invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': errors.length ? true : undefined, 'aria-describedby': describedBy })}
      {hint && (
        <span className="field__hint" id={hintId}>
          {hint}
        </span>
      )}
      {errors.length > 0 && (
        <ul className="field__errors" id={errorId}>
          {errors.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

interface ChipInputProps {
  id: string;
  values: string[];
  onChange: (values: string[]) => void;
  onBlur?: () => void;
  placeholder?: string;
  'aria-invalid'?: true;
  'aria-describedby'?: string;
}

/** A list of short names: type and press Enter or a comma; Backspace on empty removes the last. */
export function ChipInput({ id, values, onChange, onBlur, placeholder, ...aria }: ChipInputProps) {
  const [draft, setDraft] = useState('');

  const commit = (text: string) => {
    const added = text
      .split(/[,\s]+/)
      .map((s) => s.trim())
      .filter((s) => s && !values.includes(s));
    if (added.length) onChange([...values, ...added]);
    setDraft('');
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter' || e.key === ',') {
      e.preventDefault();
      commit(draft);
    } else if (e.key === 'Backspace' && draft === '' && values.length) {
      onChange(values.slice(0, -1));
    }
  };

  return (
    <div className="chip-input">
      {values.map((v) => (
        <span className="chip" key={v}>
          {v}
          <button type="button" className="chip__remove" aria-label={`Remove ${v}`} onClick={() => onChange(values.filter((x) => x !== v))}>
            <CloseIcon />
          </button>
        </span>
      ))}
      <input
        id={id}
        {...aria}
        value={draft}
        placeholder={values.length ? '' : placeholder}
        onChange={(e) => {
          const text = e.target.value;
          if (text.includes(',')) commit(text);
          else setDraft(text);
        }}
        onKeyDown={onKeyDown}
        onBlur={() => {
          commit(draft);
          onBlur?.();
        }}
      />
    </div>
  );
}
