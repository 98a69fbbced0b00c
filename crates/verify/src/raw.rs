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
    /// A token may log in as the role named exactly by its identity claim (per-person users).
    pub own_role: Option<Spanned<bool>>,
    /// Extra PEM trust root for fetching discovery and the JWKS.
    pub ca_file: Option<Spanned<String>>,
    /// Where the fetched JWKS is cached (default `/var/cache/tapgate/jwks.json`).
    pub jwks_cache: Option<Spanned<String>>,
    /// RFC 8176 sign-in methods, any of which the token's `amr` must hold (default `["hwk"]`
    /// once the file sets any policy key; `[]` turns the check off).
    pub require_amr: Option<Spanned<Vec<String>>>,
    /// `azp` / `client_id` values allowed (required once the file sets any policy key; `[]`
    /// turns the check off).
    pub allowed_clients: Option<Spanned<Vec<String>>>,
    /// The longest `exp - iat` accepted, e.g. `"1h"` (default 1 h once the file sets any
    /// policy key).
    pub max_token_lifetime: Option<Spanned<String>>,
    /// The JWT header `typ` required, e.g. `"at+jwt"` (RFC 9068); unchecked when absent.
    pub require_typ: Option<Spanned<String>>,
    /// The total time one JWKS fetch (DNS, connect, TLS, discovery and keys) may take, e.g.
    /// `"5s"` (default 5 s).
    pub fetch_timeout: Option<Spanned<String>>,
    /// PostgreSQL role -> IdP groups allowed to log in as it.
    #[serde(default)]
    pub roles: Option<Spanned<BTreeMap<String, Spanned<Vec<String>>>>>,
}
