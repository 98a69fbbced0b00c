//! The key side of a sign-in: the `Authenticator` trait (USB security key or software key), the
//! `Prompt` trait through which the CLI and the app show the ceremony, and the mapping of
//! webauthn-authenticator-rs errors to `IdpError`.

use std::fmt;
use std::sync::Arc;

use tapgate_config::AuthenticatorChoice;
use url::Url;
use webauthn_authenticator_rs::error::{CtapError, WebauthnCError};
use webauthn_rs_proto::{PublicKeyCredential, RequestChallengeResponse};

use crate::{BrowserRequest, DeviceRequest, IdpError};

/// Which kind of key signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// A FIDO2 security key over USB.
    Usb,
    /// A software key in a file (demos and tests).
    Soft,
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyKind::Usb => "security key",
            KeyKind::Soft => "software key",
        })
    }
}

/// Who is signing in where, for prompts ("Touch your security key for corp") and error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TouchRequest {
    /// The IdP's name in the configuration (`corp`).
    pub idp: String,
    /// The login hint sent to the IdP.
    pub username: String,
    /// The key that is asked to sign.
    pub kind: KeyKind,
}

/// How the CLI and the desktop app show a ceremony to the user.
pub trait Prompt: Send + Sync {
    /// Ask the user to touch the key. Called from the key's keep-alive loop: must not block.
    fn touch_key(&self, request: &TouchRequest);

    /// Ask for the key's PIN. May block; `None` cancels the sign-in.
    fn request_pin(&self, request: &TouchRequest) -> Option<String>;

    /// Software keys sign without a touch: the app shows an Approve button instead.
    /// `false` cancels the sign-in.
    fn approve_soft_key(&self, _request: &TouchRequest) -> bool {
        true
    }

    /// No USB security key is plugged in yet; the client waits for one. Must not block.
    fn insert_key(&self, _request: &TouchRequest) {}

    /// A browser sign-in is waiting for the person at `request.url` (flow = "browser"): show
    /// it ("Finish signing in in your browser"; a terminal prints the URL, for SSH sessions
    /// where no browser opens). Called just before the `BrowserOpener`. Must not block.
    fn browser_sign_in(&self, _request: &BrowserRequest) {}

    /// A device sign-in (RFC 8628) is waiting for the person to type `request.user_code` at
    /// `request.verification_uri` on another device: show both (a terminal also prints a QR
    /// code of `verification_uri_complete` when there is one). Called once, before polling
    /// starts. Must not block.
    fn device_sign_in(&self, _request: &DeviceRequest) {}

    /// Completes when the person cancels a sign-in that waits on them elsewhere (the browser
    /// page): the wait then ends at once with [`IdpError::Cancelled`]. By default it never does
    /// (a terminal cancels with Ctrl-C, which ends the process).
    fn cancelled(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::pending())
    }

    /// The ceremony is over (successfully or not): hide the prompt.
    fn finished(&self) {}
}

/// A key that signs WebAuthn assertions.
///
/// BLOCKING: the client calls it on a blocking thread (`tokio::task::spawn_blocking`), because a
/// USB ceremony waits for a touch for up to a minute.
pub trait Authenticator: Send + Sync {
    /// Which kind of key this is.
    fn kind(&self) -> KeyKind;

    /// Performs the WebAuthn authentication ceremony (W3C WebAuthn §5.1.4 `[[Get]]`) for
    /// `challenge`, asserting `origin` in clientDataJSON.
    ///
    /// `request` names the IdP and user for prompts and errors.
    fn authenticate(
        &self,
        request: &TouchRequest,
        origin: &Url,
        challenge: RequestChallengeResponse,
        prompt: &dyn Prompt,
    ) -> Result<PublicKeyCredential, IdpError>;
}

/// The authenticator configured for an IdP.
pub fn authenticator_for(choice: &AuthenticatorChoice) -> Result<Arc<dyn Authenticator>, IdpError> {
    match choice {
        AuthenticatorChoice::Soft(path) => Ok(Arc::new(crate::soft::SoftKey::new(path.clone()))),
        AuthenticatorChoice::Usb => usb_authenticator(),
    }
}

#[cfg(feature = "usb")]
fn usb_authenticator() -> Result<Arc<dyn Authenticator>, IdpError> {
    Ok(Arc::new(crate::usb::UsbKey::new()))
}

#[cfg(not(feature = "usb"))]
fn usb_authenticator() -> Result<Arc<dyn Authenticator>, IdpError> {
    Err(IdpError::UsbNotBuilt)
}

