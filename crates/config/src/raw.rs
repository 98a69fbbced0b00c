//! The configuration as written: serde types that keep each value's place in the file.
//!
//! Every table refuses unknown keys, so a typo is an error rather than a silently ignored setting.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_spanned::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[idp.NAME]` tables.
    #[serde(default)]
    pub idp: BTreeMap<String, Spanned<RawIdp>>,
    /// `[db.NAME]` tables.
    #[serde(default)]
    pub db: BTreeMap<String, Spanned<RawDb>>,
}

/// One `[db.NAME]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDb {
    /// The `[idp.NAME]` whose tokens this database accepts.
    pub idp: Spanned<String>,
    /// Upstream server host name (checked against its certificate).
    pub host: Spanned<String>,
    /// Upstream server port.
    pub port: Option<Spanned<i64>>,
    /// Default database.
    pub dbname: Spanned<String>,
    /// Default role (a fixed name, or a `{claim}` template as `user`).
    pub role: Option<Spanned<String>>,
    /// The database user: a fixed name, or the person's own from a claim (`"{email}"`).
    pub user: Option<Spanned<String>>,
    /// Managed cloud: `azure`, `gcp`, `aws` or `none` (default).
    pub cloud: Option<Spanned<String>>,
    /// The name the server's certificate must carry, when it is not `host` (Cloud SQL).
    pub server_name: Option<Spanned<String>>,
    /// `cloud = "aws"`: the IAM role STS gives credentials for.
    pub aws_role_arn: Option<Spanned<String>>,
    /// `cloud = "aws"`: the database's region.
    pub aws_region: Option<Spanned<String>>,
    /// `cloud = "aws"`: STS, when not the region's public endpoint.
    pub aws_sts_endpoint: Option<Spanned<String>>,
    /// Roles a client may pick by its user name.
    pub roles: Option<Spanned<Vec<String>>>,
    /// How the token is presented: `password` or `oauthbearer`.
    pub auth: Option<Spanned<String>>,
    /// `verify-full`, `verify-ca` or `require`.
    pub sslmode: Option<Spanned<String>>,
    /// `postgres` (SSLRequest first) or `direct` (TLS at once, PostgreSQL 17+).
    pub sslnegotiation: Option<Spanned<String>>,
    /// PEM trust roots for the server's certificate (or the certificate itself).
    pub ca_file: Option<Spanned<String>>,
    /// Trust the system roots as well as `ca_file`.
    pub ca_file_add: Option<Spanned<bool>>,
    /// Stable loopback port.
    pub local_port: Option<Spanned<i64>>,
    /// Most client connections at once.
    pub max_connections: Option<Spanned<i64>>,
    /// Who may use the forwarder: `same-user` or `any`.
    pub local_access: Option<Spanned<String>>,
    /// Whether clients must give a local password (SCRAM) written to ~/.pgpass.
    pub local_password: Option<Spanned<bool>>,
    /// Whether the forwarder also listens on a Unix-domain socket (default true).
    pub unix_socket: Option<Spanned<bool>>,
    /// How long relayed sessions live: `token` (default) or `none`.
    pub session_limit: Option<Spanned<String>>,
    /// Time after the token's expiry before a session closes, e.g. `5m`.
    pub session_grace: Option<Spanned<String>>,
    /// The audience of this database's token, when it is not the IdP's (RFC 8707 `resource`).
    pub audience: Option<Spanned<String>>,
    /// The scopes of this database's token, when they are not the IdP's.
    pub scopes: Option<Spanned<Vec<String>>>,
}

/// One `[idp.NAME]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIdp {
    /// Preset: `entra`, `google`, `okta`, `auth0`, `keycloak` or `generic` (default).
    pub provider: Option<Spanned<String>>,
    /// Entra ID tenant (name or id), from which the issuer is made.
    pub tenant: Option<Spanned<String>>,
    /// OIDC issuer URL; discovery is at `<issuer>/.well-known/openid-configuration`.
    pub issuer: Option<Spanned<String>>,
    /// An installed app's client secret, for IdPs that require one (Google); not a secret.
    pub client_secret: Option<Spanned<String>>,
    /// OAuth client id registered for Tapgate at the IdP.
    pub client_id: Spanned<String>,
    /// How the person signs in: `browser`, `device` or `passkey`.
    pub flow: Option<Spanned<String>>,
    /// Login hint: required for `passkey` (the IdP lists this user's keys), optional for `browser`.
    pub username: Option<Spanned<String>>,
    /// Passkey sign-in API of the IdP (`auth0` or `okta`); only for `flow = "passkey"`.
    pub dialect: Option<Spanned<String>>,
    /// `usb` or `soft:/path/to/key-file`.
    pub authenticator: Option<Spanned<String>>,
    /// WebAuthn origin to assert; defaults to the issuer's origin.
    pub rp_origin: Option<Spanned<String>>,
    /// Audience to request for the access token.
    pub audience: Option<Spanned<String>>,
    /// OAuth scopes to request.
    pub scopes: Option<Spanned<Vec<String>>>,
    /// Extra PEM trust root for the IdP's TLS certificate.
    pub ca_file: Option<Spanned<String>>,
    /// Which token goes to the database: `access` or `id`.
    pub token: Option<Spanned<String>>,
    /// Loopback port of the browser sign-in's redirect; 0 picks a free one each time.
    pub redirect_port: Option<Spanned<i64>>,
}
