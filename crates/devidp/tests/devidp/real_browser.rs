//! The browser sign-in in a real Chromium (Debian's `chromium` and `chromium-driver`) over
//! WebDriver: a virtual authenticator holding the soft key's exported credential, the
//! sign-in page's own script doing `navigator.credentials.get()`, and a loopback listener
//! receiving the redirect with the code, which is then redeemed with the PKCE verifier.
//!
//! Chromium trusts the dev IdP through `--ignore-certificate-errors-spki-list` (the server
//! key's SPKI hash) rather than a blanket `--ignore-certificate-errors`: WebAuthn refuses to
//! run on a page with a certificate error, and only this IdP should be trusted.
//!
//! Without chromedriver on PATH the test fails and says what to install (`make deps` does).

use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::http::Method;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tapgate_devidp::{DataDir, export_credentials, server_spki_sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

use crate::browser_sign_in::{VERIFIER, authorize_url, param, redeem};
use crate::support::{TestIdp, TestResult, enroll, jwt_parts, temp_data};

/// A WebDriver WebAuthn extension command (W3C WebAuthn Level 2, 11): fantoccini has none
/// built in.
#[derive(Debug)]
struct WebAuthnCommand {
    /// Below `/session/{id}/webauthn/`.
    path: String,
    body: Value,
}

impl WebDriverCompatibleCommand for WebAuthnCommand {
    fn endpoint(&self, base_url: &Url, session_id: Option<&str>) -> Result<Url, url::ParseError> {
        base_url.join(&format!("session/{}/webauthn/{}", session_id.unwrap_or_default(), self.path))
    }

    fn method_and_body(&self, _request_url: &Url) -> (Method, Option<String>) {
        (Method::POST, Some(self.body.to_string()))
    }
}

/// chromedriver, stopped (by its own pid) when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver() -> TestResult<Option<Driver>> {
    let port = StdListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port();
    let child = match Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(Driver { child, url: format!("http://127.0.0.1:{port}/") }))
}

/// Accepts one HTTP request on loopback, answers it, and returns its request target.
async fn one_callback(listener: TcpListener) -> TestResult<String> {
    let (mut stream, _) = listener.accept().await?;
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        request.extend_from_slice(&buffer[..read]);
    }
    stream
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nsigned in")
        .await?;
    let head = String::from_utf8_lossy(&request);
    let target = head.split_whitespace().nth(1).ok_or("no request target")?;
    Ok(target.to_owned())
}

#[tokio::test]
async fn chromium_signs_in_with_the_exported_credential_and_reaches_the_loopback_listener() -> TestResult {
    let Some(driver) = start_driver()? else {
        return Err(
            "chromedriver is not installed: run `make deps` (apt-get install chromium chromium-driver)"
                .into(),
        );
    };
    let (_temp, data) = temp_data()?;
    let key_file = enroll(&data, "alice@example.com", &["dba", "dev"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    let dir = DataDir::existing(&data)?;
    let spki = server_spki_sha256(&dir)?;
    let credentials = export_credentials(&dir, &key_file)?;

    let callback = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let redirect_uri = format!("http://127.0.0.1:{}/callback", callback.local_addr()?.port());
    let received = tokio::spawn(one_callback(callback));

    let user_data = tempfile::tempdir()?;
    let capabilities = json!({
        "browserName": "chrome",
        "webauthn:virtualAuthenticators": true,
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-dev-shm-usage",
                format!("--user-data-dir={}", user_data.path().display()),
                format!("--ignore-certificate-errors-spki-list={spki}"),
            ],
        },
    });
    let Value::Object(capabilities) = capabilities else {
        return Err("capabilities are not an object".into());
    };
    // chromedriver needs a moment to listen.
    let mut client = None;
    for _ in 0..50 {
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities.clone());
        match builder.connect(&driver.url).await {
            Ok(connected) => {
                client = Some(connected);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let client = client.ok_or("no WebDriver session from chromedriver within 10 s")?;

    let result = async {
        let authenticator = client
            .issue_cmd(WebAuthnCommand {
                path: "authenticator".into(),
                body: json!({
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": false,
                    "hasUserVerification": true,
                    "isUserConsenting": true,
                    "isUserVerified": true,
                }),
            })
            .await?;
        let authenticator = authenticator.as_str().ok_or("no authenticatorId")?.to_owned();
        for credential in &credentials {
            client
                .issue_cmd(WebAuthnCommand {
                    path: format!("authenticator/{authenticator}/credential"),
                    body: serde_json::to_value(credential)?,
                })
                .await?;
        }

        let url = authorize_url(&idp, &[("redirect_uri", &redirect_uri)])?;
        client.goto(url.as_str()).await?;
        // The user name is prefilled from login_hint: one click, as a person would.
        client.find(Locator::Id("go")).await?.click().await?;
        let target = tokio::time::timeout(Duration::from_secs(30), received).await;
        let status = client.find(Locator::Id("status")).await.ok();
        let target = match target {
            Ok(joined) => joined??,
            Err(_) => {
                let shown = match status {
                    Some(element) => element.text().await.unwrap_or_default(),
                    None => String::new(),
                };
                return Err(format!("no redirect within 30 s; the page says {shown:?}").into());
            }
        };
        TestResult::Ok(target)
    }
    .await;
    let _ = client.close().await;
    let target = result?;

    let back = Url::parse(&format!("http://127.0.0.1{target}"))?;
    assert_eq!(back.path(), "/callback");
    assert_eq!(param(&back, "state").as_deref(), Some("state-123"));
    let code = param(&back, "code").ok_or("no code in the redirect")?;
    let response = redeem(&idp, &code, VERIFIER, &redirect_uri).await?;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await?;
    let (_, id) = jwt_parts(tokens["id_token"].as_str().ok_or("no id token")?)?;
    assert_eq!(id["nonce"], "nonce-456");
    assert_eq!(id["email"], "alice@example.com");
    drop(driver);
    Ok(())
}
