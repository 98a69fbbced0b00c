//! The window's icons as inline SVG, drawn in the text colour (`currentColor`) and sized by CSS
//! (`.icon`, 1em unless a rule says otherwise). Symbol glyphs in text (U+29C9 for copy, U+2713
//! for a tick) need a font that a minimal Linux desktop may not have, and render there as empty
//! boxes; these draw the same everywhere. Decorative only: the element around each one carries
//! the label.

import type { ReactNode } from 'react';

function Icon({ className, children }: { className?: string; children: ReactNode }) {
  return (
    <svg
      className={`icon${className ? ` ${className}` : ''}`}
      viewBox="0 0 16 16"
      fill="none"
      stroke="currentColor"
      strokeWidth={1.6}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      {children}
    </svg>
  );
}

/** Two overlapping sheets: copy to the clipboard. */
export function CopyIcon({ className }: { className?: string }) {
  return (
    <Icon className={className}>
      <rect x="5.5" y="5.5" width="8.5" height="8.5" rx="1.5" />
      <path d="M10.5 5.5V3.5A1.5 1.5 0 0 0 9 2H3.5A1.5 1.5 0 0 0 2 3.5V9a1.5 1.5 0 0 0 1.5 1.5h2" />
    </Icon>
  );
}

/** A tick: done, copied. */
export function CheckIcon({ className }: { className?: string }) {
  return (
    <Icon className={className}>
      <path d="M3 8.5 6.5 12 13 4.5" />
    </Icon>
  );
}

/** A cross: remove, dismiss. */
export function CloseIcon({ className }: { className?: string }) {
  return (
    <Icon className={className}>
      <path d="M4 4l8 8M12 4l-8 8" />
    </Icon>
  );
}
