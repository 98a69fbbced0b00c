//! Tapgate configuration: the TOML file people write, parsed and then validated.
//!
//! # Layout
//! - [`location`]: where the file is (`--config`, `TAPGATE_CONFIG`, the platform config dir).
//! - [`raw`]: the file as written, every value with its place in the file.
//! - [`resolved`]: validated types the rest of Tapgate uses ([`Config`], [`IdpConfig`], [`DbConfig`]).
//! - [`validate`]: raw -> resolved; each refusal names the file, the line and the key.
//! - [`sign_in`]: the keys that choose how a person signs in (`flow`, `dialect`, `username`,
//!   `token`, `redirect_port`), checked together because each depends on the others.
//! - [`provider`]: the `provider` presets of `[idp.NAME]` (Entra, Google, Okta, ...).
//! - [`cloud`]: `cloud` and `user` templates of `[db.NAME]` (Azure, Cloud SQL, RDS).
//! - `db_keys`: the checks of `user`, `cloud`, `server_name` and the `aws_*` keys.
//! - [`toml_place`]: line and dotted key of a TOML error (also used for `verify.toml`).
//! - [`forms`]: the app's settings forms ([`IdpForm`], [`DbForm`]) and [`FieldError`], a loader
//!   error addressed to a form field.
//! - [`document`]: [`ConfigDocument`], the file as a toml_edit document: forms in and out,
//!   comments kept, checked by [`validate`] before an atomic save.
//! - [`import`]: merging a team config into a [`ConfigDocument`] ([`ImportSummary`]).
//! - [`error`]: [`ConfigError`], the one error type of this crate.
//!
//! Parsing and validation are split on purpose (raw vs resolved, as ripgrep does with its
//! arguments): nothing outside this crate ever sees an unchecked URL or path.

pub mod cloud;
mod db_keys;
pub mod document;
pub mod error;
pub mod forms;
pub mod import;
pub mod location;
pub mod provider;
pub mod raw;
pub mod resolved;
pub mod sign_in;
pub mod toml_place;
pub mod validate;

pub use document::ConfigDocument;
pub use error::ConfigError;
pub use forms::{DbForm, FieldError, IdpForm};
pub use import::ImportSummary;
pub use location::{CONFIG_ENV, DATA_DIR_ENV, config_path, data_dir, pgpass_path, runtime_dir};
pub use resolved::{
    AuthenticatorChoice, AwsRds, Cloud, Config, DEFAULT_MAX_CONNECTIONS, DEFAULT_SCOPES,
    DEFAULT_SESSION_GRACE, DbAuth, DbConfig, Dialect, Flow, IdpConfig, LocalAccess, Provider,
    ProviderSettings, SessionLimit, SslMode, SslNegotiation, TokenChoice, TokenTarget, UserClaim,
    UserTemplate,
};
