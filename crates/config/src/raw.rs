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
}

/// One `[idp.NAME]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIdp {
    /// OIDC issuer URL; discovery is at `<issuer>/.well-known/openid-configuration`.
    pub issuer: Spanned<String>,
    /// OAuth client id registered for Tapgate at the IdP.
    pub client_id: Spanned<String>,
    /// Login hint sent to the IdP so it lists the user's registered keys.
    pub username: Spanned<String>,
    /// Passkey sign-in API of the IdP (`auth0`).
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
}
