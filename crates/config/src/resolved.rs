//! Validated configuration types: what the rest of Tapgate works with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use url::Url;

use crate::ConfigError;
pub use crate::cloud::{AwsRds, Cloud, UserClaim, UserTemplate};
pub use crate::provider::{Provider, ProviderSettings};

/// Scopes requested when the file names none.
pub const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "groups", "offline_access"];

/// A loaded, validated configuration file.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from (for messages).
    pub path: PathBuf,
    /// IdPs by name.
    pub idps: BTreeMap<String, IdpConfig>,
    /// Databases by name.
    pub dbs: BTreeMap<String, DbConfig>,
}

/// One database reached through a loopback forwarder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbConfig {
    /// The table name, `prod` in `[db.prod]`.
    pub name: String,
    /// Name of the IdP whose tokens the server accepts (always one of [`Config::idps`]).
    pub idp: String,
    pub host: String,
    pub port: u16,
    pub dbname: String,
    /// Role used when the client's user name is not one of `roles`.
    pub role: String,
    /// Roles a client may choose by connecting with that user name (`role` is always allowed).
    pub roles: Vec<String>,
    pub auth: DbAuth,
    pub sslmode: SslMode,
    pub sslnegotiation: SslNegotiation,
    /// Trust roots for the server's certificate, instead of the system's (as libpq's
    /// `sslrootcert`); a server certificate in it is pinned.
    pub ca_file: Option<PathBuf>,
    /// The system roots are trusted too (`ca_file_add = true`).
    pub ca_file_add: bool,
    /// Fixed loopback port; `None` = chosen once and remembered.
    pub local_port: Option<u16>,
    pub max_connections: usize,
    /// Who may connect to the forwarder (`local_access`).
    pub local_access: LocalAccess,
    /// Whether the forwarder also listens on `.s.PGSQL.PORT` in the person's runtime folder
    /// (`unix_socket`, default true where there are Unix-domain sockets).
    pub unix_socket: bool,
    /// How long relayed sessions live (`session_limit`, `session_grace`).
    pub session_limit: SessionLimit,
    /// Clients must pass SCRAM-SHA-256 with a local password (`local_password`, default false).
    pub local_password: bool,
    /// The token this database takes, when it is not the IdP's own (`audience`, `scopes`,
    /// or what its `cloud` needs).
    pub token_target: Option<TokenTarget>,
    /// The person's own database user (`user = "{email}"`); `role` then holds the template
    /// as written.
    pub user_template: Option<UserTemplate>,
    /// The managed cloud serving it, which decides the password.
    pub cloud: Cloud,
    /// The name the server certificate must carry instead of `host` (`server_name`).
    pub server_name: Option<String>,
}

/// What a database's token is asked for, beyond the IdP's defaults: a token for a test cluster
/// is then refused by production, whose audience differs. Obtained with the IdP session's
/// refresh token (one tap serves every database), and cached per IdP and target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenTarget {
    /// `audience` (and RFC 8707 `resource` when it is an absolute URI); `None`: the IdP's.
    pub audience: Option<String>,
    /// `scope`; empty: the IdP's.
    pub scopes: Vec<String>,
    /// Which token the database gets, when not the IdP's `token` (Cloud SQL: the access token).
    pub token: Option<TokenChoice>,
}

impl TokenTarget {
    /// A stable name for the cache: the same target always gives the same key.
    pub fn cache_key(&self) -> String {
        let mut key = String::new();
        if let Some(audience) = &self.audience {
            key.push_str("aud=");
            key.push_str(audience);
        }
        if !self.scopes.is_empty() {
            if !key.is_empty() {
                key.push(' ');
            }
            key.push_str("scope=");
            key.push_str(&self.scopes.join(","));
        }
        if let Some(token) = self.token {
            if !key.is_empty() {
                key.push(' ');
            }
            key.push_str("token=");
            key.push_str(token.as_str());
        }
        key
    }

    /// Words for messages: `audience postgres-test`, `scopes a b`.
    pub fn describe(&self) -> String {
        match (&self.audience, self.scopes.is_empty()) {
            (Some(audience), true) => format!("audience {audience}"),
            (None, true) => format!("the {} token", self.token.unwrap_or_default().as_str()),
            (None, false) => format!("scopes {}", self.scopes.join(" ")),
            (Some(audience), false) => format!("audience {audience} with scopes {}", self.scopes.join(" ")),
        }
    }
}

/// How long a session through the forwarder may live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionLimit {
    /// Until the token's expiry plus `grace`, unless the sign-in is renewed meanwhile.
    Token { grace: std::time::Duration },
    /// Until a side closes it.
    None,
}

/// `session_grace` when not set.
pub const DEFAULT_SESSION_GRACE: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// Who may use a database's forwarder on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LocalAccess {
    /// Only the programs of the user running Tapgate (checked per connection).
    #[default]
    SameUser,
    /// Every user and program on the machine: each is logged in as the person.
    Any,
}

/// How the forwarder presents the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbAuth {
    /// As the password (cleartext auth inside TLS): managed clouds, PAM.
    Password,
    /// SASL OAUTHBEARER (PostgreSQL 18 native OAuth).
    OAuthBearer,
}

/// How much of the server's certificate is checked. There is no plaintext mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Chain and host name (default).
    VerifyFull,
    /// Chain only.
    VerifyCa,
    /// Encrypted, not verified (weak: an active attacker can read the token).
    Require,
}

