//! The keys of an `[idp.NAME]` table that choose how a person signs in: `flow`, `dialect`,
//! `username`, `token` and `redirect_port`. They are resolved together because each one's
//! meaning depends on the others (a dialect only means something to a passkey sign-in).
//!
//! Tables written before `flow` existed have a `username`, often no `dialect` (the app's
//! settings form leaves out `auth0`, the old default) and always meant an Auth0 passkey tap:
//! they keep that meaning. Without `flow`, a table is a passkey sign-in when it names a
//! `dialect` or a `username`, and a browser sign-in otherwise.

use serde_spanned::Spanned;

use crate::resolved::{Dialect, Flow, TokenChoice};

/// What the sign-in keys resolve to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInKeys {
    /// How the person signs in.
    pub flow: Flow,
    /// The login hint; always `Some` for a passkey sign-in.
    pub username: Option<String>,
    /// Which token goes to the database.
    pub token: TokenChoice,
    /// Loopback port of the browser redirect (0: a free one each time).
    pub redirect_port: u16,
}

/// The sign-in keys as written.
pub struct RawSignInKeys<'a> {
    pub flow: Option<&'a Spanned<String>>,
    pub dialect: Option<&'a Spanned<String>>,
    pub username: Option<&'a Spanned<String>>,
    pub token: Option<&'a Spanned<String>>,
    pub redirect_port: Option<&'a Spanned<i64>>,
    /// The `provider` preset's passkey API, for `flow = "passkey"` without `dialect`.
    pub default_dialect: Option<Dialect>,
    /// No `provider`: a table from before presets, whose `username` alone meant Auth0's tap.
    pub legacy: bool,
    /// The `provider` preset's token for the database, when `token` is not written.
    pub default_token: TokenChoice,
    /// Where the table starts, for problems of a key that is missing.
    pub table_at: usize,
}

/// Why the keys were refused: where, which key (`flow`, ...), and a sentence saying what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Byte offset in the file.
    pub at: usize,
    /// The key within `[idp.NAME]`.
    pub key: &'static str,
    pub message: String,
}

/// Checks the sign-in keys of one table.
pub fn resolve(raw: &RawSignInKeys<'_>) -> Result<SignInKeys, Refusal> {
    let refuse = |at: usize, key: &'static str, message: String| Refusal { at, key, message };

    let username = match raw.username {
        None => None,
        Some(u) if u.get_ref().trim().is_empty() => {
            return Err(refuse(u.span().start, "username", "must not be empty".to_string()));
        }
        Some(u) => Some(u.get_ref().trim().to_string()),
    };

    let dialect = match raw.dialect {
        None => None,
        Some(d) => Some(dialect(d).map_err(|message| refuse(d.span().start, "dialect", message))?),
    };

    let flow = match raw.flow {
        None => match dialect {
            Some(dialect) => Flow::Passkey(dialect),
            // Every table before `flow` existed (no `provider` either): a username meant the
            // Auth0 passkey tap. With a preset it means that IdP's passkey tap where it has
            // one, and a login hint for the browser where it has none.
            None if username.is_some() => match raw.default_dialect {
                Some(dialect) => Flow::Passkey(dialect),
                None if raw.legacy => Flow::Passkey(Dialect::Auth0),
                None => Flow::Browser,
            },
            None => Flow::Browser,
        },
        Some(f) => match f.get_ref().trim() {
            "browser" => Flow::Browser,
            "device" => Flow::Device,
            "passkey" => match dialect.or(raw.default_dialect) {
                Some(dialect) => Flow::Passkey(dialect),
                None => {
                    return Err(refuse(
                        f.span().start,
                        "flow",
                        "flow = \"passkey\" needs the IdP's passkey API: add dialect = \"auth0\" or dialect = \"okta\""
                            .to_string(),
                    ));
                }
            },
            other => {
                return Err(refuse(
                    f.span().start,
                    "flow",
                    format!("unknown flow `{other}`; use browser, device or passkey"),
                ));
            }
        },
    };

    if let (Some(d), Flow::Browser | Flow::Device) = (raw.dialect, flow) {
        return Err(refuse(
            d.span().start,
            "dialect",
            format!(
                "dialect only applies to flow = \"passkey\", not flow = \"{}\": remove it",
                flow.as_str()
            ),
        ));
    }
    if matches!(flow, Flow::Passkey(_)) && username.is_none() {
        let at = raw.flow.or(raw.dialect).map_or(raw.table_at, |k| k.span().start);
        return Err(refuse(
            at,
            "username",
            "a passkey sign-in needs username: the IdP must know whose keys to ask for".to_string(),
        ));
    }

    let token = match raw.token {
        None => raw.default_token,
        Some(t) => match t.get_ref().trim() {
            "access" => TokenChoice::Access,
            "id" => TokenChoice::Id,
            other => {
                return Err(refuse(
                    t.span().start,
                    "token",
                    format!("unknown token `{other}`; use access (the access token) or id (the ID token)"),
                ));
            }
        },
    };

    let redirect_port = match raw.redirect_port {
        None => 0,
        Some(p) => {
            let port = u16::try_from(*p.get_ref()).map_err(|_| {
                refuse(
                    p.span().start,
                    "redirect_port",
                    format!("{} is not a port (0 for a free one each time, or 1-65535)", p.get_ref()),
                )
            })?;
            if flow != Flow::Browser {
                return Err(refuse(
                    p.span().start,
                    "redirect_port",
                    format!(
                        "redirect_port only applies to flow = \"browser\", not flow = \"{}\": remove it",
                        flow.as_str()
                    ),
                ));
            }
            port
        }
    };

    Ok(SignInKeys { flow, username, token, redirect_port })
}

