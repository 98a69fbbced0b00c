//! Tokens live in the OS keyring, never in files or output; without a keyring, memory only.

use tapgate_e2e::{DevIdp, DevIdpOptions, Person, TestClock, files_containing, keyring_entry};

#[test]
fn tokens_are_kept_in_the_keyring_and_never_in_files_or_output() {
    let clock = TestClock::new();
    let idp = DevIdp::start(DevIdpOptions { clock_file: Some(clock.file()), ..Default::default() });
    let mut person = Person::new();
    person.use_clock(&clock);
    idp.enroll("alice@example.com", "dba,dev", &person.key);
    person.configure(&idp, "alice@example.com", "");

    let login = person.tapgate(&["login"]);
    login.expect_ok();
    assert!(!login.stderr.contains("no OS keyring"), "the test keyring is in use: {}", login.stderr);
    person.tapgate(&["whoami"]).expect_ok();
    let token = person.token();

    let entry = keyring_entry(&person.idp_name).expect("a Secret Service entry for the IdP");
    let stored: serde_json::Value = serde_json::from_str(&entry).unwrap();
    assert_eq!(stored["access_token"], token.as_str());
    let refresh = stored["refresh_token"].as_str().unwrap().to_string();

    // Exercise refresh and failures too, so every code path's output is checked.
    clock.advance(16 * 60);
    let renewed = person.tapgate(&["login"]);
    renewed.expect_ok();
    assert!(renewed.stdout.contains("renewed without a tap"), "{}", renewed.stdout);
    person.tapgate(&["whoami", "--json"]).expect_ok();
    person.tapgate(&["logout"]).expect_ok();
    person.tapgate(&["whoami"]);
    assert!(keyring_entry(&person.idp_name).is_none(), "logout removes the entry");

    let output = person.transcripts() + &idp.log();
    for secret in [token.as_str(), refresh.as_str()] {
        assert!(!output.contains(secret), "a token appeared in output or logs");
        // Tokens are also never in plain files: the person's home, config, or the IdP's data.
        assert!(files_containing(person.home.path(), secret).is_empty());
        assert!(files_containing(idp.data.path(), secret).is_empty());
    }
    // No fragment either: the JWT signature is the part that must never leak.
    let signature = token.rsplit('.').next().unwrap();
    assert!(!output.contains(signature));
}

/// `tapgate logout` asks the IdP to revoke the refresh token (RFC 7009): a copy of it taken
/// from the keyring (a backup, a stolen disk) no longer renews anything.
#[test]
fn logout_revokes_the_refresh_token_at_the_idp() {
    let idp = DevIdp::start(DevIdpOptions::default());
    let person = Person::new();
    idp.enroll("alice@example.com", "dba", &person.key);
    person.configure(&idp, "alice@example.com", "");
    person.tapgate(&["login"]).expect_ok();
    let entry = keyring_entry(&person.idp_name).expect("a Secret Service entry for the IdP");
    let stolen: serde_json::Value = serde_json::from_str(&entry).unwrap();
    let stolen = stolen["refresh_token"].as_str().unwrap().to_string();

    let logout = person.tapgate(&["logout"]);
    logout.expect_ok();
    assert!(!logout.stderr.contains("warning"), "revoked without complaint: {}", logout.stderr);
    let (status, body) = idp.try_refresh(&stolen);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid_grant"), "{body}");
}

#[test]
fn without_a_keyring_it_says_so_in_one_line_and_keeps_tokens_in_memory() {
    let idp = DevIdp::start(DevIdpOptions::default());
    let mut person = Person::new();
    idp.enroll("alice@example.com", "dba", &person.key);
    person.configure(&idp, "alice@example.com", "");
    person.set_env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");

    let login = person.tapgate(&["login"]);
    login.expect_ok();
    let notes: Vec<&str> = login.stderr.lines().filter(|l| l.contains("keyring")).collect();
    assert_eq!(notes.len(), 1, "one line: {}", login.stderr);
    assert!(notes[0].contains("in memory"), "{}", notes[0]);

    // The next process has nothing cached.
    let whoami = person.tapgate(&["whoami"]);
    assert_eq!(whoami.code, Some(1), "{whoami:?}");
    assert!(keyring_entry(&person.idp_name).is_none());
}
