//! Browser sign-in (RFC 8252) against an IdP nobody here wrote: node oidc-provider from npm
//! (tests/oidc-provider), over HTTPS with a certificate made for the run. The "browser" is
//! reqwest with a cookie store, handed the URL by the `BrowserOpener`: it signs in on
//! oidc-provider's development pages (any login and password), consents, and follows the
//! redirect to the loopback callback. A real browser over WebDriver comes later.
//!
//! Nothing is skipped: without node or without `npm ci` in tests/oidc-provider these tests fail
//! and say so.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::ExposeSecret as _;
use tapgate_clock::SystemClock;
use tapgate_config::{AuthenticatorChoice, Flow, IdpConfig, TokenChoice};
use tapgate_idp::{
    Authenticator, BrowserRequest, BrowserSettings, IdpClient, IdpError, Prompt, TokenSet, TouchRequest,
    authenticator_for, decode_claims,
};
use tokio::sync::oneshot;
use url::Url;

/// The audience the database side checks; oidc-provider makes it the access token's `aud`
/// (a resource indicator must be an absolute URI, RFC 8707 §2).
const AUDIENCE: &str = "https://postgres.tapgate.test";
const PERSON: &str = "alice@example.com";

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc-provider")
}

/// oidc-provider in a node process, killed on drop.
struct OidcProvider {
    child: Child,
    issuer: String,
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl OidcProvider {
    fn start() -> OidcProvider {
        let fixture = fixture_dir();
        assert!(
            fixture.join("node_modules/oidc-provider/package.json").is_file(),
            "oidc-provider is not installed: run `npm ci` in tests/oidc-provider (make test does)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, certified.cert.pem()).expect("write cert");
        std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write key");

        let mut child = Command::new("node")
            .arg("server.js")
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .current_dir(&fixture)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start node: install Node.js 20.19 or later");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("issuer line");
        // Keep reading: node dies of EPIPE when it writes to a pipe nobody reads.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        assert!(line.starts_with('{'), "oidc-provider did not start: {line:?}");
        let ready: serde_json::Value = serde_json::from_str(&line).expect("oidc-provider's ready line");
        let issuer = ready["issuer"].as_str().expect("issuer").to_string();
        OidcProvider { child, issuer, ca_file: cert, _dir: dir }
    }

    fn config(&self) -> IdpConfig {
        IdpConfig {
            name: "corp".into(),
            issuer: self.issuer.clone(),
            client_id: "tapgate".into(),
            username: Some(PERSON.into()),
            flow: Flow::Browser,
            authenticator: AuthenticatorChoice::Usb,
            rp_origin: Url::parse(&self.issuer).expect("issuer url"),
            audience: Some(AUDIENCE.into()),
            scopes: ["openid", "profile", "email", "groups", "offline_access"].map(String::from).to_vec(),
            ca_file: Some(self.ca_file.clone()),
            token: TokenChoice::Access,
            redirect_port: 0,
            provider: Default::default(),
        }
    }

    /// A reqwest client that plays the browser: cookies kept, our CA trusted, redirects followed.
    fn browser(&self) -> reqwest::Client {
        let pem = std::fs::read(&self.ca_file).expect("ca");
        reqwest::Client::builder()
            .cookie_store(true)
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("pem"))
            .build()
            .expect("browser")
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the person does in the "browser".
#[derive(Clone, Copy, PartialEq, Eq)]
enum Person {
    /// Signs in and consents.
    SignsIn,
    /// Presses the dev pages' "cancel" (oidc-provider's abort: `error=access_denied`).
    Cancels,
}

/// Plays the browser from `url` to the loopback callback; returns the callback page's text.
async fn drive(browser: reqwest::Client, url: Url, person: Person) -> Result<String, String> {
    let fail = |err: reqwest::Error| format!("{err:?}");
    let mut response = browser.get(url).send().await.map_err(fail)?;
    for _ in 0..6 {
        let at = response.url().clone();
        let page = response.text().await.map_err(fail)?;
        if at.host_str() == Some("127.0.0.1") {
            return Ok(page);
        }
        response = if person == Person::Cancels {
            browser.get(format!("{at}/abort")).send().await.map_err(fail)?
        } else if page.contains(r#"name="prompt" value="login""#) {
            let form = [("prompt", "login"), ("login", PERSON), ("password", "any")];
            browser.post(at).form(&form).send().await.map_err(fail)?
        } else if page.contains(r#"name="prompt" value="consent""#) {
            browser.post(at).form(&[("prompt", "consent")]).send().await.map_err(fail)?
        } else {
            return Err(format!("unexpected page at {at}: {page}"));
        };
    }
    Err("too many pages".to_string())
}

/// An opener that hands the URL, changed by `tamper`, to the reqwest "browser" on a task, and
/// reports the page the browser ended on.
struct ReqwestOpener {
    browser: reqwest::Client,
    person: Person,
    tamper: Box<dyn Fn(Url) -> Url + Send + Sync>,
    /// Paths fetched on the callback's port before the real answer (a favicon, a stray tab).
    strays: Vec<&'static str>,
    page: Mutex<Option<oneshot::Sender<Result<String, String>>>>,
}

impl tapgate_idp::BrowserOpener for ReqwestOpener {
    fn open(&self, url: &Url) -> Result<(), IdpError> {
        let url = (self.tamper)(url.clone());
        let (browser, person, strays) = (self.browser.clone(), self.person, self.strays.clone());
        let redirect = param(&url, "redirect_uri").map(|uri| Url::parse(&uri).expect("redirect uri"));
        let sender = self.page.lock().expect("lock").take();
        tokio::spawn(async move {
            for path in strays {
                let stray = redirect.as_ref().expect("redirect").join(path).expect("stray url");
                let response = browser.get(stray).send().await.expect("stray request answered");
                assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND, "{path}");
            }
            let page = drive(browser, url, person).await;
            if let Err(problem) = &page {
                eprintln!("the browser did not reach the callback: {problem}");
            }
            if let Some(sender) = sender {
                let _ = sender.send(page);
            }
        });
        Ok(())
    }
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn replace_param(url: Url, name: &str, value: &str) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.to_string(), if k == name { value.to_string() } else { v.to_string() }))
        .collect();
    let mut changed = url;
    changed.query_pairs_mut().clear().extend_pairs(pairs);
    changed
}

