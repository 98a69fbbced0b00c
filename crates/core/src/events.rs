//! Events the engine broadcasts so the CLI and the desktop app can tell people what happens.

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
    /// Tokens of an IdP were removed.
    SignedOut { idp: String },
    /// The tokens could not be saved in the keyring; they live in memory only.
    CacheWriteFailed { idp: String, reason: String },
}
