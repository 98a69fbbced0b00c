//! The client against the real dev IdP (`tapgate-devidp`) with software keys.
//!
//! It needs the dev IdP binary from another package, which cargo does not build for this one:
//! `make test` builds every binary first; by hand:
//!
//! ```text
//! cargo build -p tapgate-devidp && cargo test -p tapgate-idp --test devidp_live
//! ```
//!
//! It fails (never skips) when the binary is missing.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use secrecy::{ExposeSecret as _, SecretString};
use tapgate_clock::SystemClock;
use tapgate_config::{AuthenticatorChoice, DEFAULT_SCOPES, Dialect, Flow, IdpConfig, TokenChoice};
use tapgate_idp::{IdpClient, IdpError, Prompt, TouchRequest, authenticator_for};
use url::Url;

fn devidp_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let binary = target.join("debug/tapgate-devidp");
    assert!(binary.exists(), "{} is missing: run `cargo build -p tapgate-devidp` first", binary.display());
    binary
}

/// A running dev IdP, killed on drop.
struct DevIdp {
    child: Child,
    issuer: String,
    data: tempfile::TempDir,
}

impl DevIdp {
    fn start(extra: &[&str]) -> DevIdp {
        let data = tempfile::tempdir().expect("tempdir");
        DevIdp::start_in(data, extra)
    }

    fn start_in(data: tempfile::TempDir, extra: &[&str]) -> DevIdp {
        let mut child = Command::new(devidp_binary())
            .args(["serve", "--data"])
            .arg(data.path())
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tapgate-devidp");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("issuer line");
        DevIdp { child, issuer: line.trim().to_string(), data }
    }

    fn enroll(&self, user: &str, groups: &str, key: &Path) {
        let status = Command::new(devidp_binary())
            .args(["enroll", "--data"])
            .arg(self.data.path())
            .args(["--user", user, "--groups", groups, "--soft-key"])
            .arg(key)
            .stdout(Stdio::null())
            .status()
            .expect("enroll");
        assert!(status.success(), "enroll {user} failed");
    }

    fn config(&self, username: &str, key: &Path) -> IdpConfig {
        IdpConfig {
            name: "corp".into(),
            issuer: self.issuer.clone(),
            client_id: "tapgate".into(),
            username: Some(username.into()),
            flow: Flow::Passkey(Dialect::Auth0),
            authenticator: AuthenticatorChoice::Soft(key.to_path_buf()),
            rp_origin: Url::parse(&self.issuer).expect("issuer url"),
            audience: Some("postgres".into()),
            scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
            ca_file: Some(self.data.path().join("ca.pem")),
            token: TokenChoice::Access,
            redirect_port: 0,
            provider: Default::default(),
        }
    }
}

impl Drop for DevIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Default)]
struct CountingPrompt {
    approvals: AtomicUsize,
    finished: AtomicUsize,
}

impl Prompt for CountingPrompt {
    fn touch_key(&self, _request: &TouchRequest) {}
    fn request_pin(&self, _request: &TouchRequest) -> Option<String> {
        None
    }
    fn approve_soft_key(&self, request: &TouchRequest) -> bool {
        assert_eq!(request.idp, "corp");
        self.approvals.fetch_add(1, Ordering::SeqCst);
        true
    }
    fn finished(&self) {
        self.finished.fetch_add(1, Ordering::SeqCst);
    }
}

async fn sign_in(config: &IdpConfig) -> Result<tapgate_idp::TokenSet, IdpError> {
    let client = IdpClient::new(config, SystemClock::shared())?;
    let key = authenticator_for(&config.authenticator)?;
    client.sign_in(key, Arc::new(CountingPrompt::default())).await
}