/// How TLS starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslNegotiation {
    /// SSLRequest, then TLS (every PostgreSQL).
    Postgres,
    /// TLS right away with ALPN `postgresql` (PostgreSQL 17+).
    Direct,
}

/// Connections per database when the file does not say.
pub const DEFAULT_MAX_CONNECTIONS: usize = 100;

impl DbConfig {
    /// Every role a client may ask for, the default first.
    pub fn allowed_roles(&self) -> Vec<String> {
        let mut all = vec![self.role.clone()];
        all.extend(self.roles.iter().filter(|r| **r != self.role).cloned());
        all
    }
}

/// One identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpConfig {
    /// The table name, `corp` in `[idp.corp]`.
    pub name: String,
    /// OIDC issuer, exactly as written (Auth0 issuers end in `/`, the dev IdP's do not).
    pub issuer: String,
    /// OAuth client id.
    pub client_id: String,
    /// Login hint. Always present for [`Flow::Passkey`] (security keys hold non-discoverable
    /// credentials, so the IdP must know who); optional for the browser (`login_hint`).
    pub username: Option<String>,
    /// How the person signs in.
    pub flow: Flow,
    /// Which key signs the WebAuthn assertion.
    pub authenticator: AuthenticatorChoice,
    /// WebAuthn origin put in clientDataJSON; an https origin with a domain name.
    pub rp_origin: Url,
    /// Audience to ask for, if any.
    pub audience: Option<String>,
    /// Scopes to ask for.
    pub scopes: Vec<String>,
    /// Extra trust root (PEM) for the IdP's TLS certificate, on top of the system roots.
    pub ca_file: Option<PathBuf>,
    /// Which of the IdP's tokens is presented to the database.
    pub token: TokenChoice,
    /// Loopback port the browser sign-in's redirect comes back to; 0: a free one each time.
    pub redirect_port: u16,
    /// The `provider` preset and what it adds (`client_secret`, authorization parameters).
    pub provider: ProviderSettings,
}

/// How the person signs in at the IdP (`flow` in `[idp.NAME]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// OAuth 2.0 for Native Apps (RFC 8252): the IdP's own sign-in page in the system browser,
    /// authorization code + PKCE, the redirect caught on a loopback port.
    Browser,
    /// OAuth 2.0 Device Authorization Grant (RFC 8628): a code typed on another device.
    Device,
    /// A security-key tap inside Tapgate, through the IdP's passkey API in this dialect.
    Passkey(Dialect),
}

impl Flow {
    /// The name used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Browser => "browser",
            Flow::Device => "device",
            Flow::Passkey(_) => "passkey",
        }
    }
}

/// Which token goes to the database (`token` in `[idp.NAME]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TokenChoice {
    /// The OAuth access token (for the audience asked for): what resource servers are meant to take.
    #[default]
    Access,
    /// The OIDC ID token: for IdPs whose access tokens are opaque or not for our audience (Google).
    Id,
}

impl TokenChoice {
    /// The name used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenChoice::Access => "access",
            TokenChoice::Id => "id",
        }
    }
}

/// The passkey sign-in API an IdP speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Auth0 Native Passkeys: `POST /passkey/challenge`, then the webauthn grant at `/oauth/token`.
    Auth0,
    /// Okta Direct Authentication with WebAuthn: `POST .../v1/primary-authenticate` (derived
    /// from the token endpoint), then the webauthn grant with the assertion as flat form fields.
    Okta,
}

/// Which authenticator signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthenticatorChoice {
    /// A FIDO2 security key over USB (CTAP2 over HID).
    Usb,
    /// A software key persisted in a file (demos and tests).
    Soft(PathBuf),
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ConfigError::NotFound { path: path.to_path_buf() }
            } else {
                ConfigError::Read { path: path.to_path_buf(), source }
            }
        })?;
        crate::validate::parse(path, &text)
    }

    /// The database called `name`.
    pub fn db(&self, name: &str) -> Result<&DbConfig, ConfigError> {
        self.dbs.get(name).ok_or_else(|| ConfigError::UnknownDb {
            name: name.to_string(),
            path: self.path.clone(),
            known: self.dbs.keys().cloned().collect(),
        })
    }

    /// The IdP called `name`, or the only one when `name` is `None`.
    pub fn idp(&self, name: Option<&str>) -> Result<&IdpConfig, ConfigError> {
        match name {
            Some(name) => self.idps.get(name).ok_or_else(|| ConfigError::UnknownIdp {
                name: name.to_string(),
                path: self.path.clone(),
                known: self.idps.keys().cloned().collect(),
            }),
            None => {
                let mut all = self.idps.values();
                match (all.next(), all.next()) {
                    (Some(only), None) => Ok(only),
                    (None, _) => Err(ConfigError::NoIdps { path: self.path.clone() }),
                    _ => Err(ConfigError::AmbiguousIdp { known: self.idps.keys().cloned().collect() }),
                }
            }
        }
    }
}

impl AuthenticatorChoice {
    /// Short words for prompts: "security key" or "software key".
    pub fn describe(&self) -> &'static str {
        match self {
            AuthenticatorChoice::Usb => "security key",
            AuthenticatorChoice::Soft(_) => "software key",
        }
    }
}

impl Dialect {
    /// The name used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Auth0 => "auth0",
            Dialect::Okta => "okta",
        }
    }
}
