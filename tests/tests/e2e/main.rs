//! End-to-end: the `tapgate` CLI against a real `tapgate-devidp` over HTTPS, software keys, and
//! the real keyring (run under `scripts/with-keyring.sh`, as `make test` does).
//!
//! One test binary, a module per topic.
#![allow(clippy::unwrap_used, clippy::panic)]

mod audiences;
mod browser;
mod clients;
mod clouds;
mod config_errors;
mod demo;
mod desktop;
mod doctor;
mod expiry;
mod failures;
mod faults;
mod forwarder;
mod google_shape;
mod key_rotation;
mod keyring;
mod oauth;
mod oidc_provider;
mod pam_verify;
mod rds;
mod sign_in;
mod site;
