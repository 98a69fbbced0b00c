//! The app's window through WebDriver (fantoccini, on the session's runtime): elements found by
//! `data-testid`, read, typed into and clicked, each command bounded, each wait with a deadline;
//! and window screenshots.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use fantoccini::{Client, Locator};

use super::artifacts_dir;
use super::session::DesktopSession;
use super::wait::wait_until;

/// How long one WebDriver command may take.
const WEBDRIVER_COMMAND: Duration = Duration::from_secs(30);

impl DesktopSession {
    /// The WebDriver client, for what the helpers below do not cover.
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("the WebDriver session was ended")
    }

    /// Runs a WebDriver future on the session's runtime, bounded by [`WEBDRIVER_COMMAND`].
    pub fn block_on<T>(&self, what: &str, future: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(async { tokio::time::timeout(WEBDRIVER_COMMAND, future).await }).unwrap_or_else(
            |_| panic!("WebDriver: {what} took over {WEBDRIVER_COMMAND:?}\n{}", self.diagnostics()),
        )
    }

    fn locator(testid: &str) -> String {
        format!("[data-testid=\"{testid}\"]")
    }

    /// The element with `data-testid` = `testid`, if the window has one now.
    pub fn find(&self, testid: &str) -> Option<fantoccini::elements::Element> {
        let css = Self::locator(testid);
        self.block_on(&format!("find {testid}"), self.client().find(Locator::Css(&css))).ok()
    }

    /// Whether the window has an element `testid` now.
    pub fn exists(&self, testid: &str) -> bool {
        self.find(testid).is_some()
    }

    /// The visible text of `testid` now (`None` when absent).
    pub fn text(&self, testid: &str) -> Option<String> {
        let element = self.find(testid)?;
        self.block_on(&format!("text of {testid}"), element.text()).ok().map(|t| t.trim().to_string())
    }

    /// Replaces the value of the input `testid` with `text`, typed as keystrokes.
    #[track_caller]
    pub fn type_into(&self, testid: &str, text: &str) {
        let element = wait_until(
            &format!("the input {testid}"),
            Duration::from_secs(30),
            || self.find(testid),
            || self.diagnostics(),
        );
        // Select all and delete as keystrokes: WebDriver's Element Clear sets the DOM value
        // behind React's back, so the form would keep (and save) the old text.
        // U+E009 presses (and, again, releases) Control; U+E003 is Backspace (WebDriver keys).
        self.block_on(&format!("clear {testid}"), element.send_keys("\u{E009}a\u{E009}\u{E003}"))
            .unwrap_or_else(|e| panic!("clearing {testid}: {e}"));
        self.block_on(&format!("type into {testid}"), element.send_keys(text))
            .unwrap_or_else(|e| panic!("typing into {testid}: {e}"));
    }

    /// The DOM text (`textContent`) of the element `testid`. WebKitWebDriver's rendered text
    /// comes back empty for some clipped grid cells (`overflow: hidden` in `.facts dd`) that a
    /// person sees fine on screen; this reads what the page holds.
    pub fn text_content(&self, testid: &str) -> Option<String> {
        let script = format!(
            "const e = document.querySelector('{}'); return e ? e.textContent : null;",
            Self::locator(testid)
        );
        let value = self
            .block_on(&format!("textContent of {testid}"), self.client().execute(&script, vec![]))
            .ok()?;
        value.as_str().map(|t| t.trim().to_string())
    }

    /// The texts of every element `testid` now.
    pub fn texts(&self, testid: &str) -> Vec<String> {
        let css = Self::locator(testid);
        let Ok(elements) =
            self.block_on(&format!("find all {testid}"), self.client().find_all(Locator::Css(&css)))
        else {
            return Vec::new();
        };
        elements
            .iter()
            .filter_map(|e| self.block_on(&format!("text of {testid}"), e.text()).ok())
            .map(|t| t.trim().to_string())
            .collect()
    }

    /// Waits until the window has `testid`.
    #[track_caller]
    pub fn wait_for(&self, testid: &str, timeout: Duration) {
        wait_until(
            &format!("{testid} in the window"),
            timeout,
            || self.find(testid).map(|_| ()),
            || self.diagnostics(),
        );
    }

    /// Waits until `testid`'s text satisfies `ok`; returns the text.
    #[track_caller]
    pub fn wait_text(&self, testid: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
        let last = Mutex::new(None::<String>);
        wait_until(
            &format!("the text of {testid}"),
            timeout,
            || {
                let text = self.text(testid);
                *last.lock().unwrap() = text.clone();
                text.filter(|t| ok(t))
            },
            || format!("{testid} = {:?}\n{}", last.lock().unwrap(), self.diagnostics()),
        )
    }

    /// Clicks `testid`, waiting up to `timeout` for it to be there and clickable.
    #[track_caller]
    pub fn click(&self, testid: &str, timeout: Duration) {
        let last = Mutex::new(String::from("not found"));
        wait_until(
            &format!("a click on {testid}"),
            timeout,
            || {
                let element = self.find(testid)?;
                match self.block_on(&format!("click {testid}"), element.click()) {
                    Ok(()) => Some(()),
                    Err(e) => {
                        *last.lock().unwrap() = e.to_string();
                        None
                    }
                }
            },
            || format!("last error: {}\n{}", last.lock().unwrap(), self.diagnostics()),
        );
    }

    /// A WebDriver screenshot of the window, saved as `name` in [`artifacts_dir`].
    #[track_caller]
    pub fn screenshot(&self, name: &str) -> PathBuf {
        // The DOM can be ahead of the pixels: wait for two frames so what was just rendered
        // (and asserted on) is painted before the capture.
        let frames = "const done = arguments[arguments.length - 1];\n\
                      requestAnimationFrame(() => requestAnimationFrame(() => done(true)));";
        if let Err(e) = self.block_on("wait for a paint", self.client().execute_async(frames, Vec::new())) {
            panic!("waiting for a paint failed: {e}\n{}", self.diagnostics());
        }
        let png = self
            .block_on("screenshot", self.client().screenshot())
            .unwrap_or_else(|e| panic!("screenshot failed: {e}\n{}", self.diagnostics()));
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG ({} bytes)", png.len());
        let path = artifacts_dir().join(name);
        std::fs::write(&path, png).unwrap();
        path
    }
}
