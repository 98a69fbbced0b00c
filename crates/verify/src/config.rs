//! The validated verifier configuration and its loading: raw -> checked, each refusal naming the
//! file, the line and the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_spanned::Spanned;
use tapgate_config::toml_place::{line_of, place_error};
use url::Url;

use crate::VerifyError;
use crate::file_trust::FileTrust;
use crate::raw::RawVerifyConfig;
use crate::token_policy::TokenPolicy;

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
/// `require_amr` when a file with policy keys leaves it out: a hardware key (RFC 8176 `hwk`).
pub const DEFAULT_REQUIRE_AMR: &str = "hwk";
/// `max_token_lifetime` when a file with policy keys leaves it out.
pub const DEFAULT_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// Longer-lived access tokens are bearer credentials nobody should accept.
pub const MAX_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// `fetch_timeout` when unset.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// A fetch may take at most this long: well below PostgreSQL's `authentication_timeout` (60 s
/// by default) and pam_tapgate.so's `timeout=` (20 s by default).
pub const MAX_FETCH_TIMEOUT: Duration = Duration::from_secs(15);
/// The keys whose presence makes a file a "new" one, checked with fail-closed defaults.
pub const POLICY_KEYS: [&str; 4] = ["require_amr", "allowed_clients", "max_token_lifetime", "require_typ"];

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
    /// `own_role = true`: a token may also log in as the role named exactly by its identity
    /// claim, the person's own database user (Tapgate's `user = "{email}"`; Azure and RDS map
    /// principals the same way).
    pub own_role: bool,
    /// How the token must have been obtained (amr, client, lifetime, typ, email_verified).
    pub policy: TokenPolicy,
    /// Whether the file predates the policy keys (sets none of [`POLICY_KEYS`]): it keeps
    /// working with the policy checks off, and every decision carries a warning saying so.
    pub legacy_policy: bool,
    /// Total deadline of one JWKS fetch.
    pub fetch_timeout: Duration,
}

