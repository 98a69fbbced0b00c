//! A stand-in for the Rust side: Tauri's own IPC mock answers the commands (recording each
//! call), and `emit` sends `UiEvent`s through Tauri's mocked event system, so the app's real
//! `api` module is exercised end to end.

import { emit } from '@tauri-apps/api/event';
import { mockIPC } from '@tauri-apps/api/mocks';

import { UI_EVENT, type CommandError, type UiEvent } from '../api';

export interface Call {
  cmd: string;
  args: Record<string, unknown>;
}

type Handler = (args: Record<string, unknown>) => unknown;

export interface FakeBackend {
  calls: Call[];
  callsTo: (cmd: string) => Record<string, unknown>[];
  /** Replace (or add) the answer to a command. */
  on: (cmd: string, handler: Handler) => void;
  emit: (event: UiEvent) => Promise<void>;
}

/** A rejection as Rust's commands send it. */
export function commandError(message: string, fieldErrors: CommandError['fieldErrors'] = []): CommandError {
  return { message, fieldErrors };
}

export function fakeBackend(handlers: Record<string, Handler>): FakeBackend {
  const calls: Call[] = [];
  const table = { ...handlers };
  mockIPC(
    (cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      const handler = table[cmd];
      if (!handler) throw commandError(`no fake for ${cmd}`);
      return handler(args);
    },
    { shouldMockEvents: true },
  );
  return {
    calls,
    callsTo: (cmd) => calls.filter((c) => c.cmd === cmd).map((c) => c.args),
    on: (cmd, handler) => {
      table[cmd] = handler;
    },
    emit: (event) => emit(UI_EVENT, event),
  };
}

/** A promise and the functions that settle it, to hold a command open. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
