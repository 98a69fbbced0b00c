//! Server side of Tapgate: checks a JWT presented as a PostgreSQL password (signature against the
//! issuer's JWKS, issuer, audience, times) and maps the person's IdP groups to the role they ask
//! for. Used by the PAM verifier binary and the PostgreSQL 18 validator module.
//!
//! # Layout
//! - [`config`]: [`VerifyConfig`], `/etc/tapgate/verify.toml` validated; errors name file, line, key;
//!   legacy files (no policy keys) accepted with warnings.
//! - [`raw`]: the file as written (serde, unknown keys refused).
//! - [`file_trust`]: [`FileTrust`], which owners and modes the configuration and cache may have.
//! - [`token`]: the checks on one token: shape, pinned algorithms, `kid`, signature, claims.
//! - [`token_policy`]: [`TokenPolicy`], how the token was obtained: `amr`, `azp`/`client_id`,
//!   lifetime, `typ`, `email_verified`.
//! - [`jwks`]: [`PublicKeys`] from a JWK Set and the key-fits-algorithm rules.
//! - [`fetch`]: [`JwksSource`]; [`HttpsJwks`] does discovery + JWKS over HTTPS (ureq, blocking,
//!   bounded by one deadline, `fetch_timeout`, 5 s by default).
//! - [`cache`]: the JWKS cache file (atomic 0600 writes, a lock file only ever tried until a
//!   deadline, fetch times).
//! - [`keys`]: [`KeyStore`]: freshness, refetch on an unknown `kid`, the rate limit, stale keys
//!   during an IdP outage.
//! - [`policy`]: [`RolePolicy`], group -> role authorization.
//! - [`decision`]: [`Decision`], its one-line text form and its JSON line.
//! - [`verifier`]: [`Verifier`], all of the above for one configuration.
//! - [`pam_input`]: the token on stdin and `PAM_USER`, as PAM hands them to the binary.
//! - [`error`]: [`VerifyError`], the one error type; its messages are decision reasons.
//!
//! Nothing here starts an async runtime or a thread pool, and every network call has a deadline:
//! the same code is meant to run inside a PostgreSQL backend.

pub mod cache;
pub mod config;
pub mod decision;
pub mod error;
pub mod fetch;
pub mod file_trust;
pub mod jwks;
pub mod keys;
pub mod pam_input;
pub mod policy;
pub mod raw;
pub mod token;
pub mod token_policy;
pub mod verifier;

pub use config::{DEFAULT_CONFIG_PATH, DEFAULT_JWKS_CACHE, VerifyConfig};
pub use decision::{Decision, DecisionContext, TokenFacts};
pub use error::VerifyError;
pub use fetch::{HttpsJwks, JwksSource};
pub use file_trust::FileTrust;
pub use jwks::PublicKeys;
pub use keys::{CacheTiming, KeyStore};
pub use policy::{Authorization, RolePolicy};
pub use token::{ALLOWED_ALGORITHMS, VerifiedToken};
pub use token_policy::TokenPolicy;
pub use verifier::Verifier;