/// Records what the flow shows.
#[derive(Default)]
struct RecordingPrompt {
    shown: Mutex<Vec<BrowserRequest>>,
    finished: Mutex<usize>,
}

impl Prompt for RecordingPrompt {
    fn touch_key(&self, _request: &TouchRequest) {}
    fn request_pin(&self, _request: &TouchRequest) -> Option<String> {
        None
    }
    fn browser_sign_in(&self, request: &BrowserRequest) {
        self.shown.lock().expect("lock").push(request.clone());
    }
    fn finished(&self) {
        *self.finished.lock().expect("lock") += 1;
    }
}

struct Run {
    result: Result<TokenSet, IdpError>,
    /// The callback page the browser ended on (`None` when the browser never got there).
    page: Option<Result<String, String>>,
    prompt: Arc<RecordingPrompt>,
}

impl Run {
    /// The loopback redirect URI this sign-in used, from the URL the prompt showed.
    fn redirect_uri(&self) -> Url {
        let shown = self.prompt.shown.lock().expect("lock");
        let url = &shown.first().expect("the URL was shown").url;
        Url::parse(&param(url, "redirect_uri").expect("redirect_uri")).expect("url")
    }

    /// Asserts nobody listens on the callback port any more.
    async fn assert_listener_closed(&self) {
        let mut uri = self.redirect_uri();
        uri.set_query(Some("code=again&state=again"));
        let err = reqwest::get(uri).await.expect_err("the port is closed");
        assert!(err.is_connect(), "{err}");
        assert_eq!(*self.prompt.finished.lock().expect("lock"), 1, "the prompt was closed once");
    }
}

fn opener(idp: &OidcProvider, person: Person) -> (ReqwestOpener, oneshot::Receiver<Result<String, String>>) {
    let (sender, receiver) = oneshot::channel();
    let opener = ReqwestOpener {
        browser: idp.browser(),
        person,
        tamper: Box::new(|url| url),
        strays: Vec::new(),
        page: Mutex::new(Some(sender)),
    };
    (opener, receiver)
}

