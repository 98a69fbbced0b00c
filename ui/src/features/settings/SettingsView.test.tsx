import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, test } from 'vitest';

import type { SettingsChange } from '../../api';
import { commandError } from '../../test/backend';
import { overview, settings } from '../../test/fixtures';
import { renderApp } from '../../test/render';
import { sortErrors } from './fieldErrors';

async function openSettings(handlers: Parameters<typeof renderApp>[0] = {}, autostart = false) {
  const rendered = await renderApp({ get_settings: () => settings(), check_settings: () => [], ...handlers }, overview({ autostart }));
  await rendered.user.click(screen.getByTestId('nav-settings'));
  await screen.findByTestId('settings-idp-corp');
  return rendered;
}

describe('Settings view', () => {
  test('lists the IdPs and databases of the config file and names the file', async () => {
    await openSettings();
    const view = screen.getByTestId('settings-view');
    expect(view).toHaveTextContent('/home/alice/.config/tapgate/config.toml');
    expect(screen.getByTestId('settings-idp-corp')).toHaveTextContent('https://sso.example.com');
    expect(screen.getByTestId('settings-db-prod')).toHaveTextContent('app_ro@db.example.com:5432/app');
  });

  test('a rejected save puts each problem next to its field', async () => {
    const { backend, user } = await openSettings({
      save_settings: () => {
        throw commandError('2 problems in the settings; see the marked fields', [
          { table: 'db.prod', field: 'port', message: 'port must be between 1 and 65535' },
          { table: 'db.prod', field: 'local_port', message: 'local_port 5432 is taken by db.other' },
        ]);
      },
    });
    await user.click(screen.getByTestId('edit-db-prod'));
    const port = screen.getByLabelText('Port');
    await user.clear(port);
    await user.type(port, '70000');
    await user.click(screen.getByTestId('save-settings'));

    await waitFor(() => expect(screen.getByLabelText('Port')).toHaveAccessibleDescription('port must be between 1 and 65535'));
    expect(screen.getByLabelText('Local port')).toHaveAccessibleDescription(/local_port 5432 is taken by db.other/);
    expect(screen.getByLabelText('Host')).not.toHaveAccessibleDescription(/port/);
    expect(screen.getByLabelText('Port')).toBeInvalid();

    const change = backend.callsTo('save_settings')[0]!.change as SettingsChange;
    expect(change).toMatchObject({ kind: 'upsertDb', previous_name: 'prod', form: { name: 'prod', port: 70000, roles: ['app_rw'] } });
  });

  test('checks the form while typing and shows problems of the touched field', async () => {
    const { backend, user } = await openSettings({
      check_settings: ({ change }) => {
        const c = change as Extract<SettingsChange, { kind: 'upsertIdp' }>;
        return c.form.issuer.startsWith('https://') ? [] : [{ table: `idp.${c.form.name}`, field: 'issuer', message: 'issuer must be an https URL' }];
      },
    });
    await user.click(screen.getByTestId('edit-idp-corp'));
    const issuer = screen.getByLabelText('Issuer');
    await user.clear(issuer);
    await user.type(issuer, 'http://sso.example.com');
    await user.tab();

    await waitFor(() => expect(screen.getByLabelText('Issuer')).toHaveAccessibleDescription(/issuer must be an https URL/));
    const checks = backend.callsTo('check_settings');
    const checked = checks[checks.length - 1]!.change as SettingsChange;
    expect(checked).toMatchObject({ kind: 'upsertIdp', previous_name: 'corp', form: { name: 'corp', issuer: 'http://sso.example.com' } });
    // Nothing was saved.
    expect(backend.callsTo('save_settings')).toHaveLength(0);
  });

  test('adds a database and shows the saved settings', async () => {
    const saved = settings();
    saved.databases.push({ ...saved.databases[0]!, name: 'reports', host: 'reports.example.com', roles: ['analyst', 'auditor'] });
    const { backend, user } = await openSettings({ save_settings: () => saved });

    await user.click(screen.getByTestId('add-db'));
    const editor = screen.getByTestId('db-editor');
    await user.type(within(editor).getByLabelText('Name'), 'reports');
    await user.type(within(editor).getByLabelText('Host'), 'reports.example.com');
    await user.type(within(editor).getByLabelText('Database name'), 'app');
    await user.type(within(editor).getByLabelText('Role'), 'app_ro');
    await user.type(within(editor).getByLabelText('Other roles'), 'analyst, auditor{Enter}');
    await user.selectOptions(within(editor).getByLabelText('Authentication'), 'oauthbearer');
    await user.click(within(editor).getByTestId('save-settings'));

    expect(await screen.findByTestId('settings-db-reports')).toBeInTheDocument();
    expect(screen.queryByTestId('db-editor')).not.toBeInTheDocument();
    expect(backend.callsTo('save_settings')[0]!.change).toEqual({
      kind: 'upsertDb',
      previous_name: null,
      form: {
        name: 'reports',
        idp: 'corp',
        host: 'reports.example.com',
        port: null,
        dbname: 'app',
        role: 'app_ro',
        roles: ['analyst', 'auditor'],
        auth: 'oauthbearer',
        sslmode: null,
        sslnegotiation: null,
        caFile: null,
        localPort: null,
        maxConnections: null,
      },
    });
    expect(screen.getByRole('status')).toHaveTextContent('Database saved');
  });

  test('a port that is not a number is caught before saving', async () => {
    const { backend, user } = await openSettings();
    await user.click(screen.getByTestId('edit-db-prod'));
    await user.clear(screen.getByLabelText('Port'));
    await user.type(screen.getByLabelText('Port'), '54a');
    await user.click(screen.getByTestId('save-settings'));
    expect(screen.getByLabelText('Port')).toHaveAccessibleDescription('Enter a whole number');
    expect(backend.callsTo('save_settings')).toHaveLength(0);
  });

  test('removing an IdP asks first, and says why when it cannot', async () => {
    const { backend, user } = await openSettings({
      save_settings: () => {
        throw commandError('db.prod uses idp corp', [{ table: 'db.prod', field: 'idp', message: 'db.prod uses idp corp; remove or move it first' }]);
      },
    });
    await user.click(screen.getByRole('button', { name: 'Remove identity provider corp' }));
    await user.click(screen.getByTestId('confirm-remove-corp'));
    expect(backend.callsTo('save_settings')).toEqual([{ change: { kind: 'removeIdp', name: 'corp' } }]);
    expect(await screen.findByRole('alert')).toHaveTextContent('remove or move it first');
  });

  test('importing a team config shows what it added and replaced', async () => {
    const { backend, user } = await openSettings({
      import_config: () => ({ idpsAdded: ['partner'], idpsReplaced: [], dbsAdded: ['reports', 'billing'], dbsReplaced: ['prod'], needsUsername: ['partner'] }),
    });
    expect(screen.getByTestId('import-button')).toBeDisabled();
    await user.type(screen.getByTestId('import-path'), '/home/alice/team.toml');
    await user.click(screen.getByTestId('import-button'));

    expect(backend.callsTo('import_config')).toEqual([{ path: '/home/alice/team.toml' }]);
    const summary = await screen.findByText(/^Added IdP partner and databases reports, billing\. Replaced database prod\./);
    expect(summary).toHaveTextContent('Enter your user name for partner');
    // The lists are read again.
    await waitFor(() => expect(backend.callsTo('get_settings')).toHaveLength(2));
  });

  test('a team config that does not load says why', async () => {
    const { user } = await openSettings({
      import_config: () => {
        throw commandError('/home/alice/team.toml: nothing to import: a team config holds [idp.NAME] and [db.NAME] tables');
      },
    });
    await user.type(screen.getByTestId('import-path'), '/home/alice/team.toml');
    await user.click(screen.getByTestId('import-button'));
    expect(await screen.findByRole('alert')).toHaveTextContent('nothing to import');
  });

  test('Start at login starts from the overview and toggles through Rust', async () => {
    const { backend, user } = await openSettings({ set_autostart: ({ enabled }) => enabled }, true);
    const box = screen.getByTestId('autostart');
    expect(box).toBeChecked();

    await user.click(box);
    expect(backend.callsTo('set_autostart')).toEqual([{ enabled: false }]);
    await waitFor(() => expect(screen.getByTestId('autostart')).not.toBeChecked());

    await user.click(screen.getByTestId('autostart'));
    await waitFor(() => expect(screen.getByTestId('autostart')).toBeChecked());
    expect(backend.callsTo('set_autostart')).toEqual([{ enabled: false }, { enabled: true }]);
  });

  test('a refused autostart change goes back and says why', async () => {
    const { user } = await openSettings(
      {
        set_autostart: () => {
          throw commandError('Cannot write ~/.config/autostart: read-only file system.');
        },
      },
      false,
    );
    await user.click(screen.getByTestId('autostart'));
    expect(await screen.findByRole('alert')).toHaveTextContent('read-only file system');
    expect(screen.getByTestId('autostart')).not.toBeChecked();
  });
});

describe('sorting field errors', () => {
  test('errors of other tables are listed with their table, not on a field', () => {
    const sorted = sortErrors(
      [
        { table: 'idp.corp2', field: 'issuer', message: 'bad issuer' },
        { table: 'db.prod', field: 'idp', message: 'unknown idp corp' },
        { table: '', field: null, message: 'the file is not writable' },
      ],
      'idp',
      ['corp2', 'corp'],
      ['issuer'],
    );
    expect(sorted.byField('issuer')).toEqual(['bad issuer']);
    expect(sorted.general).toEqual(['db.prod: unknown idp corp', 'the file is not writable']);
  });
});
