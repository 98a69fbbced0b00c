//! The CLI's side of `tapgate demo`: what the terminal needs around the environment that the
//! `tapgate-demo` crate starts and stops (dev IdP, PostgreSQL 18, schema, demo config). The
//! command itself (the order of the steps, Ctrl-C) is `commands/demo.rs`.
//!
//! # Layout
//! - [`signals`]: Ctrl-C and SIGTERM, caught from the first moment.
//! - [`progress`]: the "Starting X… ok" lines, as the demo's [`tapgate_demo::Progress`].

pub mod progress;
pub mod signals;