async fn sign_in(
    config: &IdpConfig,
    opener: ReqwestOpener,
    page: oneshot::Receiver<Result<String, String>>,
    timeout: Duration,
) -> Run {
    let settings = BrowserSettings::new(Arc::new(opener)).callback_timeout(timeout);
    let client = IdpClient::new(config, SystemClock::shared()).expect("client").with_browser(settings);
    let prompt = Arc::new(RecordingPrompt::default());
    // Not used by the browser flow; a USB key would need the `usb` feature, a soft one a file.
    let unused: Arc<dyn Authenticator> =
        authenticator_for(&AuthenticatorChoice::Soft(PathBuf::from("/nonexistent"))).expect("soft");
    let result = client.sign_in(unused, prompt.clone()).await;
    let page = tokio::time::timeout(Duration::from_secs(5), page).await.ok().and_then(Result::ok);
    Run { result, page, prompt }
}

#[tokio::test]
async fn signs_in_in_the_browser_with_checked_tokens_for_the_audience() {
    let idp = OidcProvider::start();
    let (opener, page) = opener(&idp, Person::SignsIn);
    let run = sign_in(&idp.config(), opener, page, Duration::from_secs(20)).await;
    let tokens = run.result.as_ref().expect("signed in");

    // The access token is a JWT for the database's audience, with who and which groups.
    let access = decode_claims(tokens.access_token.expose_secret()).expect("JWT access token");
    assert_eq!(access.aud, vec![AUDIENCE.to_string()]);
    assert_eq!(access.iss, idp.issuer);
    assert_eq!(access.sub, PERSON);
    assert_eq!(access.groups, vec!["dba".to_string(), "dev".to_string()]);
    assert_eq!(tokens.claims, access);
    assert_eq!(tokens.expires_at, access.exp);
    // The ID token passed the client's checks; it is for the client.
    let id = decode_claims(tokens.id_token.as_ref().expect("ID token").expose_secret()).expect("ID token");
    assert_eq!(id.aud, vec!["tapgate".to_string()]);
    assert_eq!(id.email.as_deref(), Some(PERSON));
    assert!(!tokens.skew.is_significant(), "{:?}", tokens.skew);

    let page = run.page.clone().expect("the browser came back").expect("callback page");
    assert!(page.contains("Signed in to corp, you can close this tab."), "{page}");
    // The URL shown is the authorization endpoint with a loopback redirect and the hint.
    let shown = run.prompt.shown.lock().expect("lock").clone();
    assert_eq!(shown.len(), 1);
    assert!(shown[0].url.as_str().starts_with(&format!("{}/auth?", idp.issuer)), "{}", shown[0].url);
    assert_eq!(param(&shown[0].url, "login_hint").as_deref(), Some(PERSON));
    assert_eq!(run.redirect_uri().host_str(), Some("127.0.0.1"));
    // A second answer finds the port closed.
    run.assert_listener_closed().await;
}

#[tokio::test]
async fn token_id_gives_the_checked_id_token_to_the_database() {
    let idp = OidcProvider::start();
    let (opener, page) = opener(&idp, Person::SignsIn);
    let config = IdpConfig { token: TokenChoice::Id, username: None, ..idp.config() };
    let run = sign_in(&config, opener, page, Duration::from_secs(20)).await;
    let tokens = run.result.as_ref().expect("signed in");
    assert_eq!(tokens.claims.aud, vec!["tapgate".to_string()]);
    assert_eq!(tokens.access_token.expose_secret(), tokens.id_token.as_ref().expect("id").expose_secret());
    let shown = run.prompt.shown.lock().expect("lock").clone();
    assert_eq!(param(&shown[0].url, "login_hint"), None, "no username, no hint");
}

#[tokio::test]
async fn requests_to_other_paths_do_not_end_the_wait() {
    let idp = OidcProvider::start();
    let (mut opener, page) = opener(&idp, Person::SignsIn);
    opener.strays = vec!["/favicon.ico", "/", "/callback/other"];
    let run = sign_in(&idp.config(), opener, page, Duration::from_secs(20)).await;
    run.result.as_ref().expect("signed in after the stray requests");
    run.assert_listener_closed().await;
}

