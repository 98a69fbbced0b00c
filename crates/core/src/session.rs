//! A signed-in identity: who, which groups, until when (on the IdP's clock), and the token.

use secrecy::SecretString;
use tapgate_idp::{Claims, ClockSkew};

/// Where a session's tokens came from this time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionOrigin {
    /// The token cache, still valid.
    Cache,
    /// Renewed with the refresh token, no tap.
    Refreshed,
    /// A new sign-in with a key tap.
    SignedIn,
}

/// A valid (or, from [`crate::Engine::cached_session`], possibly expired) sign-in.
#[derive(Clone)]
pub struct Session {
    /// IdP name from the configuration.
    pub idp: String,
    pub claims: Claims,
    pub access_token: SecretString,
    /// Unix seconds on the IdP's clock.
    pub expires_at: i64,
    pub skew: ClockSkew,
    pub origin: SessionOrigin,
    /// Whether a refresh token is held.
    pub can_refresh: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("idp", &self.idp)
            .field("identity", &self.claims.identity())
            .field("expires_at", &self.expires_at)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The person: email, else preferred user name, else subject.
    pub fn identity(&self) -> &str {
        self.claims.identity()
    }

    /// Seconds left before expiry, counted on the IdP's clock (negative once expired).
    pub fn seconds_left(&self) -> i64 {
        self.expires_at - self.skew.idp_now()
    }

    /// Whether the access token has expired.
    pub fn is_expired(&self) -> bool {
        self.seconds_left() <= 0
    }

    /// Whether the token is too close to expiry to hand out: a quarter of its lifetime, at most
    /// a minute, so a client's login never races the expiry while short test lifetimes still work.
    pub fn needs_renewal(&self) -> bool {
        let issued = self.claims.iat.unwrap_or(self.expires_at - 3600);
        let lifetime = (self.expires_at - issued).max(0);
        let margin = (lifetime / 4).min(60);
        self.seconds_left() <= margin
    }
}

/// Time left as a clock: `14:59`, `1:02:03`, or `0:00` once past. The one countdown format of
/// the CLI, the tray and notifications.
pub fn clock_text(seconds: i64) -> String {
    let s = seconds.max(0);
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}
