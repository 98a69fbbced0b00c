//! The crate's one error type: each variant prints one actionable line, never a token.

use std::path::PathBuf;

use crate::authenticator::KeyKind;

/// Everything that can go wrong talking to an IdP or a key.
///
/// Messages are single lines meant for the user as-is. Fields hold only names, URLs, paths and
/// sanitised IdP error descriptions: a token, refresh token or auth session never ends up here.
#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    /// Connection refused, DNS failure, timeout, connection dropped.
    #[error("cannot reach the IdP {idp} at {url}: {reason}")]
    Unreachable { idp: String, url: String, reason: String },

    /// The TLS handshake failed (untrusted or mismatched certificate, protocol error).
    #[error("TLS failure talking to the IdP {idp} at {url}: {reason}")]
    Tls { idp: String, url: String, reason: String },

    /// `ca_file` could not be read or holds no usable certificate.
    #[error("cannot use ca_file {path} of [idp.{idp}]: {reason}")]
    CaFile { idp: String, path: PathBuf, reason: String },

    /// The HTTP client could not be set up (TLS backend initialisation).
    #[error("cannot set up the HTTP client for the IdP {idp}: {reason}")]
    HttpClient { idp: String, reason: String },

    /// The discovery document is missing, malformed, or names another issuer.
    #[error("bad discovery document from the IdP {idp} at {issuer}: {reason}")]
    BadDiscovery { idp: String, issuer: String, reason: String },

    /// The IdP does not know the configured client_id.
    #[error("the IdP {idp} does not know client_id {client_id}: check client_id in [idp.{idp}]")]
    UnknownClient { idp: String, client_id: String },

    /// The IdP has no such user (Auth0 `user_not_found`).
    #[error("the IdP {idp} has no user named {username}: check username in [idp.{idp}]")]
    UnknownUser { idp: String, username: String },

    /// The user exists but has no registered key at all (`no_credentials`).
    #[error("{username} has no registered key at {idp}: enroll one with the IdP first")]
    NoCredentials { idp: String, username: String },

    /// The key in use holds no credential the IdP lists for this user, or the IdP says the
    /// credential that signed is not this user's.
    #[error("this {kind} is not registered for {username} at {idp}")]
    KeyNotRegistered { idp: String, username: String, kind: KeyKind },

    /// The IdP verified the assertion and refused it.
    #[error("the IdP {idp} refused the sign-in: {description}")]
    AssertionRefused { idp: String, description: String },

    /// The WebAuthn origin (`rp_origin`) does not fit the relying-party id the IdP asked for.
    #[error(
        "rp_origin {origin} in [idp.{idp}] does not match the IdP's relying-party id {rp_id}: set rp_origin to an https origin under {rp_id}"
    )]
    OriginMismatch { idp: String, origin: String, rp_id: String },

    /// Nobody touched the security key in time.
    #[error("no touch on the security key for {idp} in time: try again and touch the key when it blinks")]
    TapTimedOut { idp: String },

    /// The user cancelled (PIN prompt dismissed, software key not approved).
    #[error("sign-in to {idp} cancelled")]
    Cancelled { idp: String },

    /// The key refused or failed the ceremony for another reason (wrong PIN, no UV, ...).
    #[error("the {kind} could not sign in to {idp}: {reason}")]
    KeyFailed { idp: String, kind: KeyKind, reason: String },

    /// The IdP wants a second factor after the key tap (Okta `mfa_required`).
    #[error(
        "the IdP {idp} asks for a second factor after the key tap, which Tapgate does not do yet: use flow = \"browser\" for it"
    )]
    SecondFactorRequired { idp: String },

    /// The IdP will not let this client use its key-tap API (Okta: the WebAuthn direct-auth
    /// grant is not enabled for the app, or the client is not the registered one).
    #[error(
        "the IdP {idp} would not start a key sign-in ({description}): check client_id in [idp.{idp}] and that the app may use the WebAuthn direct-authentication grant, or use flow = \"browser\""
    )]
    DirectAuthRefused { idp: String, description: String },

    /// The refresh token was refused (expired, revoked, reused): a tap is needed.
    #[error("the IdP {idp} refused the refresh token ({description}): sign in again with your key")]
    RefreshRejected { idp: String, description: String },

    /// The IdP will not issue a token for a database's own audience or scopes.
    #[error(
        "the IdP {idp} will not issue a token for {target} ({description}): ask its administrators to allow \
         this client that audience and scopes, or fix `audience`/`scopes` of the database"
    )]
    TargetRefused { idp: String, target: String, description: String },

    /// The IdP did not revoke the refresh token at sign-out (it is forgotten here anyway).
    #[error(
        "the IdP {idp} did not revoke the refresh token ({reason}); it stays valid there until it expires"
    )]
    RevocationFailed { idp: String, reason: String },

    /// The software key file cannot be opened or decoded.
    #[error("cannot open software key {path}: {reason}")]
    KeyFile { path: PathBuf, reason: String },

    /// This binary was built without the `usb` feature.
    #[error("this build has no USB support; rebuild with --features usb")]
    UsbNotBuilt,

    /// No usable USB security key (none plugged in, no permission, not FIDO2).
    #[error("no usable USB security key: {reason}")]
    UsbUnavailable { reason: String },

    /// A passkey sign-in without a user name (an `IdpConfig` made by hand: the loader refuses it).
    #[error("a passkey sign-in to {idp} needs username in [idp.{idp}]")]
    NoUsername { idp: String },

    /// A browser sign-in was asked of a client that was given no way to open a browser.
    #[error(
        "this program cannot open a browser for the sign-in to {idp} (flow = \"browser\"): use another flow"
    )]
    NoBrowser { idp: String },

    /// The opener could not hand the sign-in page to a browser.
    #[error("cannot open a browser: {reason}; open the sign-in URL yourself")]
    BrowserNotOpened { reason: String },

    /// The loopback port for the browser's answer could not be opened.
    #[error(
        "cannot listen for the browser's answer for {idp} on 127.0.0.1:{port}: {reason}; set redirect_port in [idp.{idp}] to 0 or a free port"
    )]
    CallbackListener { idp: String, port: u16, reason: String },

    /// Nobody finished the sign-in in the browser in time.
    #[error(
        "the sign-in to {idp} was not finished in the browser within {seconds} s: sign in again and finish it in the browser"
    )]
    CallbackTimedOut { idp: String, seconds: u64 },

    /// The browser came back with a `state` that is not this sign-in's (RFC 6749 §10.12).
    #[error(
        "the browser's answer for {idp} is not for this sign-in (state mismatch): sign in again, from one window at a time"
    )]
    StateMismatch { idp: String },

    /// The IdP sent the browser back with an error (RFC 6749 §4.1.2.1).
    #[error("the IdP {idp} did not sign you in: {description}")]
    AuthorizationDenied { idp: String, error: String, description: String },

    /// The browser came back with something that is not an authorization response.
    #[error("the browser's answer for {idp} was not understood: {reason}")]
    BadCallback { idp: String, reason: String },

    /// The token endpoint refused the authorization code (`invalid_grant`: used, expired, or
    /// the PKCE verifier does not match).
    #[error("the IdP {idp} refused the sign-in code ({description}): sign in again")]
    CodeRejected { idp: String, description: String },

    /// The ID token failed a check of OIDC Core §3.1.3.7 (signature, iss, aud, azp, nonce, exp).
    #[error("the ID token from {idp} failed its checks: {reason}")]
    IdTokenRejected { idp: String, reason: String },

    /// The IdP offers no device sign-in (RFC 8628): no `device_authorization_endpoint`.
    #[error(
        "the IdP {idp} offers no device sign-in (its discovery document has no device_authorization_endpoint): use flow = \"browser\""
    )]
    NoDeviceFlow { idp: String },

    /// The device authorization endpoint refused to start a device sign-in (RFC 8628 §3.2).
    #[error(
        "the IdP {idp} would not start a device sign-in ({description}): check that client_id {client_id} may use the device flow"
    )]
    DeviceFlowRefused { idp: String, client_id: String, description: String },

    /// The IdP says the device code expired before the person confirmed it (`expired_token`).
    #[error("the code for {idp} expired before it was confirmed; run it again")]
    DeviceCodeExpired { idp: String },

    /// The person (or the IdP) refused the device sign-in (`access_denied`).
    #[error("the sign-in to {idp} was refused at the IdP")]
    DeviceAccessDenied { idp: String },

    /// The device code's own lifetime (`expires_in`) ran out while polling.
    #[error("the code for {idp} was not confirmed within {seconds} s; run it again")]
    DeviceCodeTimedOut { idp: String, seconds: u64 },

    /// The IdP answered something this client does not understand.
    #[error("the IdP {idp} answered {status} to {endpoint}: {detail}")]
    Protocol {
        idp: String,
        endpoint: String,
        /// "HTTP 500 Internal Server Error", or "HTTP 200 OK" for an unreadable success body.
        status: String,
        /// The IdP's `error: error_description`, or what was wrong with its answer.
        detail: String,
    },

    /// A token whose claims cannot be read.
    #[error("the IdP sent a token whose claims cannot be read: {reason}")]
    InvalidToken { reason: String },
}

