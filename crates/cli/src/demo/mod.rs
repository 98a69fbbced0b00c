//! The pieces `tapgate demo` starts, configures and stops; the command itself (the order of the
//! steps, Ctrl-C) is `commands/demo.rs`.
//!
//! # Layout
//! - [`files`]: the demo folder: where everything lives, the demo config, the PID list.
//! - [`processes`]: child processes: spawning in their own process group, signals, bounded stops.
//! - [`progress`]: the "Starting X… ok" lines.
//! - [`idp`]: the dev IdP and the demo user's software key.
//! - [`certs`]: the demo CA and the PostgreSQL server certificate (rcgen).
//! - [`postgres`]: a PostgreSQL 18 cluster with TLS, the OAuth validator and the sample schema.
//! - [`forwarder`]: `tapgate connect demo` as a child, with the demo's config and data folder.

pub mod certs;
pub mod files;
pub mod forwarder;
pub mod idp;
pub mod postgres;
pub mod processes;
pub mod progress;
