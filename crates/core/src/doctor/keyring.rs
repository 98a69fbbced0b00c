//! The OS keyring answers (where tokens are kept), and each IdP's sign-in as the cache has it:
//! who and for how long, never the token.

use tapgate_clock::clock_text;
use tapgate_config::IdpConfig;
use tapgate_store::CacheBackend;

use super::Check;
use crate::{Engine, KeyringChoice};

pub(super) fn keyring(engine: &Engine) -> Check {
    const NAME: &str = "keyring";
    match (engine.keyring(), &engine.context().keyring) {
        (CacheBackend::Keyring, _) => {
            Check::pass(NAME, "the OS keyring answers and is unlocked; tokens are kept there")
        }
        (CacheBackend::Memory { reason }, KeyringChoice::Memory { .. }) => Check::warn(
            NAME,
            format!("tokens are kept in memory only, as this program chose ({reason})"),
            "nothing to do unless you expected the OS keyring",
        ),
        (CacheBackend::Memory { reason }, KeyringChoice::Os) => Check::fail(
            NAME,
            format!("no OS keyring answers ({reason}), so tokens last only as long as each command"),
            "unlock your OS keyring, or start one (Linux: a Secret Service such as GNOME Keyring, KWallet \
             or KeePassXC in your session; macOS: Keychain); without it every command signs in afresh",
        ),
    }
}

pub(super) async fn session(engine: &Engine, idp: &IdpConfig) -> Check {
    let name = format!("idp.{}.session", idp.name);
    let login = format!("`tapgate login {}` signs in", idp.name);
    match engine.cached_session(Some(&idp.name)).await {
        Ok(Some(session)) if !session.is_expired() => Check::pass(
            name,
            format!(
                "signed in as {} ({} left{})",
                session.identity(),
                clock_text(session.seconds_left()),
                if session.can_refresh { "; renews without a tap" } else { "" }
            ),
        ),
        Ok(Some(session)) if session.can_refresh => Check::pass(
            name,
            format!("signed in as {}; the token has expired and renews without a tap", session.identity()),
        ),
        Ok(Some(session)) => Check::pass(
            name,
            format!("signed out: the sign-in of {} has expired; {login}", session.identity()),
        ),
        Ok(None) => Check::pass(name, format!("not signed in; {login}")),
        Err(error) => Check::warn(
            name,
            format!("the cached sign-in cannot be read: {error}"),
            format!("`tapgate logout {0}`, then `tapgate login {0}`", idp.name),
        ),
    }
}
