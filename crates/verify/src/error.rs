//! The crate's one error type. Each message is the reason half of a decision line, so it is one
//! line, says what to fix where it can, and never contains the token.

use std::path::PathBuf;

/// Why a configuration could not be loaded, a key could not be had, or a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// There is no configuration file at the chosen path.
    #[error("no configuration at {}: create it (see docs/server-setup.md) or pass --config PATH", path.display())]
    ConfigNotFound { path: PathBuf },

    /// The configuration (or the data-directory file the validator module would read) is owned
    /// by someone the verifier does not trust, or writable by group or others.
    #[error("configuration not trusted: {reason}")]
    ConfigNotTrusted { reason: String },

    /// The configuration file exists but cannot be read.
    #[error("cannot read configuration {}: {source}", path.display())]
    ConfigRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The configuration is not valid TOML, has an unknown key, or a value that cannot work.
    #[error("{}:{line}: {key}: {message}", path.display())]
    ConfigInvalid { path: PathBuf, line: usize, key: String, message: String },

    /// The token or the role could not be had from where PAM hands them over.
    #[error("{reason}")]
    Input { reason: String },

    /// The token is not a compact JWS (three base64url parts), or a part cannot be decoded.
    #[error("the password is not a JWT: {reason}")]
    Malformed { reason: String },

    /// The header names an algorithm outside the pinned list (ES256, RS256).
    #[error("token algorithm {alg} is not allowed (allowed: ES256, RS256)")]
    AlgorithmNotAllowed { alg: String },

    /// The header has no `kid`, so no key of the IdP can be chosen.
    #[error("the token header has no kid: the IdP's signing key cannot be chosen")]
    NoKeyId,

    /// No key with this `kid` in the IdP's JWKS, even after the refetch rules ran.
    #[error("signing key {kid} is not in the IdP's JWKS ({detail})")]
    UnknownKey { kid: String, detail: String },

    /// The key with this `kid` cannot verify this algorithm (wrong type, curve, `use` or `alg`).
    #[error("signing key {kid} cannot verify a {alg} token: {reason}")]
    KeyUnusable { kid: String, alg: String, reason: String },

    /// The signature does not verify against the IdP's key.
    #[error("bad signature (key {kid}): the token was not signed by the IdP or was altered")]
    BadSignature { kid: String },

    /// `exp` is in the past by more than the leeway.
    #[error("token expired at {expired_at} ({ago} s ago; leeway {leeway} s): get a new token")]
    Expired { identity: Option<String>, expired_at: String, ago: i64, leeway: u64 },

    /// `nbf` is in the future by more than the leeway.
    #[error(
        "token not valid before {not_before} ({ahead} s from now; leeway {leeway} s): the IdP's clock or this server's clock is off"
    )]
    NotYetValid { identity: Option<String>, not_before: String, ahead: i64, leeway: u64 },

    /// `iss` is not the configured issuer.
    #[error("token issuer {found} is not the configured issuer {expected}")]
    WrongIssuer { identity: Option<String>, found: String, expected: String },

    /// `aud` does not contain the configured audience.
    #[error("token audience {found} does not include the configured audience {expected}")]
    WrongAudience { identity: Option<String>, found: String, expected: String },

    /// A claim the checks need is absent or has the wrong type.
    #[error("the token has no usable {claim} claim")]
    MissingClaim { identity: Option<String>, claim: String },

    /// `require_typ` is set and the header's `typ` differs.
    #[error(
        "token type {found} is not the required {expected} (require_typ): an ID token is not an access token"
    )]
    WrongType { identity: Option<String>, found: String, expected: String },

    /// `require_amr` is set and none of its methods is in the token's `amr`.
    #[error(
        "the token's amr [{}] has none of the required sign-in methods [{}] (require_amr): sign in with a security key",
        found.join(", "),
        required.join(", ")
    )]
    AmrNotAccepted { identity: Option<String>, found: Vec<String>, required: Vec<String> },

    /// `allowed_clients` is set and `azp`/`client_id` names another client, or none.
    #[error(
        "{}, not one of allowed_clients [{}]",
        found.as_ref().map_or("the token names no client (azp or client_id)".to_string(), |c| format!("the token was issued to client {c}")),
        allowed.join(", ")
    )]
    ClientNotAllowed { identity: Option<String>, found: Option<String>, allowed: Vec<String> },

    /// `exp - iat` is more than `max_token_lifetime`.
    #[error("the token lives {lifetime} s (exp - iat), more than max_token_lifetime {max} s")]
    LifetimeTooLong { identity: Option<String>, lifetime: i64, max: u64 },

    /// The person is named by `email` and the IdP did not say it verified the address.
    #[error(
        "email_verified is {found}: the IdP did not verify the address, so it cannot name the person (identity_claim = \"email\")"
    )]
    EmailNotVerified { identity: Option<String>, found: String },

    /// The JWKS could not be fetched and no usable cached copy exists.
    #[error("cannot get the IdP's signing keys from {issuer}: {reason}")]
    JwksUnavailable { issuer: String, reason: String },
}

impl VerifyError {
    /// The identity of a token whose signature verified but whose claims were refused.
    pub fn identity(&self) -> Option<&str> {
        match self {
            VerifyError::Expired { identity, .. }
            | VerifyError::NotYetValid { identity, .. }
            | VerifyError::WrongIssuer { identity, .. }
            | VerifyError::WrongAudience { identity, .. }
            | VerifyError::MissingClaim { identity, .. }
            | VerifyError::WrongType { identity, .. }
            | VerifyError::AmrNotAccepted { identity, .. }
            | VerifyError::ClientNotAllowed { identity, .. }
            | VerifyError::LifetimeTooLong { identity, .. }
            | VerifyError::EmailNotVerified { identity, .. } => identity.as_deref(),
            _ => None,
        }
    }

    /// Whether the error is about the configuration rather than a token.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            VerifyError::ConfigNotFound { .. }
                | VerifyError::ConfigRead { .. }
                | VerifyError::ConfigInvalid { .. }
                | VerifyError::ConfigNotTrusted { .. }
        )
    }
}

/// `text` on one line with control characters replaced, for anything that goes into a log line
/// (claims and IdP answers are not ours to trust with newlines).
pub(crate) fn one_line(text: &str) -> String {
    let flat: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    flat.split_whitespace().collect::<Vec<_>>().join(" ")
}