impl IdpError {
    /// Whether the caller should start a new sign-in (a tap) rather than retry the same call.
    pub fn is_sign_in_needed(&self) -> bool {
        matches!(self, IdpError::RefreshRejected { .. })
    }

    /// Whether the IdP could not be reached at all (the network, not the IdP, is at fault), so
    /// a cached, still-valid token may be worth using.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, IdpError::Unreachable { .. })
    }
}

/// Makes text from the IdP fit in a one-line message: control characters (newlines included)
/// become spaces, and very long descriptions are cut.
pub(crate) fn one_line(text: &str) -> String {
    const MAX_CHARS: usize = 200;
    let mut out: String =
        text.trim().chars().map(|c| if c.is_control() { ' ' } else { c }).take(MAX_CHARS).collect();
    if text.trim().chars().count() > MAX_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_strips_newlines_and_cuts() {
        assert_eq!(one_line(" a\nb\r\tc "), "a b  c");
        let long = "x".repeat(500);
        let cut = one_line(&long);
        assert_eq!(cut.chars().count(), 201);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn messages_are_single_actionable_lines() {
        let samples = [
            IdpError::Unreachable {
                idp: "corp".into(),
                url: "https://localhost:8443".into(),
                reason: "connection refused".into(),
            },
            IdpError::KeyNotRegistered {
                idp: "corp".into(),
                username: "alice@example.com".into(),
                kind: KeyKind::Soft,
            },
            IdpError::RefreshRejected { idp: "corp".into(), description: "refresh token expired".into() },
            IdpError::UsbNotBuilt,
        ];
        for err in samples {
            let text = err.to_string();
            assert!(!text.contains('\n'), "{text}");
        }
        let text = IdpError::KeyNotRegistered {
            idp: "corp".into(),
            username: "alice@example.com".into(),
            kind: KeyKind::Soft,
        }
        .to_string();
        assert_eq!(text, "this software key is not registered for alice@example.com at corp");
        assert_eq!(
            IdpError::Unreachable {
                idp: "corp".into(),
                url: "https://localhost:8443".into(),
                reason: "connection refused".into(),
            }
            .to_string(),
            "cannot reach the IdP corp at https://localhost:8443: connection refused"
        );
    }

    #[test]
    fn only_a_rejected_refresh_asks_for_a_tap() {
        assert!(IdpError::RefreshRejected { idp: "c".into(), description: "d".into() }.is_sign_in_needed());
        assert!(!IdpError::Cancelled { idp: "c".into() }.is_sign_in_needed());
    }
}
