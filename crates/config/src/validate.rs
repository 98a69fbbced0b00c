//! Raw -> resolved: checks every value and reports the first problem of each table with file, line
//! and key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_spanned::Spanned;
use url::{Host, Url};

use crate::ConfigError;
use crate::provider::PROVIDERS;
use crate::raw::{RawConfig, RawDb, RawIdp};
use crate::resolved::{
    AuthenticatorChoice, Config, DEFAULT_MAX_CONNECTIONS, DEFAULT_SESSION_GRACE, DbAuth, DbConfig, Flow,
    IdpConfig, LocalAccess, Provider, ProviderSettings, SessionLimit, SslMode, SslNegotiation, TokenChoice,
    TokenTarget,
};
use crate::sign_in::{self, RawSignInKeys};
use crate::toml_place::{line_of, place_error};

/// Parses and validates the text of the file at `path`; the first problem is the error.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    check(path, text).map_err(|(first, _rest)| first)
}

/// Parses and validates the text of the file at `path`, checking every table: each refused
/// table adds its first problem, IdPs then databases in name order, so the first error is the
/// one [`parse`] reports. The app's settings forms use this to mark every table at once.
///
/// A TOML syntax error, an unknown key or a missing key stops everything (serde reads the file
/// in one go), so that is a single error.
pub fn parse_all(path: &Path, text: &str) -> Result<Config, Vec<ConfigError>> {
    check(path, text).map_err(|(first, rest)| std::iter::once(first).chain(rest).collect())
}

/// The checks behind [`parse`] and [`parse_all`]; a refusal is its first error and the others.
fn check(path: &Path, text: &str) -> Result<Config, (ConfigError, Vec<ConfigError>)> {
    let checker = Checker { path, text };
    let raw: RawConfig = toml::from_str(text).map_err(|e| (checker.toml_error(&e), Vec::new()))?;
    let mut errors = Vec::new();
    // Databases are checked against every declared IdP, so an IdP refused for another reason
    // does not also make each of its databases "unknown".
    let idp_names: BTreeSet<String> = raw.idp.keys().cloned().collect();
    let mut idps = BTreeMap::new();
    for (name, table) in raw.idp {
        let at = table.span().start;
        match checker.name(&name, "idp", at).and_then(|()| checker.idp(&name, table.into_inner())) {
            Ok(idp) => {
                idps.insert(name, idp);
            }
            Err(e) => errors.push(e),
        }
    }
    let mut dbs = BTreeMap::new();
    for (name, table) in raw.db {
        let at = table.span().start;
        let checked = checker
            .name(&name, "db", at)
            .and_then(|()| checker.db(&name, table.into_inner(), &idp_names))
            .and_then(|db| checker.cloud_sql_scope(&db, idps.get(&db.idp), at).map(|()| db));
        match checked {
            Ok(db) => {
                dbs.insert(name, db);
            }
            Err(e) => errors.push(e),
        }
    }
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(Config { path: path.to_path_buf(), idps, dbs }),
        Some(first) => Err((first, errors.collect())),
    }
}

/// Whether `name` may name an `[idp.NAME]` or `[db.NAME]` table.
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub(crate) struct Checker<'a> {
    pub(crate) path: &'a Path,
    pub(crate) text: &'a str,
}

