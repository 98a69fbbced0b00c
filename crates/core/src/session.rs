//! A signed-in identity: who, which groups, until when (on the IdP's clock), and the token.

use secrecy::SecretString;
use tapgate_clock::SharedClock;
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
    /// The engine's clock, which the countdown is read from.
    pub(crate) clock: SharedClock,
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

    /// When the token expires on this machine's clock, in Unix milliseconds (the IdP's expiry
    /// minus the IdP's lead over us): what countdowns in the app tick towards.
    pub fn local_expiry_ms(&self) -> i64 {
        (self.expires_at - self.skew.seconds) * 1000
    }

    /// Seconds left before expiry, counted on the IdP's clock (negative once expired).
    pub fn seconds_left(&self) -> i64 {
        self.expires_at - self.skew.idp_now(self.clock.as_ref())
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

pub use tapgate_clock::clock_text;
