//! Signing in with a software key, `whoami`, reuse of the cached token, `logout`.

use tapgate_e2e::{DevIdp, DevIdpOptions, Person, jwt_claims};

#[test]
fn sign_in_then_whoami_shows_identity_groups_and_expiry() {
    let idp = DevIdp::start(DevIdpOptions { token_ttl: Some("15m"), ..Default::default() });
    let person = Person::new();
    idp.enroll("alice@example.com", "dba,dev", &person.key);
    person.configure(&idp, "alice@example.com", "");

    let login = person.tapgate(&["login"]);
    login.expect_ok();
    assert!(login.stdout.contains("Signed in to"), "{}", login.stdout);
    assert!(login.stdout.contains("alice@example.com"), "{}", login.stdout);
    assert!(login.stderr.contains("software key"), "the prompt names the key: {}", login.stderr);

    let whoami = person.tapgate(&["whoami", "--json"]);
    whoami.expect_ok();
    let json = whoami.json();
    assert_eq!(json["identity"], "alice@example.com");
    assert_eq!(json["groups"], serde_json::json!(["dba", "dev"]));
    assert_eq!(json["signed_in"], true);
    let left = json["expires_in_seconds"].as_i64().unwrap();
    assert!((880..=900).contains(&left), "15 minutes minus a little: {left}");

    let human = person.tapgate(&["whoami"]);
    human.expect_ok();
    assert!(human.stdout.contains("groups:  dba, dev"), "{}", human.stdout);
    assert!(
        human.stdout.contains("expires: in 14:") || human.stdout.contains("expires: in 15:00"),
        "{}",
        human.stdout
    );

    // The token carries what the database side needs.
    let token = person.token();
    let claims = jwt_claims(&token);
    assert_eq!(claims["iss"], idp.issuer.as_str());
    assert_eq!(claims["aud"], "postgres");
    assert_eq!(claims["email"], "alice@example.com");
}

#[test]
fn a_second_run_reuses_the_cached_token_without_a_tap() {
    let idp = DevIdp::start(DevIdpOptions::default());
    let person = Person::new();
    idp.enroll("alice@example.com", "dba", &person.key);
    person.configure(&idp, "alice@example.com", "");
    person.tapgate(&["login"]).expect_ok();
    let first = person.token();

    // With a broken key any tap would fail: success proves the cache was used.
    let real_key = person.break_key();
    let again = person.tapgate(&["login"]);
    again.expect_ok();
    assert!(again.stdout.contains("Already signed in"), "{}", again.stdout);
    assert!(!again.stderr.contains("Signing in"), "no prompt: {}", again.stderr);
    assert_eq!(person.token(), first, "the same cached token");
    person.restore_key(&real_key);

    // --force asks for a tap and gets a new token.
    let forced = person.tapgate(&["login", "--force"]);
    forced.expect_ok();
    assert!(forced.stdout.contains("Signed in to"), "{}", forced.stdout);
    assert_ne!(person.token(), first);
}

#[test]
fn logout_forgets_the_session_and_whoami_then_exits_1() {
    let idp = DevIdp::start(DevIdpOptions::default());
    let person = Person::new();
    idp.enroll("alice@example.com", "dba", &person.key);
    person.configure(&idp, "alice@example.com", "");

    let before = person.tapgate(&["whoami"]);
    assert_eq!(before.code, Some(1), "signed out before login: {before:?}");
    assert!(before.stdout.contains("signed out"), "{}", before.stdout);

    person.tapgate(&["login", &person.idp_name]).expect_ok();
    person.tapgate(&["whoami", &person.idp_name]).expect_ok();

    let out = person.tapgate(&["logout"]);
    out.expect_ok();
    assert!(out.stdout.contains("Signed out of"), "{}", out.stdout);

    let after = person.tapgate(&["whoami", "--json"]);
    assert_eq!(after.code, Some(1));
    assert_eq!(after.json()["signed_in"], false);
    assert!(person.tapgate(&["logout"]).stdout.contains("Not signed in"));
}

/// Several `tapgate` programs that need a token at once (scripts in parallel, the app and a
/// CLI): one signs in, the others wait for it and use its token. One tap, not one per program.
#[test]
fn programs_signing_in_at_once_share_one_sign_in() {
    let idp = DevIdp::start(DevIdpOptions::default());
    let person = Person::new();
    idp.enroll("alice@example.com", "dba", &person.key);
    person.configure(&idp, "alice@example.com", "");

    let runs: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6).map(|_| scope.spawn(|| person.tapgate(&["login"]))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for run in &runs {
        run.expect_ok();
    }
    let sign_ins = person.tapgate(&["history", "--sign-ins", "--json"]).json();
    let taps = sign_ins.as_array().unwrap().iter().filter(|r| r["method"] == "tap").count();
    assert_eq!(taps, 1, "one tap for six programs: {sign_ins}");
}
