//! The window's state, changed only by `UiEvent`s from Rust and a few local actions
//! (navigation, dismissing a notice, a command's own result).

import type { DatabaseView, DemoStep, NoticeLevel, Overview, PromptView, UiEvent, ViewName } from '../api';

export interface ShownNotice {
  id: number;
  level: NoticeLevel;
  text: string;
}

export interface AppState {
  overview: Overview | null;
  view: ViewName;
  prompt: PromptView | null;
  demoSteps: DemoStep[];
  notices: ShownNotice[];
  /** Bumped on each `historyChanged`, so a shown history view reloads. */
  historyVersion: number;
  nextNoticeId: number;
}

export const initialState: AppState = {
  overview: null,
  view: 'databases',
  prompt: null,
  demoSteps: [],
  notices: [],
  historyVersion: 0,
  nextNoticeId: 1,
};

export type Action =
  | { type: 'event'; event: UiEvent }
  | { type: 'navigate'; view: ViewName }
  | { type: 'notify'; level: NoticeLevel; text: string }
  | { type: 'dismissNotice'; id: number }
  | { type: 'databaseUpdated'; database: DatabaseView }
  | { type: 'promptDismissed'; id: number };

/** A step reported again (running, then done) replaces its earlier report. */
function mergeDemoStep(steps: DemoStep[], step: DemoStep): DemoStep[] {
  const index = steps.findIndex((s) => s.step === step.step);
  if (index === -1) return [...steps, step];
  return steps.map((s, i) => (i === index ? step : s));
}

function addNotice(state: AppState, level: NoticeLevel, text: string): AppState {
  // The same text twice in a row (a retry loop, say) shows once.
  const withoutDuplicate = state.notices.filter((n) => !(n.text === text && n.level === level));
  return {
    ...state,
    notices: [...withoutDuplicate, { id: state.nextNoticeId, level, text }].slice(-5),
    nextNoticeId: state.nextNoticeId + 1,
  };
}

function applyEvent(state: AppState, event: UiEvent): AppState {
  switch (event.kind) {
    case 'overview':
      return {
        ...state,
        overview: event.overview,
        // A fresh start of the demo begins with an empty progress list.
        demoSteps: event.overview.mode === 'unconfigured' ? [] : state.demoSteps,
      };
    case 'prompt':
      return { ...state, prompt: event.prompt };
    case 'promptClosed':
      return state.prompt?.id === event.id ? { ...state, prompt: null } : state;
    case 'historyChanged':
      return { ...state, historyVersion: state.historyVersion + 1 };
    case 'demoProgress':
      return { ...state, demoSteps: mergeDemoStep(state.demoSteps, event.step) };
    case 'notice':
      return addNotice(state, event.notice.level, event.notice.text);
    case 'navigate':
      return { ...state, view: event.view };
  }
}

export function reducer(state: AppState, action: Action): AppState {
  switch (action.type) {
    case 'event':
      return applyEvent(state, action.event);
    case 'navigate':
      return { ...state, view: action.view };
    case 'notify':
      return addNotice(state, action.level, action.text);
    case 'dismissNotice':
      return { ...state, notices: state.notices.filter((n) => n.id !== action.id) };
    case 'databaseUpdated': {
      if (!state.overview) return state;
      const databases = state.overview.databases.map((d) =>
        d.name === action.database.name ? action.database : d,
      );
      return { ...state, overview: { ...state.overview, databases } };
    }
    case 'promptDismissed':
      return state.prompt?.id === action.id ? { ...state, prompt: null } : state;
  }
}
