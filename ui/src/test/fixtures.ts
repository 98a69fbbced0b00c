//! Sample state for tests: the shapes Rust sends.

import type { DatabaseView, HistoryPage, HistoryRow, IdpView, Overview, PromptView, SettingsView } from '../api';

export const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);

export function idp(over: Partial<IdpView> = {}): IdpView {
  return {
    name: 'corp',
    issuer: 'https://sso.example.com',
    username: 'alice',
    keyKind: 'usb',
    signedIn: true,
    identity: 'alice@example.com',
    groups: ['dba', 'dev'],
    expiresAtMs: Date.now() + 761_000,
    canRefresh: true,
    signingIn: false,
    lastError: null,
    ...over,
  };
}

export function database(over: Partial<DatabaseView> = {}): DatabaseView {
  const name = over.name ?? 'prod';
  return {
    name,
    idp: 'corp',
    upstream: 'db.example.com:5432',
    dbname: 'app',
    role: 'app_ro',
    roles: ['app_ro', 'app_rw'],
    auth: 'password',
    localPort: 54321,
    listening: false,
    openConnections: 0,
    lastError: null,
    connectionStrings: {
      uri: `postgresql://app_ro@127.0.0.1:54321/app?sslmode=disable`,
      keyword: 'host=127.0.0.1 port=54321 dbname=app user=app_ro sslmode=disable',
      jdbc: 'jdbc:postgresql://127.0.0.1:54321/app?user=app_ro&sslmode=disable',
      psql: 'psql "host=/run/user/1000/tapgate port=54321 dbname=app user=app_ro"',
      tcp: 'postgresql://app_ro@127.0.0.1:54321/app?sslmode=disable',
    },
    ...over,
  };
}

export function overview(over: Partial<Overview> = {}): Overview {
  return {
    mode: 'configured',
    configPath: '/home/alice/.config/tapgate/config.toml',
    configError: null,
    idps: [idp()],
    databases: [database()],
    autostart: false,
    terminalAvailable: true,
    ...over,
  };
}

export function prompt(over: Partial<PromptView> = {}): PromptView {
  return {
    id: 7,
    idp: 'corp',
    username: 'alice',
    keyKind: 'usb',
    stage: 'touch',
    message: 'Touch your security key for corp',
    reason: 'Connect prod',
    url: null,
    userCode: null,
    qrRows: null,
    ...over,
  };
}

export function historyRow(over: Partial<HistoryRow> = {}): HistoryRow {
  return {
    startedAtMs: NOW - 3_600_000,
    endedAtMs: NOW - 3_000_000,
    database: 'prod',
    role: 'app_ro',
    identity: 'alice@example.com',
    application: 'psql',
    durationMs: 600_000,
    bytesUp: 2_048,
    bytesDown: 1_500_000,
    outcome: 'ok',
    error: null,
    ...over,
  };
}

export function historyPage(rows: HistoryRow[]): HistoryPage {
  const perDay = Array.from({ length: 14 }, (_, i) => {
    const day = new Date(NOW - (13 - i) * 86_400_000).toISOString().slice(0, 10);
    return { day, connections: i === 13 ? rows.length : i % 3, failed: i === 13 ? rows.filter((r) => r.outcome !== 'ok').length : 0 };
  });
  return { rows, perDay };
}

export function settings(over: Partial<SettingsView> = {}): SettingsView {
  return {
    configPath: '/home/alice/.config/tapgate/config.toml',
    idps: [
      {
        name: 'corp',
        issuer: 'https://sso.example.com',
        clientId: 'tapgate',
        username: 'alice',
        dialect: null,
        authenticator: 'usb',
        rpOrigin: null,
        audience: null,
        scopes: [],
        caFile: null,
      },
    ],
    databases: [
      {
        name: 'prod',
        idp: 'corp',
        host: 'db.example.com',
        port: 5432,
        dbname: 'app',
        role: 'app_ro',
        roles: ['app_rw'],
        auth: null,
        sslmode: null,
        sslnegotiation: null,
        caFile: null,
        localPort: null,
        maxConnections: null,
      },
    ],
    ...over,
  };
}
