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
