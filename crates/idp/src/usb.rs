//! USB security keys: CTAP2 over USB HID through webauthn-authenticator-rs (feature `usb`).

use std::fmt;
use std::time::Duration;

use futures::StreamExt as _;
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::ctap2::CtapAuthenticator;
use webauthn_authenticator_rs::transport::{TokenEvent, Transport as _};
use webauthn_authenticator_rs::types::{CableRequestType, CableState, EnrollSampleStatus};
use webauthn_authenticator_rs::ui::UiCallback;
use webauthn_authenticator_rs::usb::{USBToken, USBTransport};
use webauthn_rs_proto::{PublicKeyCredential, RequestChallengeResponse};

use crate::IdpError;
use crate::authenticator::{Authenticator, KeyKind, Prompt, TouchRequest, ceremony_error};

/// How long to wait for a key to be plugged in when none is present (W3C WebAuthn's default
/// ceremony timeout is of the same order).
const INSERT_TIMEOUT: Duration = Duration::from_secs(60);

/// The first FIDO2 security key found on USB.
pub(crate) struct UsbKey;

impl UsbKey {
    pub(crate) fn new() -> UsbKey {
        UsbKey
    }
}

impl Authenticator for UsbKey {
    fn kind(&self) -> KeyKind {
        KeyKind::Usb
    }

    fn authenticate(
        &self,
        request: &TouchRequest,
        origin: &Url,
        challenge: RequestChallengeResponse,
        prompt: &dyn Prompt,
    ) -> Result<PublicKeyCredential, IdpError> {
        // The transport is async (udev watch, HID I/O) while `perform_auth` blocks inside with
        // `futures::executor::block_on` and, between keep-alives, awaits `tokio::time::sleep`.
        // That sleep needs a timer driven by another thread while this one is blocked: a
        // current-thread runtime would never fire it, so this is a one-worker multi-thread
        // runtime of our own (we are already on a blocking thread, so owning one is allowed).
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tapgate-usb")
            .enable_all()
            .build()
            .map_err(|err| IdpError::UsbUnavailable {
                reason: format!("cannot start the USB runtime ({err})"),
            })?;

        let ui = UiBridge { prompt, request };
        let rp_id = challenge.public_key.rp_id.clone();
        let result = (|| {
            let token = runtime.block_on(first_key(prompt, request))?;
            let mut key = runtime.block_on(CtapAuthenticator::new(token, &ui)).ok_or_else(|| {
                IdpError::UsbUnavailable {
                    reason: "the security key does not speak CTAP2 (FIDO2)".to_string(),
                }
            })?;
            let _in_runtime = runtime.enter();
            key.do_authentication(origin.clone(), challenge)
                .map_err(|err| ceremony_error(err, request, origin, &rp_id))
        })();
        // The udev watch thread notices the dropped stream within a second.
        runtime.shutdown_timeout(Duration::from_secs(2));
        result
    }
}

/// How many FIDO2 keys on USB this user can open now, found as a sign-in finds them (for
/// `tapgate doctor`). BLOCKING: the transport's listing and opening are file and udev calls.
pub(crate) fn usable_keys() -> Result<usize, IdpError> {
    let unavailable = |reason: String| IdpError::UsbUnavailable { reason };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| unavailable(format!("cannot start the USB runtime ({err})")))?;
    runtime.block_on(async {
        let transport = USBTransport::new().await.map_err(|err| unavailable(err.to_string()))?;
        let tokens = transport.tokens().await.map_err(|err| unavailable(err.to_string()))?;
        Ok(tokens.len())
    })
}

/// Waits for a FIDO2 key on USB: one already plugged in, or the first one plugged in within
/// `INSERT_TIMEOUT` (the user is told to insert one).
async fn first_key(prompt: &dyn Prompt, request: &TouchRequest) -> Result<USBToken, IdpError> {
    let unavailable = |reason: String| IdpError::UsbUnavailable { reason };
    let transport = USBTransport::new().await.map_err(|err| unavailable(err.to_string()))?;
    let mut events = transport.watch().await.map_err(|err| unavailable(err.to_string()))?;
    let wait = async {
        while let Some(event) = events.next().await {
            match event {
                TokenEvent::Added(token) => return Some(token),
                // Everything present at start-up has been listed: ask for a key.
                TokenEvent::EnumerationComplete => prompt.insert_key(request),
                TokenEvent::Removed(_) => {}
            }
        }
        None
    };
    match tokio::time::timeout(INSERT_TIMEOUT, wait).await {
        Ok(Some(token)) => Ok(token),
        Ok(None) => Err(unavailable(
            "the USB device watch stopped (check udev permissions for /dev/hidraw*)".to_string(),
        )),
        Err(_) => Err(unavailable(format!(
            "none was plugged in within {} s (on Linux, check udev permissions for /dev/hidraw*)",
            INSERT_TIMEOUT.as_secs()
        ))),
    }
}

/// webauthn-authenticator-rs's UI callbacks, forwarded to our `Prompt`.
struct UiBridge<'a> {
    prompt: &'a dyn Prompt,
    request: &'a TouchRequest,
}

impl fmt::Debug for UiBridge<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UiBridge").field("request", self.request).finish()
    }
}

impl UiCallback for UiBridge<'_> {
    fn request_pin(&self) -> Option<String> {
        self.prompt.request_pin(self.request)
    }

    fn request_touch(&self) {
        self.prompt.touch_key(self.request);
    }

    fn processing(&self) {}

    fn fingerprint_enrollment_feedback(
        &self,
        _remaining_samples: u32,
        _feedback: Option<EnrollSampleStatus>,
    ) {
    }

    fn cable_qr_code(&self, _request_type: CableRequestType, _url: String) {}

    fn dismiss_qr_code(&self) {}

    fn cable_status_update(&self, _state: CableState) {}
}