#[tokio::test]
async fn sign_in_refresh_and_rotation() {
    let idp = DevIdp::start(&[]);
    let keys = tempfile::tempdir().expect("tempdir");
    let alice_key = keys.path().join("alice.key");
    idp.enroll("alice@example.com", "dba,dev", &alice_key);
    let config = idp.config("alice@example.com", &alice_key);

    let client = IdpClient::new(&config, SystemClock::shared()).expect("client");
    let prompt = Arc::new(CountingPrompt::default());
    let key = authenticator_for(&config.authenticator).expect("soft key");
    let tokens = client.sign_in(key, prompt.clone()).await.expect("sign in");
    assert_eq!(prompt.approvals.load(Ordering::SeqCst), 1);
    assert_eq!(prompt.finished.load(Ordering::SeqCst), 1);
    assert_eq!(tokens.claims.iss, idp.issuer);
    assert_eq!(tokens.claims.identity(), "alice@example.com");
    assert_eq!(tokens.claims.groups, vec!["dba".to_string(), "dev".to_string()]);
    assert_eq!(tokens.claims.aud, vec!["postgres".to_string()]);
    assert!(tokens.id_token.is_some());
    assert!(
        tokens.expires_at > tokens.skew.idp_now(&SystemClock) + 800,
        "15 min token: {}",
        tokens.expires_at
    );
    assert!(!tokens.skew.is_significant(), "{:?}", tokens.skew);
    assert_eq!(client.clock_skew(), Some(tokens.skew));
    let debug = format!("{tokens:?}");
    assert!(!debug.contains(tokens.access_token.expose_secret()), "{debug}");

    // A second sign-in signs again with the saved counter.
    let again = client.sign_in(authenticator_for(&config.authenticator).expect("key"), prompt).await;
    assert!(again.is_ok(), "{:?}", again.err());

    let first_refresh = tokens.refresh_token.clone().expect("refresh token");
    let refreshed = client.refresh(&first_refresh).await.expect("refresh");
    assert_eq!(refreshed.claims.identity(), "alice@example.com");
    let second_refresh = refreshed.refresh_token.clone().expect("rotated refresh token");
    assert_ne!(second_refresh.expose_secret(), first_refresh.expose_secret(), "rotated");

    // The old refresh token stopped working: a tap is needed.
    let err = client.refresh(&first_refresh).await.expect_err("reused refresh token");
    assert!(err.is_sign_in_needed(), "{err}");
    assert!(!err.to_string().contains(first_refresh.expose_secret()), "{err}");
    println!("{err}");

    let err = client.refresh(&SecretString::from("rt-made-up-0123456789")).await.expect_err("unknown");
    assert!(matches!(err, IdpError::RefreshRejected { .. }), "{err}");
    println!("{err}");
}

/// `dialect = "okta"` (docs/idp-wire-contract.md §8): primary-authenticate at the path derived
/// from the dev IdP's token endpoint, the grant with flat fields, then a refresh.
#[tokio::test]
async fn okta_dialect_sign_in_and_refresh() {
    let idp = DevIdp::start(&[]);
    let keys = tempfile::tempdir().expect("tempdir");
    let alice_key = keys.path().join("alice.key");
    let bob_key = keys.path().join("bob.key");
    idp.enroll("alice@example.com", "dba,dev", &alice_key);
    idp.enroll("bob@example.com", "dev", &bob_key);
    let okta = |username: &str, key: &Path| IdpConfig {
        flow: Flow::Passkey(Dialect::Okta),
        ..idp.config(username, key)
    };
    let config = okta("alice@example.com", &alice_key);

    let client = IdpClient::new(&config, SystemClock::shared()).expect("client");
    let prompt = Arc::new(CountingPrompt::default());
    let key = authenticator_for(&config.authenticator).expect("soft key");
    let tokens = client.sign_in(key, prompt.clone()).await.expect("okta sign in");
    assert_eq!(prompt.approvals.load(Ordering::SeqCst), 1);
    assert_eq!(prompt.finished.load(Ordering::SeqCst), 1);
    assert_eq!(tokens.claims.iss, idp.issuer);
    assert_eq!(tokens.claims.identity(), "alice@example.com");
    assert_eq!(tokens.claims.groups, vec!["dba".to_string(), "dev".to_string()]);
    assert_eq!(tokens.claims.aud, vec!["postgres".to_string()]);

    // A second tap with the saved counter, then the refresh grant, rotating.
    let again = client.sign_in(authenticator_for(&config.authenticator).expect("key"), prompt).await;
    assert!(again.is_ok(), "{:?}", again.err());
    let first_refresh = tokens.refresh_token.clone().expect("refresh token");
    let refreshed = client.refresh(&first_refresh).await.expect("refresh");
    assert_eq!(refreshed.claims.identity(), "alice@example.com");
    let err = client.refresh(&first_refresh).await.expect_err("reused refresh token");
    assert!(err.is_sign_in_needed(), "{err}");

    let err = sign_in(&okta("carol@example.com", &alice_key)).await.expect_err("no carol");
    assert!(matches!(err, IdpError::UnknownUser { .. }), "{err}");
    let err = sign_in(&okta("alice@example.com", &bob_key)).await.expect_err("bob's key");
    assert_eq!(err.to_string(), "this software key is not registered for alice@example.com at corp");
    let err =
        sign_in(&IdpConfig { rp_origin: Url::parse("https://localhost:1").expect("url"), ..config.clone() })
            .await
            .expect_err("origin");
    assert!(matches!(err, IdpError::AssertionRefused { .. }), "{err}");
    assert!(err.to_string().contains("origin mismatch"), "{err}");
    let err = sign_in(&IdpConfig { client_id: "someone-else".into(), ..config }).await.expect_err("client");
    assert!(matches!(err, IdpError::DirectAuthRefused { .. }), "{err}");
}

