//! The sign-in prompt: what the window shows while a key ceremony waits for the person.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::KeyKindView;

/// What the ceremony waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum PromptStage {
    /// "Touch your security key for corp".
    Touch,
    /// No security key is plugged in yet.
    Insert,
    /// The key asks for its PIN: the prompt shows a PIN field.
    Pin,
    /// A software key (demo): the prompt shows an Approve button instead of asking for a touch.
    Approve,
    /// The IdP's page is open in the browser: "Finish signing in in your browser", with Open
    /// again (the tab was closed) and Cancel (stops the wait).
    Browser,
    /// A device sign-in: the code to type at the page (shown with a QR code of the page), to be
    /// confirmed on another device; Cancel stops the wait.
    Device,
}

/// A sign-in prompt. A new `id` per ceremony; answers name it so a late click never answers
/// the next ceremony.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PromptView {
    #[ts(type = "number")]
    pub id: u64,
    pub idp: String,
    pub username: String,
    pub key_kind: KeyKindView,
    pub stage: PromptStage,
    /// The headline: "Touch your security key for corp".
    pub message: String,
    /// Why a sign-in is needed: "Connect prod", "psql connected to prod while signed out".
    pub reason: Option<String>,
    /// The sign-in page, for [`PromptStage::Browser`] (shown so it can be copied to another
    /// browser, and opened again) and [`PromptStage::Device`] (where to type the code).
    pub url: Option<String>,
    /// The code to type, for [`PromptStage::Device`] ("BCDF-GHJK").
    pub user_code: Option<String>,
    /// A QR code of the page (with the code in it when the IdP offers that form), for
    /// [`PromptStage::Device`]: one string per row, `1` for a dark module. The window draws it.
    pub qr_rows: Option<Vec<String>>,
}

/// The modules of a QR code for `text`, one string per row (`1` dark, `0` light); `None` when
/// the text is too long for a QR code.
pub fn qr_rows(text: &str) -> Option<Vec<String>> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    Some(
        colors
            .chunks(width)
            .map(|row| row.iter().map(|c| if *c == qrcode::Color::Dark { '1' } else { '0' }).collect())
            .collect(),
    )
}

/// The person's answer to a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum PromptAnswer {
    /// Sign with the software key.
    Approve,
    /// The security key's PIN.
    Pin { pin: String },
    /// Open the browser sign-in page again (its tab was closed).
    OpenAgain,
    /// Stop the sign-in.
    Cancel,
}

/// The headline of a prompt, shared by the window and the notification.
pub fn prompt_message(stage: PromptStage, idp: &str) -> String {
    match stage {
        PromptStage::Touch => format!("Touch your security key for {idp}"),
        PromptStage::Insert => format!("Insert your security key for {idp}"),
        PromptStage::Pin => format!("Enter the PIN of your security key for {idp}"),
        PromptStage::Approve => format!("Approve the sign-in to {idp} with the software key"),
        PromptStage::Browser => format!("Finish signing in to {idp} in your browser"),
        PromptStage::Device => format!("Confirm the sign-in to {idp} on another device"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_qr_code_is_square_with_finder_patterns_in_three_corners() {
        let rows = qr_rows("https://login.example.com/device?user_code=BCDF-GHJK").expect("fits");
        let n = rows.len();
        assert!(rows.iter().all(|r| r.len() == n), "square");
        // Every QR code has a 7x7 finder pattern in the top corners and bottom left: a dark ring.
        for (top, left) in [(0, 0), (0, n - 7), (n - 7, 0)] {
            assert_eq!(&rows[top][left..left + 7], "1111111");
            assert_eq!(&rows[top + 1][left..left + 7], "1000001");
        }
        assert!(qr_rows(&"x".repeat(8000)).is_none(), "too long for a QR code");
    }
}
