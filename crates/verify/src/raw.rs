//! `/etc/tapgate/verify.toml` as written: serde types that keep each value's place in the file.
//!
//! Unknown keys are refused, so a typo (`audiance`) is an error instead of a silently ignored
//! check.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_spanned::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVerifyConfig {
    /// The IdP's issuer URL, exactly as it appears in the tokens' `iss`.
    pub issuer: Spanned<String>,
    /// The audience the tokens must carry in `aud`.
    pub audience: Spanned<String>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds (default 30).
    pub leeway_seconds: Option<Spanned<i64>>,
    /// The claim that names the person (default `email`).
    pub identity_claim: Option<Spanned<String>>,
    /// Extra PEM trust root for fetching discovery and the JWKS.
    pub ca_file: Option<Spanned<String>>,
    /// Where the fetched JWKS is cached (default `/var/cache/tapgate/jwks.json`).
    pub jwks_cache: Option<Spanned<String>>,
    /// PostgreSQL role -> IdP groups allowed to log in as it.
    #[serde(default)]
    pub roles: Option<Spanned<BTreeMap<String, Spanned<Vec<String>>>>>,
}
