//! Renders the whole window against a fake backend and waits until the first overview shows.

import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { expect } from 'vitest';

import type { Overview } from '../api';
import { App } from '../app/App';
import { fakeBackend, type FakeBackend } from './backend';
import { overview as sampleOverview } from './fixtures';

export async function renderApp(
  handlers: Parameters<typeof fakeBackend>[0] = {},
  initial: Overview = sampleOverview(),
  options: { userEvent?: Parameters<typeof userEvent.setup>[0] } = {},
): Promise<{ backend: FakeBackend; user: ReturnType<typeof userEvent.setup> }> {
  const backend = fakeBackend({ get_overview: () => initial, ...handlers });
  const user = userEvent.setup(options.userEvent);
  render(<App />);
  // The app subscribes to events first, then reads the overview: once it shows, events reach it.
  await waitFor(() => expect(screen.queryByText('Loading…')).not.toBeInTheDocument());
  return { backend, user };
}
