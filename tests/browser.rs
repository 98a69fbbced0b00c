//! A real Chromium (Debian's `chromium` and `chromium-driver`) over WebDriver, for browser
//! sign-ins: a virtual authenticator holding a person's exported software-key credential (the
//! WebDriver WebAuthn extension), and a `$BROWSER` script that hands each sign-in URL tapgate
//! opens to the test, which then drives this browser to it.
//!
//! Chromium trusts the dev IdP through `--ignore-certificate-errors-spki-list` with the IdP's
//! server key: WebAuthn does not run on a page with a certificate error, and nothing else is
//! trusted.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tempfile::TempDir;

/// A WebDriver WebAuthn extension command (W3C WebAuthn Level 2, §11); fantoccini has none.
#[derive(Debug)]
struct WebAuthn {
    /// Below `/session/{id}/webauthn/`.
    path: String,
    body: Value,
}

impl WebDriverCompatibleCommand for WebAuthn {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/webauthn/{}", session.unwrap_or_default(), self.path))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// One headless Chromium session; the browser and chromedriver end when it is dropped.
pub struct Browser {
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    authenticator: String,
    _profile: TempDir,
}

impl Browser {
    /// A browser that trusts servers whose key has one of `spki_sha256` (base64 SHA-256 of the
    /// SubjectPublicKeyInfo), with an empty virtual authenticator.
    pub fn start(spki_sha256: &[String]) -> Browser {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let port = crate::pg::free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("chromedriver did not start ({e}): run `make deps`"));
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({
            "browserName": "chrome",
            "webauthn:virtualAuthenticators": true,
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--ignore-certificate-errors-spki-list={}", spki_sha256.join(",")),
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else { unreachable!() };
        let url = format!("http://127.0.0.1:{port}/");
        let client = runtime.block_on(async {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let mut builder = ClientBuilder::new(HttpConnector::new());
                builder.capabilities(capabilities.clone());
                match builder.connect(&url).await {
                    Ok(client) => break client,
                    Err(e) if Instant::now() > deadline => {
                        panic!("no WebDriver session from chromedriver: {e}")
                    }
                    // chromedriver is not listening yet.
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        let authenticator = runtime
            .block_on(client.issue_cmd(WebAuthn {
                path: "authenticator".into(),
                body: json!({
                    "protocol": "ctap2", "transport": "internal", "hasResidentKey": false,
                    "hasUserVerification": true, "isUserConsenting": true, "isUserVerified": true,
                }),
            }))
            .unwrap();
        let authenticator = authenticator.as_str().unwrap().to_string();
        Browser { runtime, client: Some(client), driver, authenticator, _profile: profile }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    /// Gives the virtual authenticator the credentials `tapgate-devidp export-credential`
    /// printed (a JSON array of WebDriver "Add Credential" bodies).
    pub fn add_credentials(&self, exported: &Value) {
        for credential in exported.as_array().expect("an array of credentials") {
            self.runtime
                .block_on(self.client().issue_cmd(WebAuthn {
                    path: format!("authenticator/{}/credential", self.authenticator),
                    body: credential.clone(),
                }))
                .unwrap();
        }
    }

    pub fn goto(&self, url: &str) {
        self.runtime.block_on(self.client().goto(url)).unwrap();
    }

    /// Types `text` into the field with `id`, replacing what it held.
    pub fn fill(&self, id: &str, text: &str) {
        self.runtime.block_on(async {
            let field = self.client().wait().for_element(Locator::Id(id)).await.unwrap();
            field.clear().await.unwrap();
            field.send_keys(text).await.unwrap();
        });
    }

    /// Types `text` into the first element matching the CSS `selector`, replacing what it held.
    pub fn fill_css(&self, selector: &str, text: &str) {
        self.runtime.block_on(async {
            let field = self.client().wait().for_element(Locator::Css(selector)).await.unwrap();
            field.clear().await.unwrap();
            field.send_keys(text).await.unwrap();
        });
    }

    /// Clicks the first element matching the CSS `selector`.
    pub fn click_css(&self, selector: &str) {
        self.runtime.block_on(async {
            self.client().wait().for_element(Locator::Css(selector)).await.unwrap().click().await.unwrap();
        });
    }

    pub fn click(&self, id: &str) {
        self.runtime.block_on(async {
            self.client().wait().for_element(Locator::Id(id)).await.unwrap().click().await.unwrap();
        });
    }

    /// Waits until the page's text contains `text`; returns the page text.
    pub fn wait_for_text(&self, text: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let body = self.runtime.block_on(async {
                match self.client().find(Locator::Css("body")).await {
                    Ok(body) => body.text().await.unwrap_or_default(),
                    Err(_) => String::new(),
                }
            });
            if body.contains(text) {
                return body;
            }
            assert!(Instant::now() < deadline, "the page never said {text:?}; it says:\n{body}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(10), client.close()).await });
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Where `$BROWSER` puts the URLs tapgate asks it to open: the test reads them from here, so
/// it also counts how many sign-in pages were opened.
pub struct UrlInbox {
    dir: TempDir,
}

impl UrlInbox {
    pub fn new() -> UrlInbox {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("browser");
        std::fs::write(
            &script,
            format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n", dir.path().join("urls").display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        UrlInbox { dir }
    }

    /// The value for `$BROWSER`.
    pub fn browser_command(&self) -> PathBuf {
        self.dir.path().join("browser")
    }

    /// Every URL opened so far, in order.
    pub fn urls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("urls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Waits for the `n`th URL (1-based).
    pub fn wait_for(&self, n: usize, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(url) = self.urls().get(n - 1) {
                return url.clone();
            }
            assert!(Instant::now() < deadline, "tapgate did not open sign-in page {n} within {timeout:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Default for UrlInbox {
    fn default() -> Self {
        Self::new()
    }
}

/// Base64 SHA-256 of the dev IdP's server key (for `--ignore-certificate-errors-spki-list`).
pub fn devidp_spki(data: &Path) -> String {
    let dir = tapgate_devidp::DataDir::existing(data).unwrap();
    tapgate_devidp::server_spki_sha256(&dir).unwrap()
}
