//! What the terminal shows for a device sign-in (RFC 8628 §3.3): where to go, the code to
//! type, and a QR code of the page with the code filled in, so a phone can scan it off an
//! SSH session.
//!
//! The QR code comes from the `qrcode` crate: maintained, pure Rust, and its unicode
//! renderer draws two modules per character cell with half blocks, which every terminal
//! font has, without pulling in an image library (default features are off).

use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;
use tapgate_core::DeviceRequest;

/// The prompt's text, ending in a newline. `qr`: draw the QR code (on a terminal; a log or a
/// pipe gets the words only).
pub fn text(request: &DeviceRequest, qr: bool) -> String {
    let minutes = request.expires_in.as_secs().div_ceil(60);
    let mut out = format!("To sign in to {}, open this page on any device:\n\n", request.idp);
    match &request.verification_uri_complete {
        Some(complete) => {
            out.push_str(&format!("    {complete}\n\n"));
            out.push_str(&format!(
                "and check that it shows the code {} (or open {} and type it).\n",
                request.user_code, request.verification_uri
            ));
        }
        None => {
            out.push_str(&format!("    {}\n\n", request.verification_uri));
            out.push_str(&format!("and type the code {}\n", request.user_code));
        }
    }
    out.push_str(&format!("The code works for {minutes} min.\n"));
    if qr && let Some(qr) = qr_code(request) {
        out.push('\n');
        out.push_str(&qr);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// The QR code of the complete URI (else the plain one), light on dark as phones expect of a
/// dark terminal too: `Dense1x2` draws it with a quiet zone.
fn qr_code(request: &DeviceRequest) -> Option<String> {
    let url = request.verification_uri_complete.as_ref().unwrap_or(&request.verification_uri);
    let code = QrCode::new(url.as_str().as_bytes()).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use url::Url;

    use super::*;

    fn request(complete: bool) -> DeviceRequest {
        DeviceRequest {
            idp: "corp".into(),
            verification_uri: Url::parse("https://login.example.com/device").expect("url"),
            verification_uri_complete: complete
                .then(|| Url::parse("https://login.example.com/device?user_code=BCDF-GHJK").expect("url")),
            user_code: "BCDF-GHJK".into(),
            expires_in: Duration::from_secs(600),
        }
    }

    #[test]
    fn the_complete_uri_and_the_code_are_shown() {
        let text = text(&request(true), false);
        assert!(text.contains("    https://login.example.com/device?user_code=BCDF-GHJK\n"), "{text}");
        assert!(text.contains("the code BCDF-GHJK"), "{text}");
        assert!(text.contains("works for 10 min"), "{text}");
        assert!(!text.contains('█') && !text.contains('▀'), "no QR code off a terminal");
    }

    #[test]
    fn without_a_complete_uri_the_person_types_the_code() {
        let text = text(&request(false), true);
        assert!(
            text.contains("    https://login.example.com/device\n\nand type the code BCDF-GHJK"),
            "{text}"
        );
        assert!(text.contains('▀') || text.contains('▄') || text.contains('█'), "a QR code on a terminal");
    }
}
