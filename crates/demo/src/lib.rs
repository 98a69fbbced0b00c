//! The environment of Tapgate's demo, shared by `tapgate demo` and the desktop app: the dev IdP,
//! a software key for alice@example.com, a PostgreSQL 18 cluster with TLS and Tapgate's OAuth
//! validator, the sample schema and a demo config, all in a folder of their own. The forwarder
//! is not here: the CLI runs `tapgate connect demo` as a child, the desktop app runs it in-process,
//! both on [`DemoEnvironment::config_path`] and [`DemoEnvironment::data_dir`].
//!
//! # Layout
//! - [`environment`]: [`DemoEnvironment`]: the start-up steps in order, the PID list, the stop.
//! - [`dir`]: [`DemoDir`]: the demo folder, what lives where in it, the demo config.
//! - [`binaries`]: [`DemoBinaries`]: tapgate-devidp and the validator module beside an executable.
//! - [`progress`]: [`Progress`]: how start-up steps are reported to whoever shows them.
//! - [`processes`]: child processes in their own process group, signals, bounded stops.
//! - `idp`: the dev IdP and the demo user's software key.
//! - `certs`: the demo CA and the PostgreSQL server certificate (rcgen).
//! - `postgres`: finding or installing PostgreSQL 18; the cluster, its settings, TLS, start and
//!   stop, and schema, one file per step under `postgres/`.
//! - [`error`]: [`DemoError`], the one error type of this crate.

pub mod binaries;
mod certs;
pub mod dir;
pub mod environment;
pub mod error;
mod idp;
mod postgres;
pub mod processes;
pub mod progress;

pub use binaries::DemoBinaries;
pub use dir::DemoDir;
pub use environment::DemoEnvironment;
pub use error::DemoError;
pub use progress::Progress;

/// The demo user (enrolled with a software key).
pub const DEMO_USER: &str = "alice@example.com";
/// The demo user's group; the validator maps it to both demo roles.
pub const DEMO_GROUP: &str = "dba";
/// The IdP and database name in the demo config (`tapgate connect demo`).
pub const DEMO_NAME: &str = "demo";
/// A query worth trying through the forwarder: who the server says you are, and the sample rows.
pub const TRY_QUERY: &str = "select system_user, current_user, count(*) from orders";

/// The psql command line to try once the forwarder listens on `connection_uri`.
pub fn psql_hint(connection_uri: &str) -> String {
    format!("psql \"{connection_uri}\" -c '{TRY_QUERY}'")
}
