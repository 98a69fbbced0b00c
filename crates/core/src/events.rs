//! Events the engine broadcasts so the CLI and the desktop app can tell people what happens.

use tapgate_store::ConnectionOutcome;
use tokio::sync::broadcast;

/// The next event, skipping any this receiver was too slow to see; `None` once the engine is gone.
pub async fn next_event(events: &mut broadcast::Receiver<CoreEvent>) -> Option<CoreEvent> {
    loop {
        match events.recv().await {
            Ok(event) => return Some(event),
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}

/// Something a person may want to know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreEvent {
    /// The IdP's clock differs from ours by more than the threshold; countdowns use the IdP's time.
    ClockSkew { idp: String, seconds: i64 },
    /// A fresh sign-in with a key tap succeeded.
    SignedIn { idp: String, identity: String, expires_at: i64 },
    /// Tokens were renewed with the refresh token, without a tap.
    Refreshed { idp: String, identity: String, expires_at: i64 },
    /// The refresh token was refused (expired or revoked): a tap is needed.
    RefreshRejected { idp: String },
    /// Another Tapgate process (the app, a CLI) is signing in to this IdP: this one waits for it
    /// and uses its result rather than asking for a second tap or opening a second browser tab.
    WaitingForOtherSignIn { idp: String },
    /// A sign-in (refresh or tap) failed; `error` is the one-line reason.
    SignInFailed { idp: String, error: String },
    /// At sign-out the IdP could not revoke the refresh token (it was forgotten here anyway);
    /// `reason` is one line.
    RevocationFailed { idp: String, reason: String },
    /// Tokens of an IdP were removed.
    SignedOut { idp: String },
    /// A client connected through a forwarder (it may still be refused or fail upstream).
    ConnectionOpened { database: String, application: Option<String> },
    /// A client connection through a forwarder ended.
    ConnectionClosed {
        database: String,
        role: Option<String>,
        identity: Option<String>,
        application: Option<String>,
        outcome: ConnectionOutcome,
        error: Option<String>,
        duration_ms: u64,
        bytes_up: u64,
        bytes_down: u64,
    },
    /// The tokens could not be saved in the keyring; they live in memory only.
    CacheWriteFailed { idp: String, reason: String },
}
