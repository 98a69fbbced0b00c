//! The engine's sign-in policy against a real dev IdP served in this process over HTTPS, with the
//! engine's clock in the test's hands: reuse, refresh a quarter before expiry (at most a
//! minute), a tap when the refresh token is refused, and one sign-in per IdP under concurrent
//! callers. Time moves when the test says so; nothing here waits for it.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tapgate_config::Config;
use tapgate_core::{
    Context, CoreEvent, Engine, ManualClock, Prompt, SessionOrigin, SignInMethod, SignInPolicy, TouchRequest,
};
use tapgate_devidp::{EnrollKey, EnrollOptions, IdpServer, ServeOptions};
use tokio_util::sync::CancellationToken;

/// A dev IdP on a free loopback port, alice enrolled with a software key, and an engine for her
/// whose clock the test moves.
struct World {
    _folder: tempfile::TempDir,
    idp_data: std::path::PathBuf,
    clock: Arc<ManualClock>,
    engine: Engine,
    stop: CancellationToken,
}

impl World {
    async fn start() -> World {
        tapgate_devidp::install_ring_provider();
        let folder = tempfile::tempdir().unwrap();
        let idp_data = folder.path().join("idp");
        let key = folder.path().join("alice.key");
        let mut options = ServeOptions::new(&idp_data);
        options.listen = "127.0.0.1:0".parse().unwrap();
        let server = IdpServer::bind(options).unwrap();
        let issuer = server.issuer().to_string();
        tapgate_devidp::enroll(&EnrollOptions {
            data_dir: idp_data.clone(),
            user: "alice@example.com".into(),
            groups: Some(vec!["dba".into()]),
            key: EnrollKey::SoftKey(key.clone()),
        })
        .unwrap();
        let stop = CancellationToken::new();
        tokio::spawn({
            let stop = stop.clone();
            async move { server.run(stop.cancelled_owned()).await }
        });

        let config_path = folder.path().join("config.toml");
        let text = format!(
            "[idp.corp]\nissuer = \"{issuer}\"\nclient_id = \"tapgate\"\nusername = \"alice@example.com\"\n\
             authenticator = \"soft:{}\"\naudience = \"postgres\"\nca_file = \"{}\"\n",
            key.display(),
            idp_data.join("ca.pem").display()
        );
        std::fs::write(&config_path, text).unwrap();
        let config = Config::load(&config_path).unwrap();
        let clock = ManualClock::starting_now();
        let context = Context::under(&folder.path().join("engine"))
            .with_clock(clock.clone())
            .with_memory_keyring("tests keep tokens in memory");
        let engine = Engine::open(config, context).await;
        World { _folder: folder, idp_data, clock, engine, stop }
    }

    async fn session(&self, prompt: &Arc<CountingPrompt>) -> tapgate_core::Session {
        self.engine.session(Some("corp"), prompt.clone(), SignInPolicy::Reuse).await.unwrap()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A prompt that approves the software key and counts the ceremonies.
#[derive(Default)]
struct CountingPrompt {
    taps: AtomicUsize,
}

impl Prompt for CountingPrompt {
    fn touch_key(&self, _request: &TouchRequest) {}
    fn request_pin(&self, _request: &TouchRequest) -> Option<String> {
        None
    }
    fn approve_soft_key(&self, _request: &TouchRequest) -> bool {
        self.taps.fetch_add(1, Ordering::SeqCst);
        true
    }
}

#[tokio::test]
async fn a_valid_token_is_reused_and_renewed_without_a_tap_a_minute_before_expiry() {
    let world = World::start().await;
    let prompt = Arc::new(CountingPrompt::default());

    let first = world.session(&prompt).await;
    assert_eq!(first.origin, SessionOrigin::SignedIn);
    assert_eq!(prompt.taps.load(Ordering::SeqCst), 1);
    let lifetime = first.seconds_left();
    assert!((890..=900).contains(&lifetime), "a 15-minute token: {lifetime}");

    // Ten minutes later: still good, no IdP call, no tap.
    world.clock.advance(Duration::from_secs(600));
    let reused = world.session(&prompt).await;
    assert_eq!(reused.origin, SessionOrigin::Cache);
    assert_eq!(reused.seconds_left(), lifetime - 600, "the countdown follows the engine's clock");

    // Within the last minute (a quarter of the lifetime, at most 60 s): renewed without a tap.
    world.clock.advance(Duration::from_secs(lifetime as u64 - 600 - 30));
    let renewed = world.session(&prompt).await;
    assert_eq!(renewed.origin, SessionOrigin::Refreshed);
    assert_eq!(prompt.taps.load(Ordering::SeqCst), 1, "no second tap");
    assert!(renewed.seconds_left() > 800, "a fresh token: {}", renewed.seconds_left());

    world.engine.flush_history();
    let methods: Vec<SignInMethod> = world.engine.sign_ins(10).unwrap().iter().map(|r| r.method).collect();
    assert_eq!(methods, [SignInMethod::Refresh, SignInMethod::Tap], "newest first");
}

#[tokio::test]
async fn a_refused_refresh_token_means_a_tap() {
    let world = World::start().await;
    let prompt = Arc::new(CountingPrompt::default());
    let mut events = world.engine.subscribe();
    world.session(&prompt).await;

    // The IdP forgets every refresh token (revoked, or expired on its side).
    std::fs::remove_file(world.idp_data.join("refresh-tokens.json")).unwrap();
    world.clock.advance(Duration::from_secs(16 * 60));
    let again = world.session(&prompt).await;
    assert_eq!(again.origin, SessionOrigin::SignedIn);
    assert_eq!(prompt.taps.load(Ordering::SeqCst), 2);

    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(event);
    }
    assert!(
        seen.iter().any(|e| matches!(e, CoreEvent::RefreshRejected { idp } if idp == "corp")),
        "the person hears why a tap is needed: {seen:?}"
    );
}

#[tokio::test]
async fn twenty_callers_at_once_while_signed_out_share_one_sign_in() {
    let world = Arc::new(World::start().await);
    let prompt = Arc::new(CountingPrompt::default());
    let callers: Vec<_> = (0..20)
        .map(|_| {
            let (world, prompt) = (world.clone(), prompt.clone());
            tokio::spawn(async move { world.session(&prompt).await })
        })
        .collect();
    let mut identities = Vec::new();
    for caller in callers {
        identities.push(caller.await.unwrap().identity().to_string());
    }
    assert_eq!(prompt.taps.load(Ordering::SeqCst), 1, "one tap for twenty callers");
    assert!(identities.iter().all(|i| i == "alice@example.com"));
    world.engine.flush_history();
    assert_eq!(world.engine.sign_ins(50).unwrap().len(), 1, "one sign-in recorded");
}
