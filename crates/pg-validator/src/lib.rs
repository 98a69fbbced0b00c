//! Tapgate's PostgreSQL 18 OAuth validator module, `libtapgate_pg_validator.so`: PostgreSQL 18
//! receives a bearer token over SASL OAUTHBEARER (RFC 7628) and hands it to this module, which
//! runs `tapgate-verify`'s checks (signature against the IdP's JWKS, issuer, audience, times) and
//! its group -> role policy. A login is authorized iff the token is valid and the person's groups
//! map to the role they asked for; the identity claim becomes the session's `authn_id`
//! (`system_user` = `oauth:<identity>` with `delegate_ident_mapping=1`).
//!
//! # Layout
//! - `ffi`: the PostgreSQL 18 ABI (module magic block, `_PG_oauth_validator_module_init`, the
//!   startup/shutdown/validate callbacks, `palloc`). The crate's only unsafe code.
//! - [`location`]: where the verifier configuration is read from ([`ConfigLocation`]).
//! - [`validator`]: [`Validator`], the module state kept across logins of one backend: the
//!   [`tapgate_verify::Verifier`], rebuilt only when the configuration file changes.
//! - [`server_log`]: the one decision line per login, written to the server log (never the token).
//! - [`error`]: [`ValidatorError`], the one error type (internal errors, not refusals).
//!
//! Nothing here starts a thread pool or an async runtime; the only network call is the JWKS
//! fetch of `tapgate-verify`, bounded by its 5 s deadline and rate limited by its cache file.

pub mod error;
mod ffi;
pub mod location;
pub mod server_log;
pub mod validator;

pub use error::ValidatorError;
pub use location::ConfigLocation;
pub use validator::{Outcome, Validator};
