//! Sessions end when access ends (`session_limit = "token"`): a relayed session lives until the
//! token it logged in with expires plus `session_grace`, unless the person's sign-in has been
//! renewed meanwhile (a refresh, or a new tap), in which case it carries on: it was the same
//! person all along. A minute before the end the client gets a NOTICE; at the end a FATAL, the
//! way a server ends a session it terminates.
//!
//! Time is the forwarder's clock (the engine's), read at least once a second, so a test moving
//! that clock sees the NOTICE and the close follow at once.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tapgate_clock::SharedClock;
use tapgate_pgwire::{ErrorReport, sqlstate};

use crate::TokenSource;
use crate::inject::{Injection, Injector};

/// How long before the end the client is told.
pub const NOTICE_BEFORE: Duration = Duration::from_secs(60);

/// The longest a wait goes without looking at the clock again: the clock may be moved (tests,
/// a laptop waking from sleep) and tokio's timers do not see that.
const CLOCK_LOOK: Duration = Duration::from_secs(1);

/// What one session's watch needs.
pub(crate) struct Watch {
    pub(crate) database: String,
    pub(crate) identity: String,
    /// When the token the session logged in with expires (this machine's clock).
    pub(crate) expires_at: SystemTime,
    pub(crate) grace: Duration,
    pub(crate) clock: SharedClock,
    pub(crate) tokens: Arc<dyn TokenSource>,
    pub(crate) injector: Injector,
}

impl Watch {
    /// Runs until the session must end; by then the closing FATAL is queued. Returns why, for
    /// history. Never returns while renewed sign-ins keep coming.
    pub(crate) async fn until_closed(mut self) -> String {
        loop {
            let end = self.expires_at + self.grace;
            sleep_until(&self.clock, end.checked_sub(NOTICE_BEFORE).unwrap_or(end)).await;
            if self.renewed().await {
                continue;
            }
            let left = end.duration_since(self.clock.now()).unwrap_or_default();
            let notice = ErrorReport::notice(format!(
                "Tapgate: the sign-in of {} has run out; this session to {} closes in {} seconds",
                self.identity,
                self.database,
                left.as_secs()
            ))
            .with_hint(
                "sign in again (tap your key when Tapgate asks, or run `tapgate login`) to keep it open",
            );
            let _ = self.injector.send(Injection::Notice(notice.to_bytes()));
            sleep_until(&self.clock, end).await;
            if self.renewed().await {
                let notice = ErrorReport::notice(format!(
                    "Tapgate: the sign-in of {} was renewed; this session carries on",
                    self.identity
                ));
                let _ = self.injector.send(Injection::Notice(notice.to_bytes()));
                continue;
            }
            let why = format!(
                "closed: the sign-in of {} ran out and was not renewed (session_limit = \"token\")",
                self.identity
            );
            let fatal = ErrorReport::fatal(sqlstate::ADMIN_SHUTDOWN, format!("Tapgate {why}"))
                .with_hint("connect again: Tapgate asks for a tap");
            let _ = self.injector.send(Injection::Close(fatal.to_bytes()));
            return why;
        }
    }

    /// Whether the person's sign-in now runs past the session's token (no tap is asked for).
    async fn renewed(&mut self) -> bool {
        match self.tokens.expiry_without_tap(&self.database).await {
            Some(later) if later > self.expires_at => {
                tracing::info!(database = %self.database, "sign-in renewed; the session carries on");
                self.expires_at = later;
                true
            }
            _ => false,
        }
    }
}

/// Resolves once `clock` reads `when` or later.
pub(crate) async fn sleep_until(clock: &SharedClock, when: SystemTime) {
    while let Ok(left) = when.duration_since(clock.now()) {
        if left.is_zero() {
            return;
        }
        tokio::time::sleep(left.min(CLOCK_LOOK)).await;
    }
}