impl VerifyConfig {
    /// Reads and validates the file at `path`, which (like its `ca_file`) must be owned by a
    /// user `trust` accepts and not writable by group or others.
    pub fn load(path: &Path, trust: &FileTrust) -> Result<VerifyConfig, VerifyError> {
        if let Some(reason) = trust.refusal(path) {
            return Err(VerifyError::ConfigNotTrusted { reason });
        }
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                VerifyError::ConfigNotFound { path: path.to_path_buf() }
            } else {
                VerifyError::ConfigRead { path: path.to_path_buf(), source }
            }
        })?;
        let config = VerifyConfig::parse(path, &text)?;
        if let Some(reason) = config.ca_file.as_deref().and_then(|ca| trust.refusal(ca)) {
            return Err(VerifyError::ConfigNotTrusted { reason: format!("ca_file: {reason}") });
        }
        Ok(config)
    }

    /// What this configuration does not check, one line each, for `--check` and `refresh`.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings: Vec<String> = self
            .policy
            .unchecked(&self.identity_claim)
            .into_iter()
            .map(|what| format!("not checked: {what}"))
            .collect();
        if self.legacy_policy {
            warnings.push(format!(
                "{} sets none of {}: a legacy configuration, accepted with these checks off; add them (docs/server-setup.md)",
                self.path.display(),
                POLICY_KEYS.join(", ")
            ));
        }
        warnings
    }

    /// The one warning each decision of a configuration with checks off carries, so the log
    /// shows it until the file is fixed.
    pub fn decision_warning(&self) -> Option<String> {
        let off = self.policy.unchecked(&self.identity_claim);
        if off.is_empty() {
            return None;
        }
        let kind = if self.legacy_policy { "legacy configuration" } else { "configuration" };
        Some(format!("{kind} {} does not check: {}", self.path.display(), off.join("; ")))
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

        let own_role = raw.own_role.as_ref().is_some_and(|v| *v.get_ref());
        // With own_role, [roles] is optional: every person may already be their own user.
        let roles = if own_role && raw.roles.as_ref().is_none_or(|t| t.get_ref().is_empty()) {
            BTreeMap::new()
        } else {
            self.roles(&raw)?
        };
        let legacy_policy = raw.require_amr.is_none()
            && raw.allowed_clients.is_none()
            && raw.max_token_lifetime.is_none()
            && raw.require_typ.is_none();
        let policy = if legacy_policy { TokenPolicy::default() } else { self.policy(&raw, &identity_claim)? };
        let fetch_timeout = match &raw.fetch_timeout {
            None => DEFAULT_FETCH_TIMEOUT,
            Some(value) => {
                self.duration(value, "fetch_timeout", Duration::from_millis(100), MAX_FETCH_TIMEOUT)?
            }
        };

        Ok(VerifyConfig {
            path: self.path.to_path_buf(),
            issuer,
            audience,
            leeway: Duration::from_secs(leeway),
            identity_claim,
            ca_file,
            jwks_cache,
            roles,
            own_role,
            policy,
            legacy_policy,
            fetch_timeout,
        })
    }

    /// The policy of a file that sets at least one policy key: what it leaves out fails closed.
    fn policy(&self, raw: &RawVerifyConfig, identity_claim: &str) -> Result<TokenPolicy, VerifyError> {
        let require_amr = match &raw.require_amr {
            None => Some(vec![DEFAULT_REQUIRE_AMR.to_string()]),
            Some(list) => self.exact_list(list, "require_amr")?,
        };
        let allowed_clients = match &raw.allowed_clients {
            None => {
                return Err(self.invalid(
                    self.text.len(),
                    "allowed_clients",
                    "missing: list the client ids (azp / client_id) of Tapgate at your IdP, e.g. allowed_clients = [\"tapgate\"], or [] to accept any client",
                ));
            }
            Some(list) => self.exact_list(list, "allowed_clients")?,
        };
        let max_token_lifetime = match &raw.max_token_lifetime {
            None => DEFAULT_MAX_TOKEN_LIFETIME,
            Some(value) => {
                self.duration(value, "max_token_lifetime", Duration::from_secs(60), MAX_MAX_TOKEN_LIFETIME)?
            }
        };
        let require_typ = match &raw.require_typ {
            None => None,
            Some(value) => Some(self.non_empty(value, "require_typ")?),
        };
        Ok(TokenPolicy {
            require_amr,
            allowed_clients,
            max_token_lifetime: Some(max_token_lifetime),
            require_typ,
            require_email_verified: identity_claim == "email",
        })
    }

    /// A list compared exactly against claims: `[]` is `None` (the check is off), and a value
    /// with surrounding whitespace is refused rather than trimmed (it could never match).
    fn exact_list(&self, list: &Spanned<Vec<String>>, key: &str) -> Result<Option<Vec<String>>, VerifyError> {
        let mut values: Vec<String> = Vec::new();
        for value in list.get_ref() {
            if value.is_empty() || value.trim() != value {
                return Err(self.invalid(
                    list.span().start,
                    key,
                    format!("{value:?}: values are compared exactly; remove surrounding spaces"),
                ));
            }
            if !values.contains(value) {
                values.push(value.clone());
            }
        }
        Ok((!values.is_empty()).then_some(values))
    }

    /// A humantime duration (`"5s"`, `"1h"`) between `min` and `max`.
    fn duration(
        &self,
        value: &Spanned<String>,
        key: &str,
        min: Duration,
        max: Duration,
    ) -> Result<Duration, VerifyError> {
        let at = value.span().start;
        let text = value.get_ref().trim();
        let duration = humantime::parse_duration(text).map_err(|e| {
            self.invalid(at, key, format!("`{text}` is not a duration like \"5s\" or \"1h\": {e}"))
        })?;
        if duration < min || duration > max {
            return Err(self.invalid(
                at,
                key,
                format!(
                    "{text} is out of range: use {} to {}",
                    humantime::format_duration(min),
                    humantime::format_duration(max)
                ),
            ));
        }
        Ok(duration)
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
                let group = group.as_str();
                if group.trim().is_empty() {
                    return Err(self.invalid(groups.span().start, &key, "a group name cannot be empty"));
                }
                // Groups compare exactly with the token's; a trimmed copy here would let
                // `"dba "` in the file mean `dba`, and nothing else would ever match it.
                if group.trim() != group {
                    return Err(self.invalid(
                        groups.span().start,
                        &key,
                        format!("group {group:?} has surrounding spaces: names are compared exactly"),
                    ));
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
        let err = VerifyConfig::load(Path::new("/nonexistent/verify.toml"), &FileTrust::for_this_process())
            .expect_err("absent")
            .to_string();
        assert!(err.contains("no configuration at /nonexistent/verify.toml"), "{err}");
    }

    #[test]
    fn a_legacy_file_keeps_working_and_names_what_it_does_not_check() {
        let config = load(GOOD).expect("valid");
        assert!(config.legacy_policy);
        assert_eq!(config.policy, TokenPolicy::default());
        let warnings = config.warnings().join("\n");
        for what in ["amr", "allowed_clients", "max_token_lifetime", "email_verified", "legacy configuration"]
        {
            assert!(warnings.contains(what), "{what}: {warnings}");
        }
        let line = config.decision_warning().expect("one line");
        assert!(line.starts_with("legacy configuration /etc/tapgate/verify.toml does not check: "), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn a_file_with_policy_keys_fails_closed_on_what_it_leaves_out() {
        let text = format!("allowed_clients = [\"tapgate\"]\n{GOOD}");
        let config = load(&text).expect("valid");
        assert!(!config.legacy_policy);
        assert_eq!(config.policy.require_amr, Some(vec!["hwk".to_string()]));
        assert_eq!(config.policy.allowed_clients, Some(vec!["tapgate".to_string()]));
        assert_eq!(config.policy.max_token_lifetime, Some(Duration::from_secs(3600)));
        assert_eq!(config.policy.require_typ, None);
        assert!(config.policy.require_email_verified, "identity_claim is email");
        assert_eq!(config.decision_warning(), None);
        assert!(config.warnings().is_empty(), "{:?}", config.warnings());

        // Any policy key without allowed_clients: refused, not defaulted to "anyone".
        let err = load(&format!("require_amr = [\"hwk\"]\n{GOOD}")).expect_err("no clients").to_string();
        assert!(err.contains("allowed_clients: missing"), "{err}");
    }

    #[test]
    fn the_policy_keys_are_read_and_checked() {
        let text = format!(
            "require_amr = [\"hwk\", \"swk\"]\nallowed_clients = [\"tapgate\", \"tapgate-ci\"]\n\
             max_token_lifetime = \"30m\"\nrequire_typ = \"at+jwt\"\nfetch_timeout = \"2s\"\nidentity_claim = \"sub\"\n{GOOD}"
        );
        let config = load(&text).expect("valid");
        assert_eq!(config.policy.require_amr, Some(vec!["hwk".into(), "swk".into()]));
        assert_eq!(config.policy.max_token_lifetime, Some(Duration::from_secs(1800)));
        assert_eq!(config.policy.require_typ.as_deref(), Some("at+jwt"));
        assert!(!config.policy.require_email_verified, "identity_claim is sub");
        assert_eq!(config.fetch_timeout, Duration::from_secs(2));

        // [] turns a check off, on purpose, and it is said.
        let off = load(&format!("require_amr = []\nallowed_clients = [\"tapgate\"]\n{GOOD}")).expect("valid");
        assert_eq!(off.policy.require_amr, None);
        assert!(off.decision_warning().expect("warned").contains("amr"));

        for (bad, expected) in [
            ("max_token_lifetime = \"2d\"", "max_token_lifetime: 2d is out of range"),
            ("max_token_lifetime = \"soon\"", "is not a duration"),
            ("fetch_timeout = \"60s\"", "fetch_timeout: 60s is out of range"),
            ("require_amr = [\"hwk \"]", "require_amr: \"hwk \": values are compared exactly"),
        ] {
            let err =
                load(&format!("allowed_clients = [\"tapgate\"]\n{bad}\n{GOOD}")).expect_err(bad).to_string();
            assert!(err.contains(expected), "{bad}: {err}");
        }
    }

    #[test]
    fn a_group_with_surrounding_spaces_is_refused_not_trimmed() {
        let err = load(&GOOD.replace("\"analysts\"", "\"analysts \"")).expect_err("spaces").to_string();
        assert!(err.contains("roles.app_ro: group \"analysts \" has surrounding spaces"), "{err}");
    }

    #[test]
    fn a_configuration_others_can_write_or_own_is_refused_naming_file_owner_and_mode() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("verify.toml");
        std::fs::write(&path, GOOD).expect("write");
        let trust = FileTrust::for_this_process();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        VerifyConfig::load(&path, &trust).expect("0640 of our own is fine");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        let err = VerifyConfig::load(&path, &trust).expect_err("world writable").to_string();
        assert!(err.starts_with("configuration not trusted: "), "{err}");
        assert!(err.contains(&path.display().to_string()) && err.contains("mode 0666"), "{err}");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let owner = std::fs::metadata(&path).expect("meta").uid();
        let stranger = FileTrust::owners(vec![owner.wrapping_add(4242)]);
        let err = VerifyConfig::load(&path, &stranger).expect_err("owner").to_string();
        assert!(err.contains(&format!("owned by uid {owner}")), "{err}");

        // A ca_file others may write would let them add a CA for the JWKS fetch.
        std::fs::write(dir.path().join("ca.pem"), "-----BEGIN CERTIFICATE-----\n").expect("write");
        std::fs::set_permissions(dir.path().join("ca.pem"), std::fs::Permissions::from_mode(0o666))
            .expect("chmod");
        std::fs::write(&path, format!("ca_file = \"ca.pem\"\n{GOOD}")).expect("write");
        let err = VerifyConfig::load(&path, &trust).expect_err("ca_file").to_string();
        assert!(err.contains("ca_file: ") && err.contains("ca.pem"), "{err}");
    }
}