impl Checker<'_> {
    pub(crate) fn invalid(&self, offset: usize, key: String, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            line: line_of(self.text, offset),
            key,
            message: message.into(),
        }
    }

    /// Table names may use letters, digits, '-' and '_' only.
    fn name(&self, name: &str, kind: &str, at: usize) -> Result<(), ConfigError> {
        if is_valid_name(name) {
            Ok(())
        } else {
            Err(self.invalid(at, format!("{kind}.{name}"), "names may use letters, digits, '-' and '_' only"))
        }
    }

    /// A TOML or serde error, placed by line and key.
    fn toml_error(&self, error: &toml::de::Error) -> ConfigError {
        let (offset, key, message) = place_error(self.text, error);
        self.invalid(offset, key, message)
    }

    fn idp(&self, name: &str, raw: RawIdp) -> Result<IdpConfig, ConfigError> {
        let key = |k: &str| format!("idp.{name}.{k}");

        let table_at = raw.client_id.span().start;
        let provider = match &raw.provider {
            None => Provider::Generic,
            Some(p) => Provider::parse(p.get_ref().trim()).ok_or_else(|| {
                self.invalid(
                    p.span().start,
                    key("provider"),
                    format!("`{}` is not a provider; use one of {}", p.get_ref(), PROVIDERS.join(", ")),
                )
            })?,
        };
        let tenant = match &raw.tenant {
            None => None,
            Some(t) if provider != Provider::Entra => {
                return Err(self.invalid(
                    t.span().start,
                    key("tenant"),
                    "tenant is for provider = \"entra\"; other IdPs are named by their issuer",
                ));
            }
            Some(t) => {
                let tenant = self.non_empty(t, key("tenant"))?;
                // Entra's discovery names the issuer by the tenant id, whatever name found it, and
                // the issuer is checked exactly: a domain here could never sign in.
                if uuid::Uuid::try_parse(&tenant).is_err() {
                    return Err(self.invalid(
                        t.span().start,
                        key("tenant"),
                        format!(
                            "`{tenant}` is not a tenant id: write the Directory (tenant) ID, a GUID from the app registration's Overview page (Entra names its issuer by the id, not by a domain)"
                        ),
                    ));
                }
                Some(tenant)
            }
        };
        // The issuer as written wins (sovereign clouds, a custom Entra domain); else the preset's.
        let issuer_value = match (&raw.issuer, provider.issuer(tenant.as_deref())) {
            (Some(written), _) => written.clone(),
            (None, Some(preset)) => Spanned::new(table_at..table_at, preset),
            (None, None) => {
                return Err(self.invalid(
                    table_at,
                    key("issuer"),
                    format!("missing: {}", provider.issuer_hint()),
                ));
            }
        };
        let issuer = self.https_url(&issuer_value, key("issuer"))?;
        let issuer_text = issuer_value.get_ref().trim().to_string();
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(self.invalid(
                issuer_value.span().start,
                key("issuer"),
                "an issuer has no query or fragment",
            ));
        }
        let client_id = self.non_empty(&raw.client_id, key("client_id"))?;
        let client_secret = match &raw.client_secret {
            Some(secret) => Some(self.non_empty(secret, key("client_secret"))?),
            None if provider.needs_client_secret() => {
                return Err(self.invalid(
                    table_at,
                    key("client_secret"),
                    "Google requires the client_secret of the desktop OAuth client (Google documents it as not secret for installed apps): copy it from the Google Cloud console's Credentials page",
                ));
            }
            None => None,
        };
        let keys = sign_in::resolve(&RawSignInKeys {
            flow: raw.flow.as_ref(),
            dialect: raw.dialect.as_ref(),
            username: raw.username.as_ref(),
            token: raw.token.as_ref(),
            redirect_port: raw.redirect_port.as_ref(),
            default_dialect: provider.dialect(),
            legacy: raw.provider.is_none(),
            default_token: if provider.prefers_id_token() { TokenChoice::Id } else { TokenChoice::Access },
            table_at,
        })
        .map_err(|refusal| self.invalid(refusal.at, key(refusal.key), refusal.message))?;

        let authenticator = match &raw.authenticator {
            None => AuthenticatorChoice::Usb,
            Some(a) => {
                let value = a.get_ref().trim();
                if value == "usb" {
                    AuthenticatorChoice::Usb
                } else if let Some(file) = value.strip_prefix("soft:") {
                    let path = self.readable_file(file, a.span().start, key("authenticator"))?;
                    AuthenticatorChoice::Soft(path)
                } else {
                    return Err(self.invalid(
                        a.span().start,
                        key("authenticator"),
                        format!("`{value}` is not an authenticator; use `usb` or `soft:/path/to/key-file`"),
                    ));
                }
            }
        };

        let rp_origin = match &raw.rp_origin {
            None => origin_of(&issuer),
            Some(o) => {
                let url = self.https_url(o, key("rp_origin"))?;
                if url.path() != "/" || url.query().is_some() {
                    return Err(self.invalid(
                        o.span().start,
                        key("rp_origin"),
                        "an origin is scheme://host[:port] with no path",
                    ));
                }
                url
            }
        };
        // Only a passkey sign-in asserts a WebAuthn origin; the browser's is the IdP's own page.
        if matches!(keys.flow, Flow::Passkey(_)) && !matches!(rp_origin.host(), Some(Host::Domain(_))) {
            let at = raw.rp_origin.as_ref().map_or(issuer_value.span().start, |o| o.span().start);
            return Err(self.invalid(
                at,
                key("rp_origin"),
                "a WebAuthn origin needs a domain name, not an IP address (use localhost for this machine)",
            ));
        }

        let audience = match &raw.audience {
            None => None,
            Some(a) => Some(self.non_empty(a, key("audience"))?),
        };

        if provider == Provider::Auth0 && audience.is_none() && keys.token == TokenChoice::Access {
            return Err(self.invalid(
                table_at,
                key("audience"),
                "Auth0 gives an opaque access token unless an API is named: write audience = \"<your API identifier>\", or token = \"id\"",
            ));
        }

        let scopes = match &raw.scopes {
            None => provider.default_scopes().iter().map(|s| s.to_string()).collect(),
            Some(s) => {
                let scopes = s.get_ref().clone();
                if !scopes.iter().any(|x| x == "openid") {
                    return Err(self.invalid(
                        s.span().start,
                        key("scopes"),
                        "scopes must include \"openid\"",
                    ));
                }
                self.each_a_scope(s, key("scopes"))?;
                scopes
            }
        };

        let ca_file = match &raw.ca_file {
            None => None,
            Some(f) => Some(self.pem_file(f, key("ca_file"))?),
        };

        Ok(IdpConfig {
            name: name.to_string(),
            issuer: issuer_text,
            client_id,
            username: keys.username,
            flow: keys.flow,
            authenticator,
            rp_origin,
            audience,
            scopes,
            ca_file,
            token: keys.token,
            redirect_port: keys.redirect_port,
            provider: ProviderSettings {
                provider,
                client_secret,
                authorize_params: provider.authorize_params(),
            },
        })
    }

    fn db(&self, name: &str, raw: RawDb, idps: &BTreeSet<String>) -> Result<DbConfig, ConfigError> {
        let key = |k: &str| format!("db.{name}.{k}");

        let idp = raw.idp.get_ref().trim().to_string();
        if !idps.contains(&idp) {
            let known: Vec<&str> = idps.iter().map(String::as_str).collect();
            let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            return Err(self.invalid(
                raw.idp.span().start,
                key("idp"),
                format!("no [idp.{idp}] table in this file (IdPs: {known})"),
            ));
        }
        let host = self.non_empty(&raw.host, key("host"))?;
        if host.contains(['/', ' ', ':']) && host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(self.invalid(
                raw.host.span().start,
                key("host"),
                "a host name or IP address, without port or scheme",
            ));
        }
        let port = match &raw.port {
            None => 5432,
            Some(p) => self.port(p, key("port"))?,
        };
        let dbname = self.non_empty(&raw.dbname, key("dbname"))?;
        let (role, mut user_template) = self.db_user(&raw, &key)?;
        let roles = match &raw.roles {
            None => Vec::new(),
            Some(r) => {
                if let Some(bad) = r.get_ref().iter().find(|x| x.trim().is_empty()) {
                    return Err(self.invalid(
                        r.span().start,
                        key("roles"),
                        format!("`{bad}` is not a role name"),
                    ));
                }
                r.get_ref().clone()
            }
        };
        let auth = match raw.auth.as_ref().map(|a| (a, a.get_ref().as_str())) {
            None | Some((_, "password")) => DbAuth::Password,
            Some((_, "oauthbearer")) => DbAuth::OAuthBearer,
            Some((a, other)) => {
                return Err(self.invalid(
                    a.span().start,
                    key("auth"),
                    format!("`{other}` is not an auth method; use `password` or `oauthbearer`"),
                ));
            }
        };
        let sslmode = match raw.sslmode.as_ref().map(|m| (m, m.get_ref().as_str())) {
            None | Some((_, "verify-full")) => SslMode::VerifyFull,
            Some((_, "verify-ca")) => SslMode::VerifyCa,
            Some((_, "require")) => SslMode::Require,
            Some((m, "disable" | "allow" | "prefer")) => {
                return Err(self.invalid(
                    m.span().start,
                    key("sslmode"),
                    format!("`{}` could send the token without TLS; use verify-full (default), verify-ca or require", m.get_ref()),
                ));
            }
            Some((m, other)) => {
                return Err(self.invalid(
                    m.span().start,
                    key("sslmode"),
                    format!("`{other}` is not an sslmode; use verify-full, verify-ca or require"),
                ));
            }
        };
        let sslnegotiation = match raw.sslnegotiation.as_ref().map(|m| (m, m.get_ref().as_str())) {
            None | Some((_, "postgres")) => SslNegotiation::Postgres,
            Some((_, "direct")) => SslNegotiation::Direct,
            Some((m, other)) => {
                return Err(self.invalid(
                    m.span().start,
                    key("sslnegotiation"),
                    format!("`{other}` is not an sslnegotiation; use postgres or direct"),
                ));
            }
        };
        let local_access = match raw.local_access.as_ref().map(|m| (m, m.get_ref().as_str())) {
            None | Some((_, "same-user")) => LocalAccess::SameUser,
            Some((_, "any")) => LocalAccess::Any,
            Some((m, other)) => {
                return Err(self.invalid(
                    m.span().start,
                    key("local_access"),
                    format!("`{other}` is not a local_access; use same-user (the default) or any"),
                ));
            }
        };
        let session_grace = match &raw.session_grace {
            None => DEFAULT_SESSION_GRACE,
            Some(text) => match parse_duration(text.get_ref()) {
                Some(grace) if grace <= MAX_SESSION_GRACE => grace,
                _ => {
                    return Err(self.invalid(
                        text.span().start,
                        key("session_grace"),
                        format!(
                            "`{}` is not a grace period; write e.g. 90s, 5m or 1h (at most 24h)",
                            text.get_ref()
                        ),
                    ));
                }
            },
        };
        let session_limit = match raw.session_limit.as_ref().map(|m| (m, m.get_ref().as_str())) {
            None | Some((_, "token")) => SessionLimit::Token { grace: session_grace },
            Some((_, "none")) => SessionLimit::None,
            Some((m, other)) => {
                return Err(self.invalid(
                    m.span().start,
                    key("session_limit"),
                    format!("`{other}` is not a session_limit; use token (the default) or none"),
                ));
            }
        };
        let unix_socket = raw.unix_socket.as_ref().map_or(cfg!(unix), |v| *v.get_ref());
        let ca_file = match &raw.ca_file {
            None => None,
            Some(f) => Some(self.pem_file(f, key("ca_file"))?),
        };
        let local_port = match &raw.local_port {
            None => None,
            Some(p) => {
                let port = self.port(p, key("local_port"))?;
                if port < 1024 {
                    return Err(self.invalid(
                        p.span().start,
                        key("local_port"),
                        "use a port from 1024 to 65535",
                    ));
                }
                Some(port)
            }
        };
        let max_connections = match &raw.max_connections {
            None => DEFAULT_MAX_CONNECTIONS,
            Some(m) if (1..=10_000).contains(m.get_ref()) => *m.get_ref() as usize,
            Some(m) => return Err(self.invalid(m.span().start, key("max_connections"), "use 1 to 10000")),
        };
        let mut token_target = self.token_target(&raw, &key)?;
        let cloud =
            self.db_cloud(&raw, &key, auth, ca_file.is_some(), &mut token_target, &mut user_template)?;
        let server_name = self.server_name(&raw, &key)?;
        Ok(DbConfig {
            name: name.to_string(),
            idp,
            host,
            port,
            dbname,
            role,
            roles,
            auth,
            sslmode,
            sslnegotiation,
            ca_file,
            ca_file_add: raw.ca_file_add.as_ref().is_some_and(|v| *v.get_ref()),
            local_port,
            max_connections,
            local_access,
            unix_socket,
            session_limit,
            local_password: raw.local_password.as_ref().is_some_and(|v| *v.get_ref()),
            token_target,
            user_template,
            cloud,
            server_name,
        })
    }

    /// `audience` and `scopes` of a `[db.NAME]` table; `None` when neither is set.
    fn token_target(
        &self,
        raw: &RawDb,
        key: &dyn Fn(&str) -> String,
    ) -> Result<Option<TokenTarget>, ConfigError> {
        let audience = match &raw.audience {
            None => None,
            Some(a) => Some(self.non_empty(a, key("audience"))?),
        };
        let scopes = match &raw.scopes {
            None => Vec::new(),
            Some(s) => {
                let scopes = s.get_ref().clone();
                if scopes.is_empty() {
                    return Err(self.invalid(
                        s.span().start,
                        key("scopes"),
                        "list at least one scope, or leave the key out to use the IdP's",
                    ));
                }
                self.each_a_scope(s, key("scopes"))?;
                scopes
            }
        };
        Ok((audience.is_some() || !scopes.is_empty()).then_some(TokenTarget {
            audience,
            scopes,
            token: None,
        }))
    }

    /// Every entry of a `scopes` list is one scope token (RFC 6749 §3.3: no spaces, not empty).
    fn each_a_scope(&self, scopes: &Spanned<Vec<String>>, key: String) -> Result<(), ConfigError> {
        match scopes.get_ref().iter().find(|x| x.is_empty() || x.contains(char::is_whitespace)) {
            Some(bad) => Err(self.invalid(scopes.span().start, key, format!("`{bad}` is not a scope"))),
            None => Ok(()),
        }
    }

    fn port(&self, value: &Spanned<i64>, key: String) -> Result<u16, ConfigError> {
        match u16::try_from(*value.get_ref()) {
            Ok(port) if port > 0 => Ok(port),
            _ => Err(self.invalid(
                value.span().start,
                key,
                format!("{} is not a port (1-65535)", value.get_ref()),
            )),
        }
    }

    /// A readable file holding at least one PEM certificate.
    fn pem_file(&self, value: &Spanned<String>, key: String) -> Result<PathBuf, ConfigError> {
        let path = self.readable_file(value.get_ref(), value.span().start, key.clone())?;
        let pem = std::fs::read_to_string(&path).unwrap_or_default();
        if !pem.contains("-----BEGIN CERTIFICATE-----") {
            return Err(self.invalid(
                value.span().start,
                key,
                format!("{} holds no PEM certificate", path.display()),
            ));
        }
        Ok(path)
    }

    pub(crate) fn non_empty(&self, value: &Spanned<String>, key: String) -> Result<String, ConfigError> {
        let text = value.get_ref().trim();
        if text.is_empty() {
            return Err(self.invalid(value.span().start, key, "must not be empty"));
        }
        Ok(text.to_string())
    }

    pub(crate) fn https_url(&self, value: &Spanned<String>, key: String) -> Result<Url, ConfigError> {
        let at = value.span().start;
        let url = Url::parse(value.get_ref().trim())
            .map_err(|e| self.invalid(at, key.clone(), format!("`{}` is not a URL: {e}", value.get_ref())))?;
        if url.scheme() != "https" {
            return Err(self.invalid(
                at,
                key,
                format!("`{}` must be an https URL: tokens never travel without TLS", value.get_ref()),
            ));
        }
        if url.host().is_none() {
            return Err(self.invalid(at, key, format!("`{}` has no host", value.get_ref())));
        }
        Ok(url)
    }

    /// A path relative to the config file's folder, which must name a readable file.
    fn readable_file(&self, file: &str, at: usize, key: String) -> Result<PathBuf, ConfigError> {
        let file = file.trim();
        if file.is_empty() {
            return Err(self.invalid(at, key, "the file path is empty"));
        }
        let path = expand_home(file);
        let path =
            if path.is_relative() { self.path.parent().unwrap_or(Path::new(".")).join(path) } else { path };
        match std::fs::File::open(&path) {
            Ok(f) if f.metadata().map(|m| m.is_file()).unwrap_or(false) => Ok(path),
            Ok(_) => Err(self.invalid(at, key, format!("{} is not a file", path.display()))),
            Err(e) => Err(self.invalid(at, key, format!("cannot read {}: {e}", path.display()))),
        }
    }
}