fn dialect(value: &Spanned<String>) -> Result<Dialect, String> {
    match value.get_ref().trim() {
        "auth0" => Ok(Dialect::Auth0),
        "okta" => Ok(Dialect::Okta),
        "kanidm" => Err("`kanidm` is not supported yet; supported: auth0, okta".to_string()),
        other => Err(format!("unknown dialect `{other}`; supported: auth0, okta")),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::resolved::{Dialect, Flow, TokenChoice};
    use crate::{Config, ConfigError};

    fn load(keys: &str) -> Result<Config, ConfigError> {
        let text =
            format!("[idp.corp]\nissuer = \"https://login.example.com\"\nclient_id = \"tapgate\"\n{keys}");
        crate::validate::parse(Path::new("/etc/tapgate/config.toml"), &text)
    }

    fn refusal(keys: &str) -> String {
        load(keys).expect_err("refused").to_string()
    }

    #[test]
    fn a_table_with_only_issuer_and_client_id_signs_in_in_the_browser() {
        let config = load("").expect("valid");
        let idp = config.idp(None).expect("corp");
        assert_eq!(idp.flow, Flow::Browser);
        assert_eq!(idp.username, None);
        assert_eq!(idp.token, TokenChoice::Access);
        assert_eq!(idp.redirect_port, 0);
        assert!(idp.scopes.iter().any(|s| s == "openid") && idp.scopes.iter().any(|s| s == "offline_access"));
    }

    #[test]
    fn tables_from_before_flow_keep_their_passkey_meaning() {
        let explicit =
            load("username = \"alice@example.com\"\ndialect = \"auth0\"\nauthenticator = \"usb\"\n")
                .expect("valid");
        assert_eq!(explicit.idp(None).expect("corp").flow, Flow::Passkey(Dialect::Auth0));
        // The app's settings form leaves out `dialect = "auth0"` (it was the default).
        let from_the_app = load("username = \"alice@example.com\"\n").expect("valid");
        assert_eq!(from_the_app.idp(None).expect("corp").flow, Flow::Passkey(Dialect::Auth0));
    }

    #[test]
    fn okta_is_a_passkey_dialect_that_needs_a_username() {
        let config = load("flow = \"passkey\"\ndialect = \"okta\"\nusername = \"alice@example.com\"\n")
            .expect("valid");
        let idp = config.idp(None).expect("corp");
        assert_eq!(idp.flow, Flow::Passkey(Dialect::Okta));
        assert_eq!(idp.username.as_deref(), Some("alice@example.com"));
        // As with auth0, the dialect alone means a passkey sign-in.
        let implied = load("dialect = \"okta\"\nusername = \"alice@example.com\"\n").expect("valid");
        assert_eq!(implied.idp(None).expect("corp").flow, Flow::Passkey(Dialect::Okta));
        assert_eq!(
            refusal("flow = \"passkey\"\ndialect = \"okta\"\n"),
            "/etc/tapgate/config.toml:4: idp.corp.username: a passkey sign-in needs username: the IdP must know whose keys to ask for"
        );
        assert!(
            refusal("flow = \"device\"\ndialect = \"okta\"\n")
                .contains("dialect only applies to flow = \"passkey\"")
        );
    }

    #[test]
    fn browser_with_a_login_hint_port_and_id_token() {
        let config = load(
            "flow = \"browser\"\nusername = \"alice@example.com\"\ntoken = \"id\"\nredirect_port = 8765\n",
        )
        .expect("valid");
        let idp = config.idp(None).expect("corp");
        assert_eq!(idp.flow, Flow::Browser);
        assert_eq!(idp.username.as_deref(), Some("alice@example.com"));
        assert_eq!(idp.token, TokenChoice::Id);
        assert_eq!(idp.redirect_port, 8765);
    }

    #[test]
    fn a_browser_issuer_may_be_an_ip_address() {
        // Only a passkey sign-in asserts a WebAuthn origin, which needs a domain name.
        let text =
            "[idp.corp]\nissuer = \"https://127.0.0.1:8443\"\nclient_id = \"tapgate\"\nflow = \"browser\"\n";
        crate::validate::parse(Path::new("/c.toml"), text).expect("valid");
        let text =
            "[idp.corp]\nissuer = \"https://127.0.0.1:8443\"\nclient_id = \"tapgate\"\nusername = \"a\"\n";
        let err = crate::validate::parse(Path::new("/c.toml"), text).expect_err("passkey").to_string();
        assert!(err.contains("idp.corp.rp_origin") && err.contains("domain name"), "{err}");
    }

    #[test]
    fn device_flow_is_accepted() {
        let config = load("flow = \"device\"\n").expect("valid");
        assert_eq!(config.idp(None).expect("corp").flow, Flow::Device);
    }

    #[test]
    fn passkey_without_a_dialect_says_which_to_add() {
        assert_eq!(
            refusal("flow = \"passkey\"\nusername = \"alice@example.com\"\n"),
            "/etc/tapgate/config.toml:4: idp.corp.flow: flow = \"passkey\" needs the IdP's passkey API: add dialect = \"auth0\" or dialect = \"okta\""
        );
    }

    #[test]
    fn passkey_without_a_username_is_refused() {
        assert_eq!(
            refusal("flow = \"passkey\"\ndialect = \"auth0\"\n"),
            "/etc/tapgate/config.toml:4: idp.corp.username: a passkey sign-in needs username: the IdP must know whose keys to ask for"
        );
        let err = refusal("dialect = \"auth0\"\n");
        assert!(err.contains(":4: idp.corp.username: a passkey sign-in needs username"), "{err}");
    }

    #[test]
    fn a_dialect_with_another_flow_is_refused() {
        assert_eq!(
            refusal("flow = \"browser\"\ndialect = \"auth0\"\n"),
            "/etc/tapgate/config.toml:5: idp.corp.dialect: dialect only applies to flow = \"passkey\", not flow = \"browser\": remove it"
        );
    }

    #[test]
    fn unknown_values_list_the_known_ones() {
        assert_eq!(
            refusal("flow = \"popup\"\n"),
            "/etc/tapgate/config.toml:4: idp.corp.flow: unknown flow `popup`; use browser, device or passkey"
        );
        assert_eq!(
            refusal("token = \"refresh\"\n"),
            "/etc/tapgate/config.toml:4: idp.corp.token: unknown token `refresh`; use access (the access token) or id (the ID token)"
        );
        let err = refusal("flow = \"passkey\"\ndialect = \"kanidm\"\nusername = \"a\"\n");
        assert!(
            err.contains("idp.corp.dialect: `kanidm` is not supported yet; supported: auth0, okta"),
            "{err}"
        );
        let err = refusal("dialect = \"azure\"\nusername = \"a\"\n");
        assert!(err.contains("idp.corp.dialect: unknown dialect `azure`; supported: auth0, okta"), "{err}");
        assert!(refusal("username = \" \"\n").contains("idp.corp.username: must not be empty"));
    }

    #[test]
    fn redirect_port_is_a_port_of_the_browser_flow() {
        assert_eq!(
            refusal("redirect_port = 70000\n"),
            "/etc/tapgate/config.toml:4: idp.corp.redirect_port: 70000 is not a port (0 for a free one each time, or 1-65535)"
        );
        assert!(refusal("redirect_port = -1\n").contains("-1 is not a port"));
        assert_eq!(
            refusal("flow = \"device\"\nredirect_port = 8765\n"),
            "/etc/tapgate/config.toml:5: idp.corp.redirect_port: redirect_port only applies to flow = \"browser\", not flow = \"device\": remove it"
        );
        assert_eq!(load("redirect_port = 0\n").expect("valid").idp(None).expect("corp").redirect_port, 0);
    }
}
