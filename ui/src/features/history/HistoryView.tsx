//! Past connections: a filter, a chart of connections per day, the table, and a CSV export.
//! Re-reads on each `historyChanged` event while shown.

import { useEffect, useMemo, useState } from 'react';

import { api, toCommandError, type HistoryFilter, type HistoryPage, type HistoryRow } from '../../api';
import { useApp } from '../../app/AppContext';
import { Button, Spinner } from '../shared';
import { DayChart } from './DayChart';
import { bytes, duration, when } from './format';

/** How long typing pauses before the filter is applied. */
export const FILTER_DEBOUNCE_MS = 250;

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

function outcomeClass(row: HistoryRow): string {
  if (row.outcome === 'ok') return 'outcome outcome--ok';
  if (row.outcome === 'open') return 'outcome outcome--open';
  return 'outcome outcome--failed';
}

export function HistoryView() {
  const { state } = useApp();
  const [text, setText] = useState('');
  const [database, setDatabase] = useState('');
  const [page, setPage] = useState<HistoryPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);

  const debouncedText = useDebounced(text, FILTER_DEBOUNCE_MS);
  const filter = useMemo<HistoryFilter>(
    () => ({
      text: debouncedText.trim() || null,
      database: database || null,
      limit: null,
      utcOffsetMinutes: -new Date().getTimezoneOffset(),
    }),
    [debouncedText, database],
  );

  useEffect(() => {
    let current = true;
    api
      .getHistory(filter)
      .then((p) => {
        if (current) {
          setPage(p);
          setError(null);
        }
      })
      .catch((reason) => current && setError(toCommandError(reason).message));
    return () => {
      current = false;
    };
  }, [filter, state.historyVersion]);

  const exportCsv = async () => {
    setExporting(true);
    setSaved(null);
    setError(null);
    try {
      setSaved(await api.exportHistoryCsv(filter));
    } catch (reason) {
      setError(toCommandError(reason).message);
    } finally {
      setExporting(false);
    }
  };

  const databases = state.overview?.databases.map((d) => d.name) ?? [];
  return (
    <div className="history">
      <div className="toolbar">
        <input
          type="search"
          className="input toolbar__search"
          placeholder="Filter by database, role, person, application, outcome…"
          aria-label="Filter history"
          data-testid="history-filter"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <select className="input" aria-label="Database" data-testid="history-database" value={database} onChange={(e) => setDatabase(e.target.value)}>
          <option value="">All databases</option>
          {databases.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
        <Button data-testid="export-csv" busy={exporting} onClick={exportCsv}>
          Export CSV
        </Button>
      </div>
      {saved && (
        <p className="saved" role="status">
          Saved to <span className="mono">{saved}</span>
        </p>
      )}
      {error && (
        <p className="card-error" role="alert">
          {error}
        </p>
      )}

      {page === null ? (
        !error && (
          <p className="empty">
            <Spinner /> Loading history…
          </p>
        )
      ) : (
        <>
          <DayChart days={page.perDay} />
          {page.rows.length === 0 ? (
            <p className="empty">{filter.text || filter.database ? 'No connections match the filter.' : 'No connections yet.'}</p>
          ) : (
            <div className="table-wrap">
              <table className="table" data-testid="history-table">
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Database</th>
                    <th scope="col">Role</th>
                    <th scope="col">Application</th>
                    <th scope="col" className="num">
                      Duration
                    </th>
                    <th scope="col" className="num">
                      Up / down
                    </th>
                    <th scope="col">Outcome</th>
                  </tr>
                </thead>
                <tbody>
                  {page.rows.map((row, i) => (
                    <tr key={`${row.startedAtMs}-${i}`} data-testid="history-row" title={row.identity ?? undefined}>
                      <td className="nowrap">{when(row.startedAtMs)}</td>
                      <td>{row.database}</td>
                      <td className="mono">{row.role}</td>
                      <td>{row.application ?? <span className="muted">—</span>}</td>
                      <td className="num nowrap">{duration(row.durationMs)}</td>
                      <td className="num nowrap">
                        {bytes(row.bytesUp)} / {bytes(row.bytesDown)}
                      </td>
                      <td>
                        <span className={outcomeClass(row)} title={row.error ?? undefined}>
                          {row.outcome}
                        </span>
                        {row.error && <div className="small muted row-error">{row.error}</div>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </div>
  );
}
