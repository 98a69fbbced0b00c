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
    /// browser, and opened again).
    pub url: Option<String>,
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
    }
}
