//! The sign-in prompt: shown on a `prompt` event, answered with `answer_prompt` (naming the
//! prompt's id, so a late click never answers the next ceremony), hidden on its `promptClosed`.

import { useEffect, useRef, useState, type FormEvent } from 'react';

import { api, toCommandError, type PromptAnswer, type PromptView } from '../../api';
import { useApp } from '../../app/AppContext';
import { Button } from '../shared';

/** A key being touched (or plugged in): a slow pulse on the key's touch pad. */
function KeyTouchIllustration({ insert }: { insert: boolean }) {
  return (
    <svg className={`touch-art${insert ? ' touch-art--insert' : ''}`} viewBox="0 0 120 120" width="120" height="120" aria-hidden="true">
      <circle cx="60" cy="44" r="18" className="touch-art__ring touch-art__ring--1" />
      <circle cx="60" cy="44" r="18" className="touch-art__ring touch-art__ring--2" />
      <g className="touch-art__key">
        <rect x="44" y="18" width="32" height="60" rx="10" className="glyph-body" />
        <rect x="51" y="78" width="18" height="16" rx="2" className="glyph-plug" />
        <circle cx="60" cy="44" r="8" className="glyph-touch" />
      </g>
      {insert && <path d="M50 110 h20" className="touch-art__port" />}
    </svg>
  );
}

/** A QR code from its modules (one string per row, `1` dark), drawn as one SVG path. */
function QrCode({ rows, label }: { rows: string[]; label: string }) {
  const quiet = 2;
  const size = rows.length + 2 * quiet;
  let d = '';
  rows.forEach((row, y) => {
    for (let x = 0; x < row.length; x++) if (row[x] === '1') d += `M${x + quiet} ${y + quiet}h1v1h-1z`;
  });
  return (
    <svg className="qr" data-testid="prompt-qr" viewBox={`0 0 ${size} ${size}`} width="168" height="168" role="img" aria-label={label} shapeRendering="crispEdges">
      <rect width={size} height={size} fill="#fff" />
      <path d={d} fill="#000" />
    </svg>
  );
}

function PromptBody({ prompt }: { prompt: PromptView }) {
  const { actions } = useApp();
  const [pin, setPin] = useState('');
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const pinRef = useRef<HTMLInputElement>(null);
  const approveRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (prompt.stage === 'pin') pinRef.current?.focus();
    if (prompt.stage === 'approve') approveRef.current?.focus();
  }, [prompt.stage]);

  const answer = async (a: PromptAnswer) => {
    setSent(true);
    setError(null);
    if (a.kind === 'cancel') actions.promptDismissed(prompt.id);
    try {
      await api.answerPrompt(prompt.id, a);
    } catch (reason) {
      if (a.kind !== 'cancel') {
        setError(toCommandError(reason).message);
        setSent(false);
      }
    }
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') void answer({ kind: 'cancel' });
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  const submitPin = (e: FormEvent) => {
    e.preventDefault();
    if (pin.length > 0) void answer({ kind: 'pin', pin });
  };

  // "Open again" may be pressed any number of times: it is not an answer that ends the prompt.
  const openAgain = async () => {
    setError(null);
    try {
      await api.answerPrompt(prompt.id, { kind: 'openAgain' });
    } catch (reason) {
      setError(toCommandError(reason).message);
    }
  };

  const inBrowser = prompt.stage === 'browser';
  const onDevice = prompt.stage === 'device';
  const keyKind = inBrowser ? 'Browser sign-in' : onDevice ? 'Sign-in on another device' : prompt.keyKind === 'soft' ? 'Software key (demo)' : 'Security key';
  const waitingForKey = prompt.stage === 'touch' || prompt.stage === 'insert';
  return (
    <div className="modal" role="dialog" aria-modal="true" aria-labelledby="prompt-message" data-testid="prompt">
      <div className="modal__kind">
        <span className="tag">{keyKind}</span>
        <span className="muted small">{prompt.username ? `${prompt.username} · ${prompt.idp}` : prompt.idp}</span>
      </div>
      {waitingForKey && <KeyTouchIllustration insert={prompt.stage === 'insert'} />}
      <h2 id="prompt-message" data-testid="prompt-message">
        {prompt.message}
      </h2>
      {prompt.reason && (
        <p className="muted" data-testid="prompt-reason">
          {prompt.reason}
        </p>
      )}
      {waitingForKey && <p className="small muted">{prompt.stage === 'insert' ? 'Plug in the key; Tapgate goes on by itself.' : 'The key blinks while it waits for your touch.'}</p>}

      {inBrowser && (
        <>
          <p className="small muted">The sign-in page of {prompt.idp} is open in your browser. Finish there; Tapgate goes on by itself.</p>
          {prompt.url && (
            <p className="small">
              <code className="prompt-url" data-testid="prompt-url">
                {prompt.url}
              </code>
            </p>
          )}
        </>
      )}

      {onDevice && (
        <>
          <p className="small muted">
            Open <code data-testid="prompt-url">{prompt.url}</code> on a phone or another computer (or scan the code), enter this code and sign in there. Tapgate goes on by itself.
          </p>
          {prompt.userCode && (
            <p className="device-code" data-testid="prompt-user-code">
              {prompt.userCode}
            </p>
          )}
          {prompt.qrRows && <QrCode rows={prompt.qrRows} label={`QR code of the sign-in page of ${prompt.idp}`} />}
        </>
      )}

      {prompt.stage === 'pin' && (
        <form className="pin-form" onSubmit={submitPin}>
          <label htmlFor="prompt-pin">PIN</label>
          <input
            id="prompt-pin"
            className="input"
            ref={pinRef}
            data-testid="prompt-pin"
            type="password"
            autoComplete="off"
            value={pin}
            onChange={(e) => setPin(e.target.value)}
            disabled={sent}
          />
          <Button data-testid="prompt-continue" type="submit" variant="primary" busy={sent} disabled={pin.length === 0}>
            Continue
          </Button>
        </form>
      )}

      {error && (
        <p className="inline-error" role="alert">
          {error}
        </p>
      )}

      <div className="modal__actions">
        <Button data-testid="prompt-cancel" variant="ghost" onClick={() => void answer({ kind: 'cancel' })}>
          Cancel
        </Button>
        {inBrowser && (
          <Button data-testid="prompt-open-again" variant="primary" onClick={() => void openAgain()}>
            Open again
          </Button>
        )}
        {prompt.stage === 'approve' && (
          <Button ref={approveRef} data-testid="prompt-approve" variant="primary" busy={sent} onClick={() => void answer({ kind: 'approve' })}>
            Approve
          </Button>
        )}
      </div>
    </div>
  );
}

export function SignInPrompt() {
  const { state } = useApp();
  const prompt = state.prompt;
  if (!prompt) return null;
  return (
    <div className="backdrop">
      {/* A new id or stage starts a fresh form (a wrong PIN asks again). */}
      <PromptBody key={`${prompt.id}:${prompt.stage}`} prompt={prompt} />
    </div>
  );
}