#[tokio::test]
async fn the_errors_a_user_can_run_into() {
    let idp = DevIdp::start(&[]);
    let keys = tempfile::tempdir().expect("tempdir");
    let alice_key = keys.path().join("alice.key");
    let bob_key = keys.path().join("bob.key");
    idp.enroll("alice@example.com", "dba,dev", &alice_key);
    idp.enroll("bob@example.com", "dev", &bob_key);
    let alice = idp.config("alice@example.com", &alice_key);

    // Unknown user.
    let err = sign_in(&IdpConfig { username: Some("carol@example.com".into()), ..alice.clone() })
        .await
        .expect_err("no carol");
    println!("{err}");
    assert!(matches!(err, IdpError::UnknownUser { .. }), "{err}");

    // Bob's key offered for alice: the soft key holds none of alice's credentials.
    let err = sign_in(&idp.config("alice@example.com", &bob_key)).await.expect_err("bob's key");
    println!("{err}");
    assert_eq!(err.to_string(), "this software key is not registered for alice@example.com at corp");

    // Unknown client.
    let err =
        sign_in(&IdpConfig { client_id: "someone-else".into(), ..alice.clone() }).await.expect_err("client");
    println!("{err}");
    assert!(matches!(err, IdpError::UnknownClient { .. }), "{err}");

    // No ca_file: the private CA is not trusted.
    let err = sign_in(&IdpConfig { ca_file: None, ..alice.clone() }).await.expect_err("untrusted");
    println!("{err}");
    assert!(
        err.to_string()
            .contains("certificate not trusted (UnknownIssuer); set ca_file in the [idp.corp] table"),
        "{err}"
    );

    // An issuer that differs from what the IdP calls itself (trailing slash).
    let err = sign_in(&IdpConfig { issuer: format!("{}/", idp.issuer), ..alice.clone() })
        .await
        .expect_err("issuer");
    println!("{err}");
    assert!(matches!(err, IdpError::BadDiscovery { .. }), "{err}");

    // A WebAuthn origin the IdP does not accept (same rpId, other port).
    let err =
        sign_in(&IdpConfig { rp_origin: Url::parse("https://localhost:1").expect("url"), ..alice.clone() })
            .await
            .expect_err("origin");
    println!("{err}");
    assert!(matches!(err, IdpError::AssertionRefused { .. }), "{err}");

    // A missing key file.
    let missing = keys.path().join("missing.key");
    let err = sign_in(&idp.config("alice@example.com", &missing)).await.expect_err("missing key");
    println!("{err}");
    assert!(matches!(err, IdpError::KeyFile { .. }), "{err}");

    // The IdP goes away (the client, with its CA, was set up before).
    let issuer = idp.issuer.clone();
    let client = IdpClient::new(&alice, SystemClock::shared()).expect("client");
    drop(idp);
    let key = authenticator_for(&alice.authenticator).expect("key");
    let err = client.sign_in(key, Arc::new(CountingPrompt::default())).await.expect_err("gone");
    println!("{err}");
    assert!(err.is_unreachable(), "{err}");
    assert_eq!(err.to_string(), format!("cannot reach the IdP corp at {issuer}: connection refused"));
}

#[tokio::test]
async fn clock_skew_is_measured_from_date_headers() {
    let idp = DevIdp::start(&["--clock-offset", "120"]);
    let keys = tempfile::tempdir().expect("tempdir");
    let alice_key = keys.path().join("alice.key");
    idp.enroll("alice@example.com", "dba", &alice_key);
    let tokens = sign_in(&idp.config("alice@example.com", &alice_key)).await.expect("sign in");
    assert!((tokens.skew.seconds - 120).abs() <= 1, "{:?}", tokens.skew);
    assert!(tokens.skew.is_significant());
    // exp is on the IdP's clock: 15 minutes after the IdP's now, not ours.
    let remaining = tokens.expires_at - tokens.skew.idp_now(&SystemClock);
    assert!((880..=900).contains(&remaining), "{remaining}");
}

