//! How the CLI opens the IdP's sign-in page: `$BROWSER` when set (the Unix convention, and how
//! tests hand the page to a WebDriver session), else the system's default browser. The URL is
//! also printed (see `prompt.rs`), for SSH sessions where no browser can open.

use std::sync::Arc;

use tapgate_core::{BrowserOpener, CommandOpener, IdpError, Url};

/// The opener for this process's environment.
pub fn opener() -> Arc<dyn BrowserOpener> {
    match std::env::var("BROWSER").ok().as_deref().and_then(CommandOpener::parse) {
        Some(command) => Arc::new(command),
        None => Arc::new(SystemBrowser),
    }
}

/// The desktop's default browser (xdg-open and friends on Linux, `open` on macOS).
struct SystemBrowser;

impl BrowserOpener for SystemBrowser {
    fn open(&self, url: &Url) -> Result<(), IdpError> {
        open::that_detached(url.as_str()).map_err(|e| IdpError::BrowserNotOpened { reason: e.to_string() })
    }
}