fn expand_home(file: &str) -> PathBuf {
    match (file.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(file),
    }
}

fn origin_of(url: &Url) -> Url {
    let mut origin = url.clone();
    origin.set_path("/");
    origin.set_query(None);
    origin.set_fragment(None);
    origin
}

/// The longest `session_grace`: past a day the limit means little.
const MAX_SESSION_GRACE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// `90s`, `5m`, `1h`: a whole number and a unit (a bare number is refused: seconds or minutes?).
pub(crate) fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let unit_at = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(unit_at);
    let number: u64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => number,
        "m" => number.checked_mul(60)?,
        "h" => number.checked_mul(3600)?,
        _ => return None,
    };
    Some(std::time::Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        parse(Path::new("/etc/tapgate/config.toml"), text)
    }

    const GOOD: &str = r#"
[idp.corp]
issuer = "https://localhost:8443"
client_id = "tapgate"
username = "alice@example.com"
audience = "postgres"
"#;

    #[test]
    fn a_minimal_idp_gets_defaults() {
        let config = load(GOOD).expect("valid");
        let idp = config.idp(None).expect("one idp");
        assert_eq!(idp.issuer, "https://localhost:8443");
        assert_eq!(idp.rp_origin.as_str(), "https://localhost:8443/");
        assert_eq!(idp.authenticator, AuthenticatorChoice::Usb);
        assert_eq!(idp.flow, Flow::Passkey(crate::Dialect::Auth0), "a username without flow: as before");
        assert_eq!(idp.username.as_deref(), Some("alice@example.com"));
        assert_eq!(idp.token, crate::TokenChoice::Access);
        assert_eq!(idp.redirect_port, 0);
        assert_eq!(idp.scopes, vec!["openid", "profile", "groups", "offline_access"]);
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = format!("{GOOD}colour = \"blue\"\n");
        let err = load(&text).expect_err("unknown key").to_string();
        assert!(err.starts_with("/etc/tapgate/config.toml:7: idp.corp.colour:"), "{err}");
    }

    #[test]
    fn missing_key_names_the_table() {
        let err = load("[idp.corp]\nissuer = \"https://x.example\"\nusername = \"a\"\n")
            .expect_err("missing client_id")
            .to_string();
        assert!(err.contains("idp.corp.client_id"), "{err}");
        assert!(err.contains("missing field"), "{err}");
    }

    #[test]
    fn plain_http_issuer_is_refused_on_its_line() {
        let text = GOOD.replace("https://localhost:8443", "http://localhost:8443");
        let err = load(&text).expect_err("http").to_string();
        assert!(err.starts_with("/etc/tapgate/config.toml:3: idp.corp.issuer:"), "{err}");
        assert!(err.contains("https"), "{err}");
    }

    #[test]
    fn bad_url_is_refused() {
        let text = GOOD.replace("https://localhost:8443", "not a url");
        let err = load(&text).expect_err("bad url").to_string();
        assert!(err.contains("idp.corp.issuer") && err.contains("not a URL"), "{err}");
    }

    #[test]
    fn unreadable_key_file_is_refused() {
        let text = format!("{GOOD}authenticator = \"soft:/nonexistent/key\"\n");
        let err = load(&text).expect_err("no file").to_string();
        assert!(err.contains(":7: idp.corp.authenticator: cannot read /nonexistent/key"), "{err}");
    }

    #[test]
    fn ip_origin_is_refused() {
        let text = format!("{GOOD}rp_origin = \"https://127.0.0.1:8443\"\n");
        let err = load(&text).expect_err("ip").to_string();
        assert!(err.contains("idp.corp.rp_origin") && err.contains("domain name"), "{err}");
    }

    #[test]
    fn soft_key_path_is_relative_to_the_config_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("alice.key"), b"x").expect("write");
        let text = format!("{GOOD}authenticator = \"soft:alice.key\"\n");
        let config = parse(&dir.path().join("config.toml"), &text).expect("valid");
        let idp = config.idp(Some("corp")).expect("corp");
        assert_eq!(idp.authenticator, AuthenticatorChoice::Soft(dir.path().join("alice.key")));
    }

    #[test]
    fn naming_an_unknown_idp_lists_the_known_ones() {
        let config = load(GOOD).expect("valid");
        let err = config.idp(Some("prod")).expect_err("unknown").to_string();
        assert!(err.contains("no IdP named `prod`") && err.contains("corp"), "{err}");
    }

    const DB: &str = r#"
