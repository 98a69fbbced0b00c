//! Shares the window's state and its few local actions with the feature views.

import { createContext, useContext } from 'react';

import type { DatabaseView, NoticeLevel, ViewName } from '../api';
import type { AppState } from './state';

export interface AppActions {
  navigate: (view: ViewName) => void;
  notify: (level: NoticeLevel, text: string) => void;
  dismissNotice: (id: number) => void;
  /** A command returned a database's new state before the next overview event. */
  databaseUpdated: (database: DatabaseView) => void;
  /** The person cancelled the prompt: hide it without waiting for `promptClosed`. */
  promptDismissed: (id: number) => void;
}

export interface AppContextValue {
  state: AppState;
  actions: AppActions;
}

export const AppContext = createContext<AppContextValue | null>(null);

export function useApp(): AppContextValue {
  const value = useContext(AppContext);
  if (!value) throw new Error('useApp outside <AppContext.Provider>');
  return value;
}
