import { act, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, test } from 'vitest';

import type { HistoryFilter } from '../../api';
import { commandError } from '../../test/backend';
import { database, historyPage, historyRow, overview } from '../../test/fixtures';
import { renderApp } from '../../test/render';
import { bytes, duration } from './format';

const ROWS = [
  historyRow({ application: 'DBeaver', bytesDown: 1_500_000 }),
  historyRow({ database: 'staging', role: 'app_rw', outcome: 'refused', error: 'role app_rw is not allowed for alice', durationMs: 40, bytesUp: 310, bytesDown: 0 }),
];

async function openHistory(handlers: Parameters<typeof renderApp>[0] = {}) {
  const rendered = await renderApp(
    { get_history: () => historyPage(ROWS), ...handlers },
    overview({ databases: [database({ name: 'prod' }), database({ name: 'staging' })] }),
  );
  await rendered.user.click(screen.getByTestId('nav-history'));
  await screen.findByTestId('history-table');
  return rendered;
}

describe('History view', () => {
  test('shows a row per connection with sizes, durations and outcomes people can read', async () => {
    await openHistory();
    const rows = screen.getAllByTestId('history-row');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent('prod');
    expect(rows[0]).toHaveTextContent('DBeaver');
    expect(rows[0]).toHaveTextContent('10 min');
    expect(rows[0]).toHaveTextContent('2.0 kB / 1.5 MB');
    expect(within(rows[0]!).getByText('ok')).toHaveClass('outcome--ok');
    expect(rows[1]).toHaveTextContent('staging');
    expect(rows[1]).toHaveTextContent('40 ms');
    expect(within(rows[1]!).getByText('refused')).toHaveClass('outcome--failed');
    expect(rows[1]).toHaveTextContent('role app_rw is not allowed for alice');
  });

  test('the filter text and the database re-query history', async () => {
    const { backend, user } = await openHistory({
      get_history: ({ filter }) => historyPage((filter as HistoryFilter).text === 'refused' ? [ROWS[1]!] : ROWS),
    });

    await user.type(screen.getByTestId('history-filter'), 'refused');
    await waitFor(() => expect(screen.getAllByTestId('history-row')).toHaveLength(1));
    const filters = backend.callsTo('get_history').map((a) => a.filter as HistoryFilter);
    // Typing is debounced: one query for the whole word, not one per key.
    expect(filters.map((f) => f.text)).toEqual([null, 'refused']);
    expect(filters[1]!.utcOffsetMinutes).toBe(-new Date().getTimezoneOffset());

    await user.selectOptions(screen.getByRole('combobox', { name: 'Database' }), 'staging');
    await waitFor(() => expect(backend.callsTo('get_history')).toHaveLength(3));
    expect(backend.callsTo('get_history')[2]!.filter).toMatchObject({ text: 'refused', database: 'staging' });
  });

  test('Export CSV says where the file went', async () => {
    const { backend, user } = await openHistory({ export_history_csv: () => '/home/alice/Downloads/tapgate-history.csv' });
    await user.click(screen.getByTestId('export-csv'));
    expect(await screen.findByText('/home/alice/Downloads/tapgate-history.csv')).toBeInTheDocument();
    expect(screen.getByRole('status')).toHaveTextContent('Saved to /home/alice/Downloads/tapgate-history.csv');
    expect(backend.callsTo('export_history_csv')).toEqual([{ filter: expect.objectContaining({ text: null, database: null }) }]);
  });

  test('a failed export says why', async () => {
    const { user } = await openHistory({
      export_history_csv: () => {
        throw commandError('Cannot write ~/Downloads: permission denied.');
      },
    });
    await user.click(screen.getByTestId('export-csv'));
    expect(await screen.findByRole('alert')).toHaveTextContent('permission denied');
  });

  test('the chart has one labelled bar per day', async () => {
    await openHistory();
    const chart = screen.getByTestId('history-chart');
    const bars = within(chart).getAllByRole('img');
    expect(bars).toHaveLength(14);
    expect(bars[13]).toHaveAccessibleName(/: 2 connections, 1 failed$/);
    expect(chart).toHaveAccessibleName(/14 days/);
  });

  test('reloads when Rust says history changed', async () => {
    let rows = ROWS.slice(0, 1);
    const { backend } = await openHistory({ get_history: () => historyPage(rows) });
    expect(screen.getAllByTestId('history-row')).toHaveLength(1);

    rows = ROWS;
    await act(() => backend.emit({ kind: 'historyChanged' }));
    await waitFor(() => expect(screen.getAllByTestId('history-row')).toHaveLength(2));
  });

  test('reads sizes and durations like a person would', () => {
    expect(bytes(0)).toBe('0 B');
    expect(bytes(999)).toBe('999 B');
    expect(bytes(1_500)).toBe('1.5 kB');
    expect(bytes(12_300_000)).toBe('12 MB');
    expect(duration(null)).toBe('open');
    expect(duration(350)).toBe('350 ms');
    expect(duration(184_000)).toBe('3 min 4 s');
    expect(duration(3_720_000)).toBe('1 h 2 min');
  });
});
