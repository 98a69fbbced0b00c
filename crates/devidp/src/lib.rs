//! tapgate-devidp: a small, real OIDC provider speaking the Auth0 Native Passkeys dialect,
//! Okta's Direct Authentication with WebAuthn, the browser sign-in of native apps
//! (authorization code + PKCE, RFC 8252) with a WebAuthn sign-in page, and the device
//! authorization grant (RFC 8628) with a WebAuthn verification page
//! (docs/idp-wire-contract.md), for Tapgate demos and tests.
//!
//! It serves HTTPS on loopback with its own CA, signs ES256 tokens, verifies security-key
//! assertions with webauthn-rs and keeps its state in a data directory, so other processes
//! (`enroll`, `rotate-key`) can change users and keys while it runs.
//!
//! # Layout
//!
//! - `error`: [`Error`], the one error type, worded for the person running the IdP.
//! - `clock`: the IdP clock, system time shifted by `--clock-offset`.
//! - `data_dir`: [`DataDir`], file names, atomic 0600 writes, the cross-process lock.
//! - `tls`: the CA and the `localhost` server certificate, rustls with ring,
//!   [`server_spki_sha256`] for browsers.
//! - `keys`: ES256 signing keys, [`rotate_key`], the JWKS.
//! - `users`: accounts and their enrolled security keys, [`list_users`].
//! - `pending`: in-memory, single-use, expiring state between two requests of a sign-in.
//! - `passkey`: the WebAuthn relying party and pending sign-in ceremonies.
//! - `authorize_request`: the `/authorize` query checked (sans-IO): what is shown, what is
//!   redirected.
//! - `redirect_uri`: loopback redirect URIs of native clients (RFC 8252 7.3).
//! - `pkce`: S256 challenges and verifiers (RFC 7636), compared in constant time.
//! - `auth_code`: authorization codes, stored hashed, single use, 60 s on the IdP clock.
//! - `user_code`: device-flow user codes (`XXXX-XXXX`, unambiguous letters, typed loosely).
//! - `device_code`: device codes, stored hashed, single use, 10 min on the IdP clock, with
//!   the person's answer and the `slow_down` bookkeeping.
//! - `tokens`: minting the access and ID tokens.
//! - `refresh`: refresh tokens, stored hashed, rotated on use, revocable.
//! - `enroll`: [`enroll`], registration ceremonies with a soft key or a USB key.
//! - `export`: [`export_credentials`], a soft key's credentials for a WebDriver virtual
//!   authenticator.
//! - `server`: [`IdpServer`] / [`serve`], routes (`server::discovery`, `server::challenge`,
//!   `server::token` with `server::code_grant` and `server::device_grant`,
//!   `server::okta_challenge` and `server::okta_grant` (the Okta dialect), `server::revoke`,
//!   `server::authorize`, `server::browser_sign_in`, `server::device_authorization`,
//!   `server::device_sign_in`, `server::key_ceremony` (shared by both pages and both dialects),
//!   `server::sign_in_page`), request bodies, JSON errors and the `Date` header.
//!
//! # Data directory
//!
//! `ca.pem` (trust this), `ca-key.pem`, `server.pem`, `server-key.pem`, `issuer`,
//! `users.json`, `signing-keys.json`, `refresh-tokens.json`, `authorization-codes.json`,
//! `device-codes.json`, `.lock`. Everything secret is
//! mode 0600 and replaced atomically.

mod auth_code;
mod authorize_request;
mod clock;
mod data_dir;
mod device_code;
mod enroll;
mod error;
mod export;
mod keys;
mod passkey;
mod pending;
mod pkce;
mod redirect_uri;
mod refresh;
mod server;
mod tls;
mod tokens;
mod user_code;
mod users;

pub use data_dir::DataDir;
pub use enroll::{EnrollKey, EnrollOptions, Enrolled, enroll};
pub use error::Error;
pub use export::{ExportedCredential, export_credentials};
pub use keys::{RotatedKey, rotate_key};
pub use server::{DEFAULT_LISTEN, IdpServer, ServeOptions, parse_listen_address, serve};
pub use tls::{install_ring_provider, server_spki_sha256};
pub use users::{UserSummary, list_users};