#[tokio::test]
async fn cancelling_at_the_idp_is_access_denied_in_words() {
    let idp = OidcProvider::start();
    let (opener, page) = opener(&idp, Person::Cancels);
    let run = sign_in(&idp.config(), opener, page, Duration::from_secs(20)).await;
    let err = run.result.as_ref().expect_err("cancelled");
    assert!(matches!(err, IdpError::AuthorizationDenied { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "the IdP corp did not sign you in: the sign-in was cancelled or refused (access_denied: End-User aborted interaction)"
    );
    let page = run.page.clone().expect("the browser came back").expect("page");
    assert!(page.contains("The sign-in to corp did not work"), "{page}");
    run.assert_listener_closed().await;
}

#[tokio::test]
async fn an_answer_with_another_state_is_refused() {
    let idp = OidcProvider::start();
    let (mut opener, page) = opener(&idp, Person::SignsIn);
    opener.tamper = Box::new(|url| replace_param(url, "state", "forged-state"));
    let run = sign_in(&idp.config(), opener, page, Duration::from_secs(20)).await;
    let err = run.result.as_ref().expect_err("state mismatch");
    assert!(matches!(err, IdpError::StateMismatch { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "the browser's answer for corp is not for this sign-in (state mismatch): sign in again, from one window at a time"
    );
    run.assert_listener_closed().await;
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused() {
    let idp = OidcProvider::start();
    let (mut opener, page) = opener(&idp, Person::SignsIn);
    opener.tamper = Box::new(|url| replace_param(url, "nonce", "replayed-nonce"));
    let run = sign_in(&idp.config(), opener, page, Duration::from_secs(20)).await;
    let err = run.result.as_ref().expect_err("nonce mismatch");
    assert!(matches!(err, IdpError::IdTokenRejected { .. }), "{err}");
    let text = err.to_string();
    assert!(text.starts_with("the ID token from corp failed its checks: "), "{text}");
    assert!(text.to_lowercase().contains("nonce"), "{text}");
    run.assert_listener_closed().await;
}

#[tokio::test]
async fn a_code_issued_to_another_client_is_refused() {
    let idp = OidcProvider::start();
    let (mut opener, page) = opener(&idp, Person::SignsIn);
    opener.tamper = Box::new(|url| replace_param(url, "client_id", "other-app"));
    let run = sign_in(&idp.config(), opener, page, Duration::from_secs(20)).await;
    let err = run.result.as_ref().expect_err("another client's code");
    assert!(matches!(err, IdpError::CodeRejected { .. }), "{err}");
    assert!(err.to_string().ends_with(": sign in again"), "{err}");
    run.assert_listener_closed().await;
}

#[tokio::test]
async fn nobody_finishing_in_the_browser_times_out() {
    let idp = OidcProvider::start();
    /// No browser can open here (an SSH session), and nobody opens the URL by hand.
    struct Nowhere;
    impl tapgate_idp::BrowserOpener for Nowhere {
        fn open(&self, _url: &Url) -> Result<(), IdpError> {
            Err(IdpError::BrowserNotOpened { reason: "no display".into() })
        }
    }
    let settings = BrowserSettings::new(Arc::new(Nowhere)).callback_timeout(Duration::from_secs(1));
    let client = IdpClient::new(&idp.config(), SystemClock::shared()).expect("client").with_browser(settings);
    let prompt = Arc::new(RecordingPrompt::default());
    let unused = authenticator_for(&AuthenticatorChoice::Soft(PathBuf::from("/nonexistent"))).expect("soft");
    let started = std::time::Instant::now();
    let result = client.sign_in(unused, prompt.clone()).await;
    let err = result.expect_err("timed out");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        err.to_string(),
        "the sign-in to corp was not finished in the browser within 1 s: sign in again and finish it in the browser"
    );
    // The opener failed, but the URL was shown (an SSH session prints it): the wait went on.
    assert_eq!(prompt.shown.lock().expect("lock").len(), 1);
    let run = Run { result: Err(err), page: None, prompt };
    run.assert_listener_closed().await;
}

#[tokio::test]
async fn a_client_without_an_opener_says_so() {
    let idp = OidcProvider::start();
    let client = IdpClient::new(&idp.config(), SystemClock::shared()).expect("client");
    let unused = authenticator_for(&AuthenticatorChoice::Soft(PathBuf::from("/nonexistent"))).expect("soft");
    let err = client.sign_in(unused, Arc::new(RecordingPrompt::default())).await.expect_err("no opener");
    assert_eq!(
        err.to_string(),
        "this program cannot open a browser for the sign-in to corp (flow = \"browser\"): use another flow"
    );
}

/// The device flow (RFC 8628) against oidc-provider: the person opens
/// `verification_uri_complete` in the reqwest "browser", confirms the code, signs in and
/// consents on the development pages; the client polls at the IdP's own interval.
mod device {
    use tapgate_idp::DeviceRequest;
    use tokio::sync::mpsc;

    use super::*;

    struct DevicePrompt(mpsc::UnboundedSender<DeviceRequest>);

    impl Prompt for DevicePrompt {
        fn touch_key(&self, _request: &TouchRequest) {}
        fn request_pin(&self, _request: &TouchRequest) -> Option<String> {
            None
        }
        fn device_sign_in(&self, request: &DeviceRequest) {
            let _ = self.0.send(request.clone());
        }
    }

    /// `name="..." value="..."` pairs of the hidden inputs of `page`, and its form's action.
    fn form_of(page: &str) -> (Option<String>, Vec<(String, String)>) {
        let attribute = |tag: &str, name: &str| {
            let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
            let end = tag[start..].find('"')?;
            Some(tag[start..start + end].to_string())
        };
        let action = page.find("<form").and_then(|at| attribute(&page[at..], "action"));
        let hidden = page
            .split("<input")
            .skip(1)
            .filter(|tag| tag.contains(r#"type="hidden""#))
            .filter_map(|tag| Some((attribute(tag, "name")?, attribute(tag, "value")?)))
            .collect();
        (action, hidden)
    }

    /// Plays the person from the complete verification URI to oidc-provider's success page.
    async fn confirm(browser: reqwest::Client, url: Url) -> Result<(), String> {
        let fail = |err: reqwest::Error| format!("{err:?}");
        let mut response = browser.get(url).send().await.map_err(fail)?;
        for _ in 0..8 {
            let at = response.url().clone();
            let page = response.text().await.map_err(fail)?;
            response = if page.contains("<h1>Sign-in Success</h1>") {
                return Ok(());
            } else if page.contains(r#"name="prompt" value="login""#) {
                let form = [("prompt", "login"), ("login", PERSON), ("password", "any")];
                browser.post(at).form(&form).send().await.map_err(fail)?
            } else if page.contains(r#"name="prompt" value="consent""#) {
                browser.post(at).form(&[("prompt", "consent")]).send().await.map_err(fail)?
            } else if page.contains("<form") {
                // The code confirmation ("Continue") and the script-submitted callback forms.
                let (action, hidden) = form_of(&page);
                let action = at.join(&action.ok_or("no form action")?).map_err(|e| e.to_string())?;
                browser.post(action).form(&hidden).send().await.map_err(fail)?
            } else {
                return Err(format!("unexpected page at {at}: {page}"));
            };
        }
        Err("too many pages".to_string())
    }

    #[tokio::test]
    async fn signs_in_with_a_code_confirmed_on_the_idps_pages() {
        let idp = OidcProvider::start();
        let config = IdpConfig { flow: Flow::Device, ..idp.config() };
        let client = IdpClient::new(&config, SystemClock::shared()).expect("client");
        let (sender, mut shown) = mpsc::unbounded_channel();
        let unused =
            authenticator_for(&AuthenticatorChoice::Soft(PathBuf::from("/nonexistent"))).expect("soft");
        let sign_in = client.sign_in(unused, Arc::new(DevicePrompt(sender)));
        let browser = idp.browser();
        let person = async {
            let request = shown.recv().await.expect("the code was shown");
            assert_eq!(request.idp, "corp");
            assert!(
                request.verification_uri.as_str().starts_with(&idp.issuer),
                "{}",
                request.verification_uri
            );
            let complete =
                request.verification_uri_complete.clone().expect("oidc-provider sends the complete URI");
            confirm(browser, complete).await
        };
        let (result, confirmed) =
            tokio::time::timeout(Duration::from_secs(60), async { tokio::join!(sign_in, person) })
                .await
                .expect("the device flow finished within a minute");
        confirmed.expect("the person confirmed the code");
        let tokens = result.expect("signed in");
        let access = decode_claims(tokens.access_token.expose_secret()).expect("JWT access token");
        assert_eq!(access.aud, vec![AUDIENCE.to_string()]);
        assert_eq!(access.iss, idp.issuer);
        assert_eq!(access.sub, PERSON);
        assert_eq!(access.groups, vec!["dba".to_string(), "dev".to_string()]);
        let id =
            decode_claims(tokens.id_token.as_ref().expect("ID token").expose_secret()).expect("ID token");
        assert_eq!(id.aud, vec!["tapgate".to_string()]);
        assert!(tokens.refresh_token.is_some(), "offline_access gives a refresh token");
    }
}
