//! Tapgate's IdP client: OIDC discovery, sign-in (a FIDO2 key tap through the IdP's passkey API,
//! the IdP's page in the browser, or a code typed on another device), refresh,
//! clock-skew measurement, and the security-key / software-key authenticators.
//!
//! # Layout
//!
//! - `client`: [`IdpClient`], one per configured IdP: `sign_in`, `sign_in_with_device`,
//!   `refresh` and `revoke`.
//! - `discovery`: OpenID Connect Discovery, parsed and validated with `openidconnect`.
//! - `browser`: browser sign-in (RFC 8252, code + PKCE): the [`BrowserOpener`] seam,
//!   `authorize` (the URL), `callback` (the redirect, sans IO), `listener` (the loopback port),
//!   `exchange` (the code grant), `id_token` (OIDC Core §3.1.3.7 checks).
//! - `device`: device sign-in (RFC 8628): `authorization` (the device and user codes),
//!   `schedule` (when to poll), `answer` (what a poll means), the loop on tokio time.
//! - `auth0`: the Auth0 Native Passkeys dialect: challenge, WebAuthn grant, refresh grant, and
//!   their JSON shapes.
//! - `okta`: the Okta Direct Authentication dialect with WebAuthn: primary-authenticate (its
//!   endpoint derived from the token endpoint), the WebAuthn grant with flat form fields.
//! - `http`: the HTTPS client (trust roots, timeouts, redirects), `Date` capture, transport/TLS
//!   failure classification, the OAuth error body.
//! - `token`: [`TokenSet`] from a token response; redacted `Debug`.
//! - `probe`: the discovery document and the JWKS fetched without signing in (`tapgate doctor`).
//! - `revoke`: refresh-token revocation at sign-out (RFC 7009).
//! - `claims`: [`Claims`] and [`decode_claims`] (no signature check: the database side verifies).
//! - `skew`: [`ClockSkew`], IdP clock minus local clock.
//! - `authenticator`: the [`Authenticator`] and [`Prompt`] traits, [`authenticator_for`], and the
//!   mapping of key errors.
//! - `soft`: software keys in a file (`SoftTokenFile`).
//! - `usb`: USB security keys over CTAP2 HID (cargo feature `usb`).
//! - `usb_presence`: [`find_usb_keys`], whether a key is plugged in and may be opened.
//! - `error`: [`IdpError`], one actionable line per failure, never a token.

mod auth0;
mod authenticator;
mod browser;
mod claims;
mod client;
mod device;
mod discovery;
mod error;
mod http;
mod okta;
mod probe;
mod revoke;
mod skew;
mod soft;
mod token;
#[cfg(feature = "usb")]
mod usb;
mod usb_presence;

pub use authenticator::{Authenticator, KeyKind, Prompt, TouchRequest, authenticator_for};
pub use browser::{BrowserOpener, BrowserRequest, BrowserSettings, DEFAULT_CALLBACK_TIMEOUT};
pub use claims::{Claims, decode_claims};
pub use client::IdpClient;
pub use device::{DeviceRequest, DeviceSettings};
pub use error::IdpError;
pub use probe::{DiscoveryProbe, JwksProbe};
pub use skew::ClockSkew;
pub use token::TokenSet;
pub use usb_presence::{UsbKeys, find_usb_keys};

/// The WebAuthn types that appear in the [`Authenticator`] trait.
pub use webauthn_rs_proto::{PublicKeyCredential, RequestChallengeResponse};
