//! `provider` in `[idp.NAME]`: presets that fill in what each identity provider needs, so a
//! table names the tenant and the client and nothing it would take an afternoon to find out.
//!
//! A preset only supplies defaults; every key written in the table wins. What each one fills:
//!
//! | provider   | issuer                                          | scopes                                | else |
//! |------------|-------------------------------------------------|---------------------------------------|------|
//! | `entra`    | `https://login.microsoftonline.com/{tenant}/v2.0` | openid profile email offline_access | (Entra takes no `groups` scope: groups come as a claim) |
//! | `google`   | `https://accounts.google.com`                   | openid email profile                  | `access_type=offline` and `prompt=consent` (Google's way to a refresh token; it refuses `offline_access`), `client_secret` required, `token = "id"` |
//! | `okta`     | written (`https://ORG.okta.com/oauth2/default`) | openid profile groups offline_access  | `dialect = "okta"` for `flow = "passkey"` |
//! | `auth0`    | written (`https://TENANT.auth0.com/`)           | openid profile groups offline_access  | `dialect = "auth0"` for `flow = "passkey"`; `audience` required (else Auth0's access token is opaque) |
//! | `keycloak` | written (`https://HOST/realms/REALM`)           | openid profile email offline_access   | (groups come from a mapper, not a scope) |
//! | `generic`  | written                                         | openid profile groups offline_access  | |
//!
//! Why the scopes differ: an IdP refuses a sign-in that asks for a scope it does not know
//! (`invalid_scope`), and `groups` and `offline_access` are not universal.

use crate::resolved::Dialect;

/// Which identity provider an `[idp.NAME]` table is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Provider {
    /// Any OpenID Connect provider, from its issuer alone (the dev IdP, Kanidm, ...).
    #[default]
    Generic,
    /// Microsoft Entra ID (Azure AD), v2.0 endpoints.
    Entra,
    /// Google accounts and Google Workspace.
    Google,
    Okta,
    Auth0,
    Keycloak,
}

/// Every provider, as written in the file.
pub const PROVIDERS: &[&str] = &["entra", "google", "okta", "auth0", "keycloak", "generic"];

/// Google's issuer (it has one for every customer).
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

impl Provider {
    /// The provider named `text` in the file.
    pub fn parse(text: &str) -> Option<Provider> {
        Some(match text {
            "generic" => Provider::Generic,
            "entra" => Provider::Entra,
            "google" => Provider::Google,
            "okta" => Provider::Okta,
            "auth0" => Provider::Auth0,
            "keycloak" => Provider::Keycloak,
            _ => return None,
        })
    }

    /// The name used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Generic => "generic",
            Provider::Entra => "entra",
            Provider::Google => "google",
            Provider::Okta => "okta",
            Provider::Auth0 => "auth0",
            Provider::Keycloak => "keycloak",
        }
    }

    /// The issuer when the table writes none: Entra's from the tenant, Google's own. `None`:
    /// the table must write it (each Okta org, Auth0 tenant and Keycloak realm has its own).
    pub fn issuer(self, tenant: Option<&str>) -> Option<String> {
        match self {
            Provider::Entra => tenant.map(|t| format!("https://login.microsoftonline.com/{t}/v2.0")),
            Provider::Google => Some(GOOGLE_ISSUER.to_string()),
            _ => None,
        }
    }

    /// What the file should say instead, when the issuer is missing.
    pub fn issuer_hint(self) -> &'static str {
        match self {
            Provider::Entra => "write tenant = \"<Directory (tenant) ID>\" (a GUID), or issuer",
            Provider::Okta => {
                "write issuer = \"https://ORG.okta.com/oauth2/default\" (the authorization server)"
            }
            Provider::Auth0 => "write issuer = \"https://TENANT.auth0.com/\" (with the last slash)",
            Provider::Keycloak => "write issuer = \"https://HOST/realms/REALM\"",
            Provider::Google | Provider::Generic => {
                "write issuer = \"https://...\" (the IdP's OIDC issuer URL)"
            }
        }
    }

    /// The scopes asked for when the table lists none.
    pub fn default_scopes(self) -> &'static [&'static str] {
        match self {
            Provider::Entra | Provider::Keycloak => &["openid", "profile", "email", "offline_access"],
            Provider::Google => &["openid", "email", "profile"],
            Provider::Generic | Provider::Okta | Provider::Auth0 => crate::resolved::DEFAULT_SCOPES,
        }
    }

    /// Extra parameters of the browser sign-in's authorization request.
    pub fn authorize_params(self) -> Vec<(String, String)> {
        match self {
            // Google hands out a refresh token only for offline access, and only on consent.
            Provider::Google => vec![
                ("access_type".to_string(), "offline".to_string()),
                ("prompt".to_string(), "consent".to_string()),
            ],
            _ => Vec::new(),
        }
    }

    /// The passkey API of the provider, for `flow = "passkey"` without a `dialect`.
    pub fn dialect(self) -> Option<Dialect> {
        match self {
            Provider::Okta => Some(Dialect::Okta),
            Provider::Auth0 => Some(Dialect::Auth0),
            _ => None,
        }
    }

    /// Whether the provider refuses a desktop client that sends no `client_secret`. Google
    /// does, and documents that an installed app's secret is not a secret (it ships in the app).
    pub fn needs_client_secret(self) -> bool {
        self == Provider::Google
    }

    /// Whether the database gets the ID token unless the table says `token`: Google's access
    /// tokens are opaque, and only its ID tokens can be verified by a database.
    pub fn prefers_id_token(self) -> bool {
        self == Provider::Google
    }
}

/// The preset-filled settings of an IdP beyond the OIDC basics.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProviderSettings {
    pub provider: Provider,
    /// Sent with each token request (`client_secret_post`) when set: Google's installed-app
    /// secret, which Google requires and documents as not secret.
    pub client_secret: Option<String>,
    /// Extra parameters of the authorization request (Google: `access_type=offline`).
    pub authorize_params: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_named_in_the_list_parses_back_to_its_name() {
        for name in PROVIDERS {
            assert_eq!(Provider::parse(name).map(Provider::as_str), Some(*name));
        }
        assert_eq!(Provider::parse("azure"), None);
    }

    #[test]
    fn entra_issuer_is_the_v2_endpoint_of_the_tenant() {
        assert_eq!(
            Provider::Entra.issuer(Some("72f988bf-86f1-41af-91ab-2d7cd011db47")).as_deref(),
            Some("https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0")
        );
        assert_eq!(Provider::Entra.issuer(None), None);
        assert_eq!(Provider::Okta.issuer(Some("x")), None);
    }

    #[test]
    fn only_google_asks_for_offline_access_in_the_authorization_request() {
        assert!(Provider::Google.authorize_params().contains(&("access_type".into(), "offline".into())));
        assert!(!Provider::Google.default_scopes().contains(&"offline_access"));
        assert!(Provider::Entra.authorize_params().is_empty());
        assert!(!Provider::Entra.default_scopes().contains(&"groups"));
    }
}