/// Maps a ceremony failure of webauthn-authenticator-rs to what the user should hear.
///
/// Backend-specific meanings (the software key's `Internal` for "no such credential") are
/// handled by the backend before calling this.
pub(crate) fn ceremony_error(
    err: WebauthnCError,
    request: &TouchRequest,
    origin: &Url,
    rp_id: &str,
) -> IdpError {
    let idp = request.idp.clone();
    let key_failed = |reason: &str| IdpError::KeyFailed {
        idp: idp.clone(),
        kind: request.kind,
        reason: reason.to_string(),
    };
    match err {
        // CTAP2 §6.2 authenticatorGetAssertion: no credential of the allow list lives on this key.
        WebauthnCError::Ctap(CtapError::Ctap2NoCredentials | CtapError::Ctap2InvalidCredential) => {
            IdpError::KeyNotRegistered { idp, username: request.username.clone(), kind: request.kind }
        }
        WebauthnCError::Ctap(
            CtapError::Ctap2UserActionTimeout | CtapError::Ctap2ActionTimeout | CtapError::Ctap1Timeout,
        ) => IdpError::TapTimedOut { idp },
        WebauthnCError::Cancelled | WebauthnCError::Ctap(CtapError::Ctap2KeepAliveCancel) => {
            IdpError::Cancelled { idp }
        }
        WebauthnCError::Ctap(CtapError::Ctap2PinInvalid) => key_failed("wrong PIN"),
        WebauthnCError::Ctap(CtapError::Ctap2PinBlocked) => {
            key_failed("the PIN is blocked after too many wrong tries; reset the key")
        }
        WebauthnCError::Ctap(CtapError::Ctap2PinAuthBlocked) => {
            key_failed("too many wrong PINs: unplug the key, plug it back in and try again")
        }
        WebauthnCError::Ctap(CtapError::Ctap2OperationDenied | CtapError::Ctap2NotAllowed) => {
            key_failed("the key denied the request")
        }
        WebauthnCError::UserVerificationRequired | WebauthnCError::Ctap(CtapError::Ctap2PinNotSet) => {
            key_failed("the IdP requires user verification: set a PIN on the key")
        }
        WebauthnCError::NotSupported if request.kind == KeyKind::Soft => {
            key_failed("the IdP requires user verification, which this software key cannot do")
        }
        // W3C WebAuthn §5.1.4.1 steps 7-8: the origin must be https and rpId a suffix of its host.
        WebauthnCError::Security => IdpError::OriginMismatch {
            idp,
            origin: origin.origin().ascii_serialization(),
            rp_id: rp_id.to_string(),
        },
        WebauthnCError::NoHidDevices => IdpError::UsbUnavailable {
            reason: "no USB HID device can be opened; check the udev rules for FIDO keys".to_string(),
        },
        other => key_failed(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: KeyKind) -> TouchRequest {
        TouchRequest { idp: "corp".into(), username: "alice@example.com".into(), kind }
    }

    fn origin() -> Url {
        Url::parse("https://localhost:8443/").expect("url")
    }

    #[test]
    fn ctap_errors_map_to_user_words() {
        let err = ceremony_error(
            WebauthnCError::Ctap(CtapError::Ctap2NoCredentials),
            &request(KeyKind::Usb),
            &origin(),
            "localhost",
        );
        assert_eq!(err.to_string(), "this security key is not registered for alice@example.com at corp");

        let err = ceremony_error(
            WebauthnCError::Ctap(CtapError::Ctap2UserActionTimeout),
            &request(KeyKind::Usb),
            &origin(),
            "localhost",
        );
        assert!(matches!(err, IdpError::TapTimedOut { .. }), "{err}");

        let err = ceremony_error(WebauthnCError::Cancelled, &request(KeyKind::Usb), &origin(), "localhost");
        assert!(matches!(err, IdpError::Cancelled { .. }), "{err}");

        let err = ceremony_error(WebauthnCError::Security, &request(KeyKind::Soft), &origin(), "example.com");
        assert_eq!(
            err.to_string(),
            "rp_origin https://localhost:8443 in [idp.corp] does not match the IdP's relying-party id example.com: set rp_origin to an https origin under example.com"
        );
    }

    #[cfg(not(feature = "usb"))]
    #[test]
    fn usb_without_the_feature_says_how_to_get_it() {
        let err = authenticator_for(&AuthenticatorChoice::Usb).err().expect("no usb");
        assert_eq!(err.to_string(), "this build has no USB support; rebuild with --features usb");
    }
}
