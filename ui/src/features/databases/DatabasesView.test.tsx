import { act, fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';

import { App } from '../../app/App';
import { INFO_NOTICE_MS } from '../notices/Toasts';
import { commandError, deferred, fakeBackend } from '../../test/backend';
import { database, idp, overview } from '../../test/fixtures';
import { renderApp } from '../../test/render';

/** Symbol glyphs (arrows, maths, technical, shapes, dingbats such as U+29C9 and U+2713, emoji):
 * without a symbol font, as on a bare Debian desktop, they render as empty boxes. */
const SYMBOL_GLYPH = /[\u00D7\u2190-\u2BFF\u{1F000}-\u{1FAFF}]/u;

/** The element draws its icon as an inline SVG hidden from screen readers, and no glyph. */
function expectSvgIconNoGlyph(element: HTMLElement) {
  const svg = element.querySelector('svg');
  expect(svg, element.outerHTML).not.toBeNull();
  expect(svg).toHaveAttribute('aria-hidden', 'true');
  expect(svg).toHaveAttribute('stroke', 'currentColor');
  expect(element.textContent).not.toMatch(SYMBOL_GLYPH);
}

describe('Databases view', () => {
  test('shows a card per database with its state, address, roles and connections', async () => {
    await renderApp(
      {},
      overview({
        databases: [
          database({ name: 'prod', listening: true, openConnections: 3 }),
          database({ name: 'staging', localPort: null, connectionStrings: null, lastError: 'The server refused role app_ro: ask a DBA to grant it.' }),
        ],
      }),
    );

    const prod = screen.getByTestId('db-card-prod');
    expect(within(prod).getByTestId('db-status-prod')).toHaveTextContent('listening');
    expect(within(prod).getByTestId('local-address-prod')).toHaveTextContent('127.0.0.1:54321');
    expect(within(prod).getByTestId('open-connections-prod')).toHaveTextContent(/^3$/);
    expect(prod).toHaveTextContent('db.example.com:5432/app');
    expect(prod).toHaveTextContent('app_ro');
    expect(prod).toHaveTextContent('also app_rw');
    expect(within(prod).getByTestId('disconnect-prod')).toBeEnabled();

    const staging = screen.getByTestId('db-card-staging');
    expect(within(staging).getByTestId('db-status-staging')).toHaveTextContent('stopped');
    expect(within(staging).queryByTestId('local-address-staging')).not.toBeInTheDocument();
    expect(within(staging).getByTestId('db-error-staging')).toHaveTextContent('ask a DBA to grant it');
    expect(within(staging).getByTestId('connect-staging')).toBeEnabled();
  });

  test('offers Open psql only where a terminal emulator was found', async () => {
    await renderApp({}, overview({ terminalAvailable: false }));
    const button = screen.getByTestId('open-psql-prod');
    expect(button).toBeDisabled();
    expect(button).toHaveAttribute('title', expect.stringContaining('copy the psql command'));
  });

  test('shows each IdP with identity, groups and the time its token has left', async () => {
    await renderApp({}, overview({ idps: [idp(), idp({ name: 'partner', signedIn: false, identity: null, expiresAtMs: null, groups: [] })] }));

    const corp = screen.getByTestId('idp-row-corp');
    expect(corp).toHaveTextContent('alice@example.com');
    expect(corp).toHaveTextContent('dba');
    expect(screen.getByTestId('countdown-corp').textContent).toMatch(/^12:4[01] left$/);
    expect(screen.getByTestId('sign-out-corp')).toBeInTheDocument();
    expect(screen.getByTestId('countdown-partner')).toHaveTextContent('signed out');
    // The header names who is signed in.
    expect(screen.getByRole('banner')).toHaveTextContent('alice@example.com');
  });

  test('Sign in asks Rust to sign in to that IdP', async () => {
    const { backend, user } = await renderApp(
      { sign_in: () => null },
      overview({ idps: [idp({ signedIn: false, identity: null, expiresAtMs: null })] }),
    );
    await user.click(screen.getByTestId('sign-in-corp'));
    expect(backend.callsTo('sign_in')).toEqual([{ idp: 'corp' }]);
  });

  test('an overview event replaces what the cards show', async () => {
    const { backend } = await renderApp();
    expect(screen.getByTestId('db-status-prod')).toHaveTextContent('stopped');

    await act(() => backend.emit({ kind: 'overview', overview: overview({ databases: [database({ listening: true, openConnections: 2 })] }) }));

    expect(screen.getByTestId('db-status-prod')).toHaveTextContent('listening');
    expect(screen.getByTestId('open-connections-prod')).toHaveTextContent('2');
  });

  test('Connect invokes connect for the database and is busy until it answers', async () => {
    const answer = deferred<unknown>();
    const { backend, user } = await renderApp({ connect: () => answer.promise });

    await user.click(screen.getByTestId('connect-prod'));

    expect(backend.callsTo('connect')).toEqual([{ database: 'prod' }]);
    const button = screen.getByTestId('connect-prod');
    expect(button).toBeDisabled();
    expect(button).toHaveTextContent('Connecting…');

    await act(async () => answer.resolve(database({ listening: true })));
    expect(await screen.findByTestId('disconnect-prod')).toBeEnabled();
    expect(screen.getByTestId('db-status-prod')).toHaveTextContent('listening');
  });

  test('a failed connect shows why on the card', async () => {
    const { user } = await renderApp({
      connect: () => {
        throw commandError('db.example.com:5432 did not answer: check the VPN.');
      },
    });
    await user.click(screen.getByTestId('connect-prod'));
    expect(await screen.findByTestId('db-error-prod')).toHaveTextContent('check the VPN');
    expect(screen.getByTestId('connect-prod')).toBeEnabled();
  });

  test('Disconnect and Open psql invoke their commands', async () => {
    const { backend, user } = await renderApp(
      { disconnect: () => null, open_psql: () => null },
      overview({ databases: [database({ listening: true })] }),
    );
    await user.click(screen.getByTestId('disconnect-prod'));
    await user.click(screen.getByRole('button', { name: 'Open psql' }));
    expect(backend.callsTo('disconnect')).toEqual([{ database: 'prod' }]);
    expect(backend.callsTo('open_psql')).toEqual([{ database: 'prod' }]);
  });

  test('a copy button copies that format and confirms', async () => {
    const { backend, user } = await renderApp({ copy_connection_string: () => 'jdbc:postgresql://127.0.0.1:54321/app' });

    await user.click(screen.getByTestId('copy-jdbc-prod'));

    expect(backend.callsTo('copy_connection_string')).toEqual([{ database: 'prod', format: 'jdbc' }]);
    expect(await screen.findByTestId('copy-jdbc-prod')).toHaveTextContent('Copied');
    expect(screen.getByTestId('copy-uri-prod')).toHaveTextContent('URI');
    for (const format of ['uri', 'keyword', 'psql']) expect(screen.getByTestId(`copy-${format}-prod`)).toBeInTheDocument();
  });

  test('copy buttons draw SVG icons, not font glyphs that need a symbol font', async () => {
    const { user } = await renderApp({ copy_connection_string: () => 'postgresql://127.0.0.1:54321/app' });
    const buttons = screen.getAllByTestId(/^copy-.*-prod$/);
    expect(buttons.length).toBeGreaterThanOrEqual(4);
    for (const button of buttons) {
      expectSvgIconNoGlyph(button);
      expect(button.textContent).not.toContain('\u29C9');
    }
    // The label stays the button's accessible name; the icon adds nothing to it.
    expect(screen.getByRole('button', { name: 'Copy URI connection string' })).toBe(screen.getByTestId('copy-uri-prod'));

    // Copied: the tick is an SVG too.
    await user.click(screen.getByTestId('copy-uri-prod'));
    const copied = await screen.findByRole('button', { name: 'URI copied' });
    expect(copied).toHaveTextContent(/^Copied$/);
    expectSvgIconNoGlyph(copied);
    expect(screen.getByTestId('db-card-prod').textContent).not.toMatch(SYMBOL_GLYPH);
  });
});

describe('First run', () => {
  test('unconfigured: the welcome offers the demo and shows its progress', async () => {
    // start_demo answers once the demo runs; meanwhile its steps arrive as events.
    const started = deferred<null>();
    const { backend, user } = await renderApp({ start_demo: () => started.promise }, overview({ mode: 'unconfigured', idps: [], databases: [] }));

    expect(screen.getByRole('heading', { name: 'Welcome to Tapgate' })).toBeInTheDocument();
    await user.click(screen.getByTestId('start-demo'));
    expect(backend.callsTo('start_demo')).toHaveLength(1);
    expect(screen.getByTestId('start-demo')).toBeDisabled();

    await act(() => backend.emit({ kind: 'demoProgress', step: { step: 'Starting PostgreSQL 18', detail: null, done: false } }));
    await act(() => backend.emit({ kind: 'demoProgress', step: { step: 'Starting PostgreSQL 18', detail: 'port 55432', done: true } }));
    await act(() => backend.emit({ kind: 'demoProgress', step: { step: 'Starting the sign-in server', detail: null, done: false } }));

    const steps = within(screen.getByRole('list', { name: 'Demo start-up' })).getAllByRole('listitem');
    expect(steps).toHaveLength(2);
    expect(steps[0]).toHaveTextContent('Starting PostgreSQL 18');
    expect(steps[0]).toHaveTextContent('port 55432');
    expectSvgIconNoGlyph(within(steps[0]!).getByRole('img', { name: 'done' }));
    expect(within(steps[1]!).getByRole('status', { name: 'in progress' })).toBeInTheDocument();

    await act(() => backend.emit({ kind: 'overview', overview: overview({ mode: 'demo' }) }));
    await act(async () => started.resolve(null));
    expect(screen.getByTestId('db-card-prod')).toBeInTheDocument();
    expect(screen.getByTestId('mode-badge')).toHaveTextContent('Demo');
  });

  test('unconfigured: "Set up your own" opens the settings', async () => {
    const { user } = await renderApp({ get_settings: () => ({ configPath: '/c.toml', idps: [], databases: [] }) }, overview({ mode: 'unconfigured', idps: [], databases: [] }));
    await user.click(screen.getByRole('button', { name: 'Set up your own' }));
    expect(await screen.findByTestId('settings-view')).toBeInTheDocument();
  });

  test('a demo that fails to start says why and can be tried again', async () => {
    const { user } = await renderApp(
      {
        start_demo: () => {
          throw commandError('PostgreSQL 18 did not start: port 55432 is in use.');
        },
      },
      overview({ mode: 'unconfigured', idps: [], databases: [] }),
    );
    await user.click(screen.getByTestId('start-demo'));
    expect(await screen.findByRole('alert')).toHaveTextContent('port 55432 is in use');
    expect(screen.getByTestId('start-demo')).toBeEnabled();
  });

  test('config error: shows the loader error and a way to settings', async () => {
    const { user } = await renderApp(
      { get_settings: () => ({ configPath: '/c.toml', idps: [], databases: [] }) },
      overview({ mode: 'configError', configError: 'config.toml:4: db.prod: unknown key `hots`', idps: [], databases: [] }),
    );
    expect(screen.getByText(/unknown key `hots`/)).toBeInTheDocument();
    expect(screen.getByTestId('mode-badge')).toHaveTextContent('Config error');
    await user.click(screen.getByRole('button', { name: 'Fix it in Settings' }));
    expect(await screen.findByTestId('settings-view')).toBeInTheDocument();
  });
});

describe('Window', () => {
  test('a navigate event shows the view it names, the sidebar too', async () => {
    const { backend, user } = await renderApp({ get_history: () => ({ rows: [], perDay: [] }), get_settings: () => ({ configPath: '/c.toml', idps: [], databases: [] }) });
    await act(() => backend.emit({ kind: 'navigate', view: 'history' }));
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('History');
    await user.click(screen.getByTestId('nav-settings'));
    expect(await screen.findByTestId('settings-view')).toBeInTheDocument();
    await user.click(screen.getByTestId('nav-databases'));
    expect(screen.getByTestId('db-card-prod')).toBeInTheDocument();
  });

  test('error notices stay until dismissed; info notices fade', async () => {
    const { backend } = await renderApp();
    vi.useFakeTimers();
    await act(() => backend.emit({ kind: 'notice', notice: { level: 'error', text: 'The keyring is locked.' } }));
    await act(() => backend.emit({ kind: 'notice', notice: { level: 'info', text: 'Signed in to corp' } }));
    expect(screen.getByRole('alert')).toHaveTextContent('The keyring is locked.');
    expect(screen.getByText('Signed in to corp')).toBeInTheDocument();

    act(() => vi.advanceTimersByTime(INFO_NOTICE_MS));
    expect(screen.queryByText('Signed in to corp')).not.toBeInTheDocument();
    expect(screen.getByText('The keyring is locked.')).toBeInTheDocument();

    expectSvgIconNoGlyph(screen.getByRole('button', { name: 'Dismiss' }));
    fireEvent.click(screen.getByRole('button', { name: 'Dismiss' }));
    expect(screen.queryByText('The keyring is locked.')).not.toBeInTheDocument();
  });

  test('when Rust does not answer, the window says so and can retry', async () => {
    let fail = true;
    fakeBackend({
      get_overview: () => {
        if (fail) throw commandError('Tapgate is still starting.');
        return overview();
      },
    });
    render(<App />);
    expect(await screen.findByText('Tapgate is still starting.')).toBeInTheDocument();
    fail = false;
    await userEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByTestId('db-card-prod')).toBeInTheDocument();
  });
});