/// `tapgate doctor`'s questions: discovery, the JWKS it names, and the skew on those answers.
#[tokio::test]
async fn discovery_and_jwks_are_probed_without_signing_in() {
    let idp = DevIdp::start(&["--clock-offset", "-45"]);
    let config = idp.config("alice@example.com", Path::new("/nonexistent"));
    let client = IdpClient::new(&config, SystemClock::shared()).expect("client");
    let discovery = client.probe_discovery().await.expect("discovery");
    assert_eq!(discovery.url, format!("{}/.well-known/openid-configuration", idp.issuer));
    let jwks = client.probe_jwks().await.expect("jwks");
    assert_eq!(jwks.url, discovery.jwks_uri);
    assert!(jwks.keys >= 1, "{jwks:?}");
    let skew = client.clock_skew().expect("measured").seconds;
    assert!((skew + 45).abs() <= 1, "{skew}");

    // Without the dev IdP's CA the same questions end at TLS, in words.
    let untrusted =
        IdpClient::new(&IdpConfig { ca_file: None, ..config }, SystemClock::shared()).expect("client");
    let err = untrusted.probe_discovery().await.expect_err("untrusted");
    assert!(matches!(err, IdpError::Tls { .. }), "{err}");
}

/// The device flow (RFC 8628) against the dev IdP: the client polls while a "person" answers
/// on the verification page over HTTP, approving with the soft key the way the page's script
/// would (`/device/challenge`, `navigator.credentials.get()`, `/device/assertion`).
mod device {
    use std::sync::Mutex;

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::{Value, json};
    use tapgate_idp::DeviceRequest;
    use tokio::sync::mpsc;
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    use webauthn_authenticator_rs::softtoken::SoftTokenFile;
    use webauthn_rs_proto::RequestChallengeResponse;

    use super::*;

    /// Hands what the flow shows to the test's "person".
    struct DevicePrompt {
        shown: mpsc::UnboundedSender<DeviceRequest>,
        finished: Mutex<usize>,
    }

    impl Prompt for DevicePrompt {
        fn touch_key(&self, _request: &TouchRequest) {}
        fn request_pin(&self, _request: &TouchRequest) -> Option<String> {
            None
        }
        fn device_sign_in(&self, request: &DeviceRequest) {
            let _ = self.shown.send(request.clone());
        }
        fn finished(&self) {
            *self.finished.lock().expect("lock") += 1;
        }
    }

    /// What the person does on the verification page.
    #[derive(Clone, Copy)]
    enum Person {
        Approves,
        Denies,
        /// Waits while the IdP's clock runs past the code's ten minutes.
        LetsItExpire,
    }

