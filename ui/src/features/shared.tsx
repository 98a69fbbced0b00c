//! Small pieces the feature views share: a spinner, a busy button, a status dot.

import { forwardRef, type ButtonHTMLAttributes, type ReactNode } from 'react';

export function Spinner({ label }: { label?: string }) {
  return <span className="spinner" role={label ? 'status' : undefined} aria-label={label} />;
}

interface ButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  variant?: 'primary' | 'secondary' | 'ghost' | 'danger';
  size?: 'small' | 'normal' | 'large';
  busy?: boolean;
  children: ReactNode;
}

/** A button that shows a spinner and refuses clicks while its action runs. */
export const Button = forwardRef<HTMLButtonElement, ButtonProps>(function Button(
  { variant = 'secondary', size = 'normal', busy = false, className, disabled, children, ...rest },
  ref,
) {
  return (
    <button
      ref={ref}
      type="button"
      className={`btn btn--${variant} btn--${size}${className ? ` ${className}` : ''}`}
      disabled={disabled || busy}
      aria-busy={busy || undefined}
      {...rest}
    >
      {busy && <Spinner />}
      {children}
    </button>
  );
});

export function StatusDot({ state }: { state: 'on' | 'off' | 'busy' | 'error' }) {
  return <span className={`dot dot--${state}`} aria-hidden="true" />;
}
