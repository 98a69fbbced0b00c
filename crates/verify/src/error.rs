//! The crate's one error type. Each message is the reason half of a decision line, so it is one
//! line, says what to fix where it can, and never contains the token.

use std::path::PathBuf;

/// Why a configuration could not be loaded, a key could not be had, or a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// There is no configuration file at the chosen path.
    #[error("no configuration at {}: create it (see docs/server-setup.md) or pass --config PATH", path.display())]
    ConfigNotFound { path: PathBuf },

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
            | VerifyError::MissingClaim { identity, .. } => identity.as_deref(),
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
        )
    }
}

/// `text` on one line with control characters replaced, for anything that goes into a log line
/// (claims and IdP answers are not ours to trust with newlines).
pub(crate) fn one_line(text: &str) -> String {
    let flat: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    flat.split_whitespace().collect::<Vec<_>>().join(" ")
}
