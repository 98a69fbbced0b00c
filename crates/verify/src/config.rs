//! The validated verifier configuration and its loading: raw -> checked, each refusal naming the
//! file, the line and the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_spanned::Spanned;
use tapgate_config::toml_place::{line_of, place_error};
use url::Url;

use crate::VerifyError;
use crate::raw::RawVerifyConfig;

/// Where the binary looks without `--config`.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/tapgate/verify.toml";
/// Where the JWKS is cached without `jwks_cache`: /var/cache is the FHS place for data a program
/// can fetch again; the folder must be writable by the `postgres` OS user.
pub const DEFAULT_JWKS_CACHE: &str = "/var/cache/tapgate/jwks.json";
/// Clock skew tolerated on `exp` and `nbf` without `leeway_seconds`.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 30;
/// More leeway than this hides broken clocks and stretches every token's life.
pub const MAX_LEEWAY_SECONDS: u64 = 300;
/// The claim naming the person without `identity_claim`.
pub const DEFAULT_IDENTITY_CLAIM: &str = "email";

/// A loaded, validated `verify.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyConfig {
    /// The file it came from (for messages).
    pub path: PathBuf,
    /// Expected `iss`, exactly as written (an issuer with a trailing `/` keeps it).
    pub issuer: String,
    /// Expected member of `aud`.
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// The claim whose string value names the person in decisions.
    pub identity_claim: String,
    /// Extra trust root (PEM) for the IdP's HTTPS certificate, on top of the system roots.
    pub ca_file: Option<PathBuf>,
    /// The JWKS cache file.
    pub jwks_cache: PathBuf,
    /// Role -> groups allowed to log in as it.
    pub roles: BTreeMap<String, Vec<String>>,
}

impl VerifyConfig {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<VerifyConfig, VerifyError> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                VerifyError::ConfigNotFound { path: path.to_path_buf() }
            } else {
                VerifyError::ConfigRead { path: path.to_path_buf(), source }
            }
        })?;
        VerifyConfig::parse(path, &text)
    }

    /// Validates `text`, the contents of the file at `path` (relative paths in it are relative
    /// to that file's folder).
    pub fn parse(path: &Path, text: &str) -> Result<VerifyConfig, VerifyError> {
        let checker = Checker { path, text };
        let raw: RawVerifyConfig = toml::from_str(text).map_err(|e| checker.toml_error(&e))?;
        checker.validate(raw)
    }

    /// `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4).
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'))
    }
}

struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Checker<'_> {
    fn validate(&self, raw: RawVerifyConfig) -> Result<VerifyConfig, VerifyError> {
        let issuer = self.issuer(&raw.issuer)?;
        let audience = self.non_empty(&raw.audience, "audience")?;

        let leeway = match &raw.leeway_seconds {
            None => DEFAULT_LEEWAY_SECONDS,
            Some(value) => match u64::try_from(*value.get_ref()) {
                Ok(secs) if secs <= MAX_LEEWAY_SECONDS => secs,
                _ => {
                    return Err(self.invalid(
                        value.span().start,
                        "leeway_seconds",
                        format!(
                            "{} is out of range: use 0 to {MAX_LEEWAY_SECONDS} seconds (fix clocks rather than widen it)",
                            value.get_ref()
                        ),
                    ));
                }
            },
        };

        let identity_claim = match &raw.identity_claim {
            None => DEFAULT_IDENTITY_CLAIM.to_string(),
            Some(claim) => self.non_empty(claim, "identity_claim")?,
        };

        let ca_file = match &raw.ca_file {
            None => None,
            Some(file) => Some(self.ca_file(file)?),
        };

        let jwks_cache = match &raw.jwks_cache {
            None => PathBuf::from(DEFAULT_JWKS_CACHE),
            Some(file) => {
                let text = self.non_empty(file, "jwks_cache")?;
                let path = self.relative_to_file(&text);
                if path.file_name().is_none() {
                    return Err(self.invalid(file.span().start, "jwks_cache", "name a file, not a folder"));
                }
                path
            }
        };

        let roles = self.roles(&raw)?;

        Ok(VerifyConfig {
            path: self.path.to_path_buf(),
            issuer,
            audience,
            leeway: Duration::from_secs(leeway),
            identity_claim,
            ca_file,
            jwks_cache,
            roles,
        })
    }

    fn issuer(&self, value: &Spanned<String>) -> Result<String, VerifyError> {
        let at = value.span().start;
        let text = value.get_ref().trim();
        let url = Url::parse(text)
            .map_err(|e| self.invalid(at, "issuer", format!("`{text}` is not a URL: {e}")))?;
        if url.scheme() != "https" {
            return Err(self.invalid(
                at,
                "issuer",
                format!("`{text}` must be an https URL: the signing keys are fetched from it"),
            ));
        }
        if url.host().is_none() || url.query().is_some() || url.fragment().is_some() {
            return Err(self.invalid(
                at,
                "issuer",
                "an issuer is https://host[:port][/path] with no query or fragment",
            ));
        }
        Ok(text.to_string())
    }

    fn roles(&self, raw: &RawVerifyConfig) -> Result<BTreeMap<String, Vec<String>>, VerifyError> {
        let Some(table) = &raw.roles else {
            return Err(self.invalid(
                self.text.len(),
                "roles",
                "no [roles] table: add one mapping each PostgreSQL role to the IdP groups allowed to use it",
            ));
        };
        if table.get_ref().is_empty() {
            return Err(self.invalid(
                table.span().start,
                "roles",
                "the [roles] table is empty: nobody could log in",
            ));
        }
        let mut roles = BTreeMap::new();
        for (role, groups) in table.get_ref() {
            let key = format!("roles.{role}");
            if role.is_empty() {
                return Err(self.invalid(groups.span().start, &key, "a role name cannot be empty"));
            }
            let mut list = Vec::new();
            for group in groups.get_ref() {
                let group = group.trim();
                if group.is_empty() {
                    return Err(self.invalid(groups.span().start, &key, "a group name cannot be empty"));
                }
                if !list.iter().any(|g| g == group) {
                    list.push(group.to_string());
                }
            }
            if list.is_empty() {
                return Err(self.invalid(
                    groups.span().start,
                    &key,
                    "no groups listed: remove the role or list the groups allowed to use it",
                ));
            }
            roles.insert(role.clone(), list);
        }
        Ok(roles)
    }

    fn ca_file(&self, value: &Spanned<String>) -> Result<PathBuf, VerifyError> {
        let at = value.span().start;
        let text = self.non_empty(value, "ca_file")?;
        let path = self.relative_to_file(&text);
        let pem = std::fs::read_to_string(&path)
            .map_err(|e| self.invalid(at, "ca_file", format!("cannot read {}: {e}", path.display())))?;
        if !pem.contains("-----BEGIN CERTIFICATE-----") {
            return Err(self.invalid(at, "ca_file", format!("{} holds no PEM certificate", path.display())));
        }
        Ok(path)
    }

    fn non_empty(&self, value: &Spanned<String>, key: &str) -> Result<String, VerifyError> {
        let text = value.get_ref().trim();
        if text.is_empty() {
            return Err(self.invalid(value.span().start, key, "must not be empty"));
        }
        Ok(text.to_string())
    }

    fn relative_to_file(&self, text: &str) -> PathBuf {
        let path = PathBuf::from(text);
        if path.is_relative() { self.path.parent().unwrap_or(Path::new("/")).join(path) } else { path }
    }

    fn invalid(&self, offset: usize, key: &str, message: impl Into<String>) -> VerifyError {
        VerifyError::ConfigInvalid {
            path: self.path.to_path_buf(),
            line: line_of(self.text, offset),
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// A TOML or serde error, placed by line and key as in every Tapgate config file.
    fn toml_error(&self, error: &toml::de::Error) -> VerifyError {
        let (offset, key, message) = place_error(self.text, error);
        self.invalid(offset, &key, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
issuer = "https://idp.example.com"
audience = "postgres"

[roles]
app_rw = ["dba", "backend"]
app_ro = ["analysts"]
"#;

    fn load(text: &str) -> Result<VerifyConfig, VerifyError> {
        VerifyConfig::parse(Path::new("/etc/tapgate/verify.toml"), text)
    }

    #[test]
    fn a_minimal_file_gets_the_documented_defaults() {
        let config = load(GOOD).expect("valid");
        assert_eq!(config.issuer, "https://idp.example.com");
        assert_eq!(config.leeway, Duration::from_secs(30));
        assert_eq!(config.identity_claim, "email");
        assert_eq!(config.jwks_cache, PathBuf::from("/var/cache/tapgate/jwks.json"));
        assert_eq!(config.ca_file, None);
        assert_eq!(config.roles["app_rw"], vec!["dba", "backend"]);
        assert_eq!(config.discovery_url(), "https://idp.example.com/.well-known/openid-configuration");
    }

    #[test]
    fn a_typo_is_refused_with_its_line_and_key() {
        let text = GOOD.replace("audience", "audiance");
        let err = load(&text).expect_err("unknown key").to_string();
        assert!(err.starts_with("/etc/tapgate/verify.toml:3: audiance:"), "{err}");
    }

    #[test]
    fn a_missing_issuer_is_named() {
        let err = load("audience = \"postgres\"\n[roles]\na = [\"b\"]\n").expect_err("missing").to_string();
        assert!(err.contains("issuer") && err.contains("missing field"), "{err}");
    }

    #[test]
    fn plain_http_issuer_is_refused() {
        let err = load(&GOOD.replace("https://", "http://")).expect_err("http").to_string();
        assert!(err.starts_with("/etc/tapgate/verify.toml:2: issuer:") && err.contains("https"), "{err}");
    }

    #[test]
    fn leeway_out_of_range_is_refused() {
        let text = GOOD.replace("audience = \"postgres\"", "audience = \"postgres\"\nleeway_seconds = 3600");
        let err = load(&text).expect_err("range").to_string();
        assert!(err.contains(":4: leeway_seconds: 3600 is out of range"), "{err}");
        let negative =
            GOOD.replace("audience = \"postgres\"", "audience = \"postgres\"\nleeway_seconds = -1");
        assert!(load(&negative).is_err());
    }

    #[test]
    fn roles_must_exist_and_list_groups() {
        let err =
            load("issuer = \"https://i.example\"\naudience = \"p\"\n").expect_err("no roles").to_string();
        assert!(err.contains("roles: no [roles] table"), "{err}");
        let err = load(&GOOD.replace("[\"analysts\"]", "[]")).expect_err("empty").to_string();
        assert!(err.contains("roles.app_ro: no groups listed"), "{err}");
        let err = load(&GOOD.replace("\"analysts\"", "\" \"")).expect_err("blank").to_string();
        assert!(err.contains("roles.app_ro: a group name cannot be empty"), "{err}");
    }

    #[test]
    fn an_unknown_key_in_a_role_list_is_a_type_error_naming_the_table() {
        let err = load(&GOOD.replace("[\"analysts\"]", "\"analysts\"")).expect_err("type").to_string();
        assert!(err.contains("roles"), "{err}");
    }

    #[test]
    fn ca_file_must_hold_a_certificate_and_paths_are_relative_to_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), "-----BEGIN CERTIFICATE-----\n").expect("write");
        std::fs::write(dir.path().join("junk.pem"), "junk").expect("write");
        let file = dir.path().join("verify.toml");
        let text = format!("ca_file = \"ca.pem\"\njwks_cache = \"cache/jwks.json\"\n{GOOD}");
        let config = VerifyConfig::parse(&file, &text).expect("valid");
        assert_eq!(config.ca_file, Some(dir.path().join("ca.pem")));
        assert_eq!(config.jwks_cache, dir.path().join("cache/jwks.json"));

        let err =
            VerifyConfig::parse(&file, &text.replace("ca.pem", "junk.pem")).expect_err("junk").to_string();
        assert!(err.contains(":1: ca_file:") && err.contains("holds no PEM certificate"), "{err}");
        let err = VerifyConfig::parse(&file, &text.replace("ca.pem", "absent.pem"))
            .expect_err("absent")
            .to_string();
        assert!(err.contains("ca_file: cannot read"), "{err}");
    }

    #[test]
    fn a_missing_file_says_how_to_fix_it() {
        let err = VerifyConfig::load(Path::new("/nonexistent/verify.toml")).expect_err("absent").to_string();
        assert!(err.contains("no configuration at /nonexistent/verify.toml"), "{err}");
    }
}
