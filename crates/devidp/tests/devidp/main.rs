//! Wire-level tests of the dev IdP: real HTTPS on 127.0.0.1 port 0, real WebAuthn
//! ceremonies with software keys. One binary, one module per topic.

mod browser_sign_in;
mod cli;
mod date_header;
mod device_flow;
mod discovery;
mod export_credential;
mod key_rotation;
mod leak_scan;
mod okta_sign_in;
mod real_browser;
mod refresh;
mod restart;
mod sign_in;
mod support;