[db.prod]
idp = "corp"
host = "db.internal"
dbname = "app"
role = "app_rw"
roles = ["app_ro", "app_rw"]
"#;

    #[test]
    fn a_database_gets_safe_defaults() {
        let config = load(&format!("{GOOD}{DB}")).expect("valid");
        let db = config.db("prod").expect("prod");
        assert_eq!(db.port, 5432);
        assert_eq!(db.sslmode, SslMode::VerifyFull);
        assert_eq!(db.sslnegotiation, SslNegotiation::Postgres);
        assert_eq!(db.auth, DbAuth::Password);
        assert_eq!(db.local_port, None);
        assert_eq!(db.max_connections, 100);
        assert_eq!(db.local_access, LocalAccess::SameUser, "only the person's own programs");
        assert_eq!(db.allowed_roles(), vec!["app_rw", "app_ro"]);
    }

    #[test]
    fn sessions_end_with_the_token_plus_five_minutes_unless_told_otherwise() {
        let config = load(&format!("{GOOD}{DB}")).expect("valid");
        let db = config.db("prod").expect("prod");
        assert_eq!(db.session_limit, SessionLimit::Token { grace: Duration::from_secs(300) });
        assert!(db.unix_socket);
        let short =
            load(&format!("{GOOD}{DB}session_grace = \"90s\"\nunix_socket = false\n")).expect("valid");
        let db = short.db("prod").expect("prod");
        assert_eq!(db.session_limit, SessionLimit::Token { grace: Duration::from_secs(90) });
        assert!(!db.unix_socket);
        let none = load(&format!("{GOOD}{DB}session_limit = \"none\"\n")).expect("valid");
        assert_eq!(none.db("prod").expect("prod").session_limit, SessionLimit::None);
        let err = load(&format!("{GOOD}{DB}session_grace = \"soon\"\n")).expect_err("bad").to_string();
        assert!(err.contains("db.prod.session_grace") && err.contains("90s"), "{err}");
        let err = load(&format!("{GOOD}{DB}session_limit = \"forever\"\n")).expect_err("bad").to_string();
        assert!(err.contains("db.prod.session_limit") && err.contains("none"), "{err}");
    }

    #[test]
    fn a_database_may_ask_for_its_own_audience_and_scopes() {
        let config = load(&format!("{GOOD}{DB}")).expect("valid");
        assert_eq!(config.db("prod").expect("prod").token_target, None, "the IdP's token by default");

        let own = load(&format!("{GOOD}{DB}audience = \"postgres-prod\"\n")).expect("valid");
        let target = own.db("prod").expect("prod").token_target.clone().expect("a target");
        assert_eq!(
            target,
            TokenTarget { audience: Some("postgres-prod".into()), scopes: vec![], token: None }
        );
        assert_eq!(target.cache_key(), "aud=postgres-prod");

        let scoped =
            load(&format!("{GOOD}{DB}scopes = [\"https://ossrdbms-aad.database.windows.net/.default\"]\n"))
                .expect("valid");
        let target = scoped.db("prod").expect("prod").token_target.clone().expect("a target");
        assert_eq!(target.audience, None);
        assert_eq!(target.cache_key(), "scope=https://ossrdbms-aad.database.windows.net/.default");

        let err = load(&format!("{GOOD}{DB}audience = \" \"\n")).expect_err("empty").to_string();
        assert!(err.contains("db.prod.audience"), "{err}");
        let err = load(&format!("{GOOD}{DB}scopes = []\n")).expect_err("empty").to_string();
        assert!(err.contains("db.prod.scopes") && err.contains("leave the key out"), "{err}");
        let err = load(&format!("{GOOD}{DB}scopes = [\"a b\"]\n")).expect_err("spaces").to_string();
        assert!(err.contains("db.prod.scopes") && err.contains("`a b` is not a scope"), "{err}");
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration("-1m"), None);
    }

    #[test]
    fn local_access_is_same_user_or_an_explicit_any() {
        let open = load(&format!("{GOOD}{DB}local_access = \"any\"\n")).expect("valid");
        assert_eq!(open.db("prod").expect("prod").local_access, LocalAccess::Any);
        let err = load(&format!("{GOOD}{DB}local_access = \"everyone\"\n")).expect_err("unknown").to_string();
        assert!(err.contains("db.prod.local_access") && err.contains("same-user"), "{err}");
    }

    #[test]
    fn a_database_naming_an_unknown_idp_is_refused() {
        let text = format!("{GOOD}{}", DB.replace("idp = \"corp\"", "idp = \"okta\""));
        let err = load(&text).expect_err("unknown idp").to_string();
        assert!(err.contains("db.prod.idp") && err.contains("no [idp.okta]"), "{err}");
    }

    #[test]
    fn plaintext_sslmodes_are_refused() {
        for mode in ["disable", "allow", "prefer"] {
            let text = format!("{GOOD}{DB}sslmode = \"{mode}\"\n");
            let err = load(&text).expect_err("plaintext").to_string();
            assert!(err.contains("db.prod.sslmode") && err.contains("without TLS"), "{err}");
        }
    }

    #[test]
    fn ports_are_checked() {
        let err = load(&format!("{GOOD}{DB}port = 70000\n")).expect_err("port").to_string();
        assert!(err.contains("db.prod.port") && err.contains("not a port"), "{err}");
        let err = load(&format!("{GOOD}{DB}local_port = 80\n")).expect_err("low port").to_string();
        assert!(err.contains("db.prod.local_port"), "{err}");
    }

    #[test]
    fn syntax_error_has_a_line() {
        let err = load("[idp.corp]\nissuer = \n").expect_err("syntax").to_string();
        assert!(err.starts_with("/etc/tapgate/config.toml:2:"), "{err}");
    }
}