    fn browser(idp: &DevIdp) -> reqwest::Client {
        let pem = std::fs::read(idp.data.path().join("ca.pem")).expect("ca");
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("pem"))
            .build()
            .expect("client")
    }

    async fn post(browser: &reqwest::Client, url: String, body: Value) -> Value {
        let response = browser.post(url).json(&body).send().await.expect("post");
        assert!(response.status().is_success(), "{}", response.status());
        response.json().await.expect("json")
    }

    /// Signs `options` with the soft key, as the page's script hands the assertion over.
    fn assertion(key: &Path, origin: &str, options: &Value) -> Value {
        let mut public_key = options.clone();
        let members = public_key.as_object_mut().expect("object");
        members.entry("allowCredentials").or_insert_with(|| json!([]));
        members.entry("userVerification").or_insert_with(|| json!("preferred"));
        let challenge: RequestChallengeResponse =
            serde_json::from_value(json!({ "publicKey": public_key })).expect("challenge");
        let file = std::fs::OpenOptions::new().read(true).write(true).open(key).expect("key file");
        let mut token = SoftTokenFile::open(file).expect("soft key");
        let credential =
            token.do_authentication(Url::parse(origin).expect("origin"), challenge).expect("signed");
        json!({
            "id": credential.id,
            "rawId": URL_SAFE_NO_PAD.encode(&credential.raw_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": URL_SAFE_NO_PAD.encode(&credential.response.client_data_json),
                "authenticatorData": URL_SAFE_NO_PAD.encode(&credential.response.authenticator_data),
                "signature": URL_SAFE_NO_PAD.encode(&credential.response.signature),
            },
        })
    }

    /// The data-request id of the verification page.
    fn request_id(page: &str) -> String {
        let start = page.find("data-request=\"").expect("data-request") + "data-request=\"".len();
        let end = page[start..].find('"').expect("end");
        page[start..start + end].to_string()
    }

    /// Runs a device sign-in for alice while `person` answers; returns the result and what was shown.
    async fn run(
        person: Person,
        clock_file: Option<&Path>,
        idp: &DevIdp,
        key: &Path,
    ) -> (Result<tapgate_idp::TokenSet, IdpError>, DeviceRequest, usize) {
        let config = IdpConfig { flow: Flow::Device, ..idp.config("alice@example.com", key) };
        let (sender, mut shown) = mpsc::unbounded_channel();
        let prompt = Arc::new(DevicePrompt { shown: sender, finished: Mutex::new(0) });
        let client = IdpClient::new(&config, SystemClock::shared()).expect("client");
        let unused = authenticator_for(&config.authenticator).expect("soft");
        let sign_in = client.sign_in(unused, prompt.clone());
        tokio::pin!(sign_in);

        let request = tokio::select! {
            request = shown.recv() => request,
            _ = &mut sign_in => None,
        }
        .expect("the code was shown before the sign-in ended");
        let browser = browser(idp);
        let issuer = idp.issuer.clone();
        let key = key.to_path_buf();
        let (shown_request, clock_file) = (request.clone(), clock_file.map(Path::to_path_buf));
        let answer = async move {
            let page_url = shown_request.verification_uri_complete.clone().expect("complete URI");
            let page = browser.get(page_url).send().await.expect("page").text().await.expect("text");
            let id = request_id(&page);
            let code = shown_request.user_code.clone();
            match person {
                Person::Approves => {
                    let options = post(
                        &browser,
                        format!("{issuer}/device/challenge"),
                        json!({ "request": id, "user_code": code, "username": "alice@example.com" }),
                    )
                    .await;
                    let credential = assertion(&key, &issuer, &options["publicKey"]);
                    post(
                        &browser,
                        format!("{issuer}/device/assertion"),
                        json!({ "request": id, "credential": credential }),
                    )
                    .await;
                }
                Person::Denies => {
                    post(
                        &browser,
                        format!("{issuer}/device/cancel"),
                        json!({ "request": id, "user_code": code }),
                    )
                    .await;
                }
                Person::LetsItExpire => {
                    std::fs::write(clock_file.expect("clock file"), "601").expect("shift the IdP clock");
                }
            }
        };
        let (result, ()) = tokio::join!(sign_in, answer);
        let finished = *prompt.finished.lock().expect("lock");
        (result, request, finished)
    }

    fn enrolled(extra: &[&str]) -> (DevIdp, tempfile::TempDir, PathBuf) {
        let idp = DevIdp::start(extra);
        let keys = tempfile::tempdir().expect("tempdir");
        let key = keys.path().join("alice.key");
        idp.enroll("alice@example.com", "dba,dev", &key);
        (idp, keys, key)
    }

    #[tokio::test]
    async fn a_device_sign_in_approved_with_a_key_gives_checked_tokens() {
        let (idp, _keys, key) = enrolled(&["--device-interval", "1s"]);
        let (result, shown, finished) = run(Person::Approves, None, &idp, &key).await;
        let tokens = result.expect("signed in");
        assert_eq!(tokens.claims.iss, idp.issuer);
        assert_eq!(tokens.claims.aud, vec!["postgres".to_string()]);
        assert_eq!(tokens.claims.groups, vec!["dba".to_string(), "dev".to_string()]);
        assert!(tokens.id_token.is_some() && tokens.refresh_token.is_some());
        assert_eq!(finished, 1, "the prompt was closed once");
        assert_eq!(shown.idp, "corp");
        assert_eq!(shown.verification_uri.as_str(), format!("{}/device", idp.issuer));
        assert_eq!(shown.user_code.len(), 9);
        assert_eq!(shown.expires_in, std::time::Duration::from_secs(600));

        // The refresh token of a device sign-in refreshes like any other.
        let client =
            IdpClient::new(&idp.config("alice@example.com", &key), SystemClock::shared()).expect("client");
        let refreshed =
            client.refresh(tokens.refresh_token.as_ref().expect("refresh")).await.expect("refresh");
        assert_eq!(refreshed.claims.sub, tokens.claims.sub);

        // token = "id": the checked ID token goes to the database.
        let config = IdpConfig { token: TokenChoice::Id, ..idp.config("alice@example.com", &key) };
        let (sender, mut shown) = mpsc::unbounded_channel();
        let prompt = Arc::new(DevicePrompt { shown: sender, finished: Mutex::new(0) });
        let client = IdpClient::new(&config, SystemClock::shared()).expect("client");
        // The table says passkey; the caller asks for the device flow (`tapgate login --device`).
        let sign_in = client.sign_in_with_device(prompt);
        let approve = async {
            let request = shown.recv().await.expect("shown");
            let browser = browser(&idp);
            let page = browser
                .get(request.verification_uri.clone())
                .send()
                .await
                .expect("page")
                .text()
                .await
                .expect("text");
            let id = request_id(&page);
            let typed = request.user_code.replace('-', "").to_lowercase();
            let options = post(
                &browser,
                format!("{}/device/challenge", idp.issuer),
                json!({ "request": id, "user_code": typed, "username": "alice@example.com" }),
            )
            .await;
            let credential = assertion(&key, &idp.issuer, &options["publicKey"]);
            post(
                &browser,
                format!("{}/device/assertion", idp.issuer),
                json!({ "request": id, "credential": credential }),
            )
            .await;
        };
        let (result, ()) = tokio::join!(sign_in, approve);
        let tokens = result.expect("signed in with the device flow");
        assert_eq!(tokens.claims.aud, vec!["tapgate".to_string()], "the ID token's audience is the client");
        assert_eq!(
            tokens.access_token.expose_secret(),
            tokens.id_token.as_ref().expect("id").expose_secret()
        );
    }

    #[tokio::test]
    async fn deny_on_the_page_is_refused_in_words() {
        let (idp, _keys, key) = enrolled(&["--device-interval", "1s"]);
        let (result, _, finished) = run(Person::Denies, None, &idp, &key).await;
        let err = result.expect_err("denied");
        assert!(matches!(err, IdpError::DeviceAccessDenied { .. }), "{err}");
        assert_eq!(err.to_string(), "the sign-in to corp was refused at the IdP");
        assert_eq!(finished, 1);
    }

    #[tokio::test]
    async fn a_code_left_to_expire_on_the_idp_clock_says_run_it_again() {
        let clock = tempfile::tempdir().expect("tempdir");
        let clock_file = clock.path().join("shift");
        std::fs::write(&clock_file, "0").expect("clock file");
        let clock_arg = clock_file.to_str().expect("utf-8 path");
        let (idp, _keys, key) = enrolled(&["--device-interval", "1s", "--clock-file", clock_arg]);
        let (result, _, _) = run(Person::LetsItExpire, Some(&clock_file), &idp, &key).await;
        let err = result.expect_err("expired");
        assert!(matches!(err, IdpError::DeviceCodeExpired { .. }), "{err}");
        assert_eq!(err.to_string(), "the code for corp expired before it was confirmed; run it again");
    }

    #[tokio::test]
    async fn polling_faster_than_the_idp_asks_is_slowed_down_and_still_signs_in() {
        let (idp, _keys, key) = enrolled(&["--device-interval", "1s"]);
        let config = IdpConfig { flow: Flow::Device, ..idp.config("alice@example.com", &key) };
        // Every 100 ms against an interval of 1 s: the IdP answers slow_down, the client
        // adds 5 units (500 ms) each time until it is slow enough.
        let client = IdpClient::new(&config, SystemClock::shared()).expect("client").with_device(
            tapgate_idp::DeviceSettings::new().time_unit_for_tests(std::time::Duration::from_millis(100)),
        );
        let (sender, mut shown) = mpsc::unbounded_channel();
        let prompt = Arc::new(DevicePrompt { shown: sender, finished: Mutex::new(0) });
        let started = std::time::Instant::now();
        let sign_in = client.sign_in_with_device(prompt);
        let approve = async {
            let request = shown.recv().await.expect("shown");
            // Let a few polls go by first.
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            let browser = browser(&idp);
            let page = browser
                .get(request.verification_uri_complete.clone().expect("complete"))
                .send()
                .await
                .expect("page")
                .text()
                .await
                .expect("text");
            let id = request_id(&page);
            let options = post(
                &browser,
                format!("{}/device/challenge", idp.issuer),
                json!({ "request": id, "user_code": request.user_code, "username": "alice@example.com" }),
            )
            .await;
            let credential = assertion(&key, &idp.issuer, &options["publicKey"]);
            post(
                &browser,
                format!("{}/device/assertion", idp.issuer),
                json!({ "request": id, "credential": credential }),
            )
            .await;
        };
        let (result, ()) = tokio::join!(sign_in, approve);
        result.expect("signed in after slowing down");
        assert!(started.elapsed() < std::time::Duration::from_secs(15));
    }
}
