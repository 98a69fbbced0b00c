//! How the CLI opens the IdP's sign-in page: `$BROWSER` when set (the Unix convention, and how
//! tests hand the page to a WebDriver session), else the system's default browser. The URL is
//! also printed (see `prompt.rs`), for SSH sessions where no browser can open.

use std::sync::Arc;

use tapgate_core::BrowserOpener;

/// The opener for this process's environment.
pub fn opener() -> Arc<dyn BrowserOpener> {
    tapgate_core::browser_command::browser_opener(std::env::var("BROWSER").ok().as_deref())
}
