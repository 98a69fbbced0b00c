// oidc-provider (github.com/panva/node-oidc-provider) for crates/idp's tests: an IdP nobody
// here wrote. Serves HTTPS on 127.0.0.1 with the certificate the test made, and prints one JSON
// line {"issuer": ...} on stdout once it listens. Usage:
//   node server.js --cert cert.pem --key key.pem [--host localhost]
// Configured as issue 10 asks: a native public client `tapgate` (PKCE required; any loopback
// port, RFC 8252 §7.3), resource indicators giving JWT access tokens, refresh tokens,
// revocation and the device flow; its development sign-in pages (any login and password).
// Issue 13's Google shape: a confidential desktop client (GOOGLE_CLIENT) that sends its
// installed-app secret, gets a refresh token without offline_access (Google's access_type=offline)
// and, naming no resource, an opaque access token with an ID token carrying the email.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

// Google's Cloud SQL login scope, granted like an OIDC scope so it is in the opaque token.
const CLOUD_SQL_SCOPE = 'https://www.googleapis.com/auth/sqlservice.login';
// The Google-shaped desktop client (Google's ids and secrets look like these).
const GOOGLE_CLIENT = '1234-tapgate.apps.googleusercontent.com';
const GOOGLE_SECRET = 'GOCSPX-installed-app-not-secret';

const { values: args } = parseArgs({
  options: {
    cert: { type: 'string' },
    key: { type: 'string' },
    host: { type: 'string', default: 'localhost' },
  },
});
if (!args.cert || !args.key) {
  console.error('usage: node server.js --cert cert.pem --key key.pem [--host localhost]');
  process.exit(2);
}

// Bound first: the issuer names the port.
let handler = (_req, res) => { res.statusCode = 503; res.end(); };
const server = https.createServer(
  { cert: readFileSync(args.cert), key: readFileSync(args.key) },
  (req, res) => handler(req, res),
);
server.listen(0, '127.0.0.1', () => {
  const issuer = `https://${args.host}:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'tapgate',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: ['code'],
      },
      {
        // Another application at the same IdP, for tests of tokens meant for someone else.
        client_id: 'other-app',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
      {
        // Google's "Desktop app" OAuth client: its token endpoint requires the secret.
        client_id: GOOGLE_CLIENT,
        client_secret: GOOGLE_SECRET,
        application_type: 'native',
        token_endpoint_auth_method: 'client_secret_post',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups', CLOUD_SQL_SCOPE],
    // The ID token carries the claims of its scopes (email) even beside an opaque access
    // token, as Google's does; by default they would be at the userinfo endpoint only.
    conformIdTokenClaims: false,
    async issueRefreshToken(_ctx, client, code) {
      if (!client.grantTypeAllowed('refresh_token')) return false;
      // The Google-shaped client gets one without offline_access (Google's scope list has
      // none; it gives one for access_type=offline, which is not checked here); others as
      // oidc-provider's default.
      return client.clientId === GOOGLE_CLIENT || code.scopes.has('offline_access');
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username'],
      groups: ['groups'],
    },
    async findAccount(_ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub, email: sub, email_verified: true, preferred_username: sub, groups: ['dba', 'dev'] };
        },
      };
    },
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      // What Cloud SQL does with a token (tokeninfo): which scopes and whose it is.
      introspection: { enabled: true },
      deviceFlow: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // The audience is the resource indicator itself, as RFC 8707 means it.
        async getResourceServerInfo(_ctx, resourceIndicator) {
          return { audience: resourceIndicator, scope: 'db', accessTokenFormat: 'jwt' };
        },
      },
    },
    async extraTokenClaims(_ctx, token) {
      // The database side maps groups to roles: put them in the JWT access token.
      if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
      // email_verified too: verifiers that name people by email require it.
      return { email: token.accountId, email_verified: true, groups: ['dba', 'dev'] };
    },
    ttl: { AccessToken: 600, IdToken: 600 },
  });
  provider.proxy = false;
  handler = provider.callback();
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
