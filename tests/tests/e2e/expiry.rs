//! Expiry: refresh without a tap, then a tap once the refresh token has expired too.
//!
//! Time passes on a [`TestClock`] shared by the dev IdP and `tapgate`, not by waiting.

use tapgate_e2e::{DevIdp, DevIdpOptions, Person, TestClock};

#[test]
fn after_expiry_the_token_is_refreshed_without_a_tap() {
    let clock = TestClock::new();
    let idp = DevIdp::start(DevIdpOptions {
        token_ttl: Some("10m"),
        refresh_ttl: Some("8h"),
        clock_file: Some(clock.file()),
        ..Default::default()
    });
    let mut person = Person::new();
    person.use_clock(&clock);
    idp.enroll("alice@example.com", "dba", &person.key);
    person.configure(&idp, "alice@example.com", "");
    person.tapgate(&["login"]).expect_ok();
    let first = person.token();
    let fresh = person.tapgate(&["whoami", "--json"]);
    assert_eq!(fresh.code, Some(0), "{fresh:?}");

    clock.advance(11 * 60);
    let expired = person.tapgate(&["whoami", "--json"]);
    assert_eq!(expired.code, Some(1), "whoami exits 1 once expired: {expired:?}");
    assert_eq!(expired.json()["expired"], true);

    // A broken key cannot tap, so success means the refresh token did it.
    let real_key = person.break_key();
    let login = person.tapgate(&["login"]);
    login.expect_ok();
    assert!(login.stdout.contains("renewed without a tap"), "{}", login.stdout);
    let second = person.token();
    assert_ne!(first, second, "a fresh access token");

    // The history says how each session was obtained, newest first.
    let sign_ins = person.tapgate(&["history", "--sign-ins", "--json"]).json();
    let methods: Vec<&str> =
        sign_ins.as_array().unwrap().iter().map(|r| r["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["refresh", "tap"], "{sign_ins}");
    person.restore_key(&real_key);
    person.tapgate(&["whoami"]).expect_ok();
}

#[test]
fn with_the_refresh_token_expired_too_it_asks_for_a_tap() {
    let clock = TestClock::new();
    let idp = DevIdp::start(DevIdpOptions {
        token_ttl: Some("10m"),
        refresh_ttl: Some("8h"),
        clock_file: Some(clock.file()),
        ..Default::default()
    });
    let mut person = Person::new();
    person.use_clock(&clock);
    idp.enroll("alice@example.com", "dba", &person.key);
    person.configure(&idp, "alice@example.com", "");
    person.tapgate(&["login"]).expect_ok();

    // Still within the refresh token's 8 hours: renewed without a tap.
    clock.advance(4 * 3600);
    let renewed = person.tapgate(&["login"]);
    assert!(renewed.stdout.contains("renewed without a tap"), "{renewed:?}");

    // The refresh token lives 8 h from the tap, not from its last use.
    clock.advance(4 * 3600 + 60);
    let login = person.tapgate(&["login"]);
    login.expect_ok();
    assert!(login.stderr.contains("can no longer be renewed"), "{}", login.stderr);
    assert!(login.stderr.contains("Signing in to"), "the tap prompt was shown: {}", login.stderr);
    assert!(login.stdout.contains("Signed in to"), "{}", login.stdout);
}
