//! Registration with a real USB security key (CTAP2 over HID), feature `usb`.

use std::io::Write;

use futures::StreamExt;
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::ctap2::CtapAuthenticator;
use webauthn_authenticator_rs::transport::{TokenEvent, Transport};
use webauthn_authenticator_rs::types::{CableRequestType, CableState, EnrollSampleStatus};
use webauthn_authenticator_rs::ui::{Cli, UiCallback};
use webauthn_authenticator_rs::usb::USBTransport;
use webauthn_rs::prelude::{CreationChallengeResponse, RegisterPublicKeyCredential};

use crate::error::Error;

/// Prompts on stderr; PIN entry is delegated to the crate's terminal prompt (no echo).
#[derive(Debug)]
struct TouchPrompt;

impl UiCallback for TouchPrompt {
    fn request_pin(&self) -> Option<String> {
        Cli {}.request_pin()
    }

    fn request_touch(&self) {
        say("Touch your security key");
    }

    fn processing(&self) {}

    fn fingerprint_enrollment_feedback(&self, _remaining: u32, _feedback: Option<EnrollSampleStatus>) {}

    fn cable_qr_code(&self, _request_type: CableRequestType, _url: String) {}

    fn dismiss_qr_code(&self) {}

    fn cable_status_update(&self, _state: CableState) {}
}

fn say(line: &str) {
    let mut stderr = std::io::stderr();
    let _ = writeln!(stderr, "{line}");
}

/// Runs the registration on the first USB key found. Blocks until the key is touched.
pub(super) fn register(
    origin: Url,
    challenge: CreationChallengeResponse,
) -> Result<RegisterPublicKeyCredential, Error> {
    // Own runtime with a worker thread: the CTAP code blocks on futures internally, and
    // the HID I/O they wait for must be driven by a thread other than the blocked one.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| Error::Usb(format!("cannot start the USB runtime: {e}")))?;
    let ui = TouchPrompt;
    let mut authenticator = runtime.block_on(first_key(&ui))?;
    let _context = runtime.enter();
    say("Touch your security key");
    authenticator
        .do_registration(origin, challenge)
        .map_err(|e| Error::Usb(format!("registration failed: {e}")))
}

/// Waits for a USB security key to be present and opens it.
async fn first_key(
    ui: &TouchPrompt,
) -> Result<CtapAuthenticator<'_, <USBTransport as Transport<'static>>::Token, TouchPrompt>, Error> {
    let transport =
        USBTransport::new().await.map_err(|e| Error::Usb(format!("cannot open USB HID devices: {e}")))?;
    let mut events =
        transport.watch().await.map_err(|e| Error::Usb(format!("cannot watch USB devices: {e}")))?;
    while let Some(event) = events.next().await {
        match event {
            TokenEvent::Added(token) => {
                if let Some(authenticator) = CtapAuthenticator::new(token, ui).await {
                    return Ok(authenticator);
                }
            }
            TokenEvent::EnumerationComplete => say("Insert your security key"),
            TokenEvent::Removed(_) => {}
        }
    }
    Err(Error::Usb("no USB security key found".to_owned()))
}
