//! How the sign-in page reaches a browser: [`browser_opener`] picks [`CommandOpener`], the
//! `$BROWSER` convention (a colon-separated list of commands, tried in order; `%s` in a command
//! stands for the URL, otherwise the URL is the last argument), or the desktop's default
//! browser through the `open` crate.
//!
//! The shells read `$BROWSER` and pass its text here. Either way the browser is started and
//! left to run: the browser sign-in waits for the redirect, not for the browser to exit. The
//! app uses this too rather than tauri-plugin-opener, which wraps the same `open` crate: one
//! opener for both shells, no plugin permission for one call.

use std::process::{Command, Stdio};
use std::sync::Arc;

use tapgate_idp::{BrowserOpener, IdpError};
use url::Url;

/// The opener for a program: the commands in `browser_env` (the text of `$BROWSER`) when it
/// names any, else the desktop's default browser.
pub fn browser_opener(browser_env: Option<&str>) -> Arc<dyn BrowserOpener> {
    match browser_env.and_then(CommandOpener::parse) {
        Some(command) => Arc::new(command),
        None => Arc::new(SystemBrowser),
    }
}

/// The desktop's default browser (xdg-open and friends on Linux, `open` on macOS).
#[derive(Debug, Clone, Copy)]
pub struct SystemBrowser;

impl BrowserOpener for SystemBrowser {
    fn open(&self, url: &Url) -> Result<(), IdpError> {
        open::that_detached(url.as_str()).map_err(|e| IdpError::BrowserNotOpened { reason: e.to_string() })
    }
}

/// Opens URLs with the first command of a `$BROWSER`-style list that starts.
#[derive(Debug, Clone)]
pub struct CommandOpener {
    commands: Vec<Vec<String>>,
}

impl CommandOpener {
    /// The commands in `spec` (`"firefox:chromium %s"`); `None` when it names none.
    pub fn parse(spec: &str) -> Option<CommandOpener> {
        let commands: Vec<Vec<String>> = spec
            .split(':')
            .map(|command| command.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .filter(|words| !words.is_empty())
            .collect();
        (!commands.is_empty()).then_some(CommandOpener { commands })
    }

    /// The program and arguments that open `url` with the `index`th command.
    fn command_line(&self, index: usize, url: &str) -> Vec<String> {
        let words = &self.commands[index];
        if words.iter().any(|w| w.contains("%s")) {
            words.iter().map(|w| w.replace("%s", url)).collect()
        } else {
            words.iter().cloned().chain(std::iter::once(url.to_string())).collect()
        }
    }
}

impl BrowserOpener for CommandOpener {
    fn open(&self, url: &Url) -> Result<(), IdpError> {
        let mut tried = Vec::new();
        for index in 0..self.commands.len() {
            let line = self.command_line(index, url.as_str());
            let spawned = Command::new(&line[0])
                .args(&line[1..])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            match spawned {
                Ok(mut child) => {
                    // Reaped when it exits, so no zombie is left; nobody waits for it.
                    std::thread::spawn(move || child.wait());
                    return Ok(());
                }
                Err(e) => tried.push(format!("{}: {e}", line[0])),
            }
        }
        Err(IdpError::BrowserNotOpened { reason: tried.join("; ") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_replaces_percent_s_or_comes_last() {
        let opener = CommandOpener::parse("firefox --new-tab:open-url %s --now").expect("commands");
        let url = "https://idp.example.com/authorize?x=1";
        assert_eq!(opener.command_line(0, url), ["firefox", "--new-tab", url]);
        assert_eq!(opener.command_line(1, url), ["open-url", url, "--now"]);
        assert!(CommandOpener::parse(" : ").is_none(), "nothing to run");
    }

    #[test]
    fn the_first_command_that_starts_is_used_and_failures_are_named() {
        let url = Url::parse("https://idp.example.com/authorize").expect("url");
        let opener = CommandOpener::parse("/nonexistent/browser:true").expect("commands");
        opener.open(&url).expect("the second command starts");

        let missing = CommandOpener::parse("/nonexistent/browser").expect("commands");
        let err = missing.open(&url).expect_err("nothing starts");
        assert!(err.to_string().contains("/nonexistent/browser"), "{err}");
    }
}
