//! Each failure is one clear line and exit 1, and never shows a token.

use tapgate_e2e::{DevIdp, DevIdpOptions, Person};

#[test]
fn a_key_that_was_never_enrolled_is_refused_as_not_registered() {
    let idp = DevIdp::start(DevIdpOptions::default());
    let person = Person::new();
    // alice is enrolled with one key; the person holds a different, never-enrolled one.
    let other = tempfile::tempdir().unwrap();
    idp.enroll("alice@example.com", "dba", &other.path().join("enrolled.key"));
    let stranger_idp = DevIdp::start(DevIdpOptions::default());
    stranger_idp.enroll("alice@example.com", "dba", &person.key);
    person.configure(&idp, "alice@example.com", "");

    let line = person.tapgate(&["login"]).expect_one_line_failure();
    assert!(line.contains("not registered"), "{line}");
}

#[test]
fn an_assertion_for_another_origin_is_refused() {
    let idp = DevIdp::start(DevIdpOptions::default());
    let person = Person::new();
    idp.enroll("alice@example.com", "dba", &person.key);
    let wrong = format!("rp_origin = \"https://evil.localhost:{}\"", idp.port());
    person.configure(&idp, "alice@example.com", &wrong);

    let line = person.tapgate(&["login"]).expect_one_line_failure();
    assert!(line.contains("origin"), "{line}");
    assert!(line.contains("refused"), "{line}");
}

#[test]
fn an_unknown_user_is_named() {
    let idp = DevIdp::start(DevIdpOptions::default());
    let person = Person::new();
    idp.enroll("alice@example.com", "dba", &person.key);
    person.configure(&idp, "bob@example.com", "");

    let line = person.tapgate(&["login"]).expect_one_line_failure();
    assert!(line.contains("bob@example.com"), "{line}");
    assert!(line.contains("no user"), "{line}");
}

#[test]
fn an_idp_that_is_down_is_reported_as_unreachable() {
    let idp = DevIdp::start(DevIdpOptions::default());
    let person = Person::new();
    idp.enroll("alice@example.com", "dba", &person.key);
    person.configure(&idp, "alice@example.com", "");
    let issuer = idp.issuer.clone();
    drop(idp);

    let line = person.tapgate(&["login"]).expect_one_line_failure();
    assert!(line.contains("cannot reach"), "{line}");
    assert!(line.contains(&issuer), "{line}");
}

#[test]
fn an_idp_with_an_untrusted_certificate_is_a_tls_failure() {
    let idp = DevIdp::start(DevIdpOptions::default());
    let person = Person::new();
    idp.enroll("alice@example.com", "dba", &person.key);
    // The same config without ca_file: the dev IdP's private CA is not trusted.
    person.write_config(&format!(
        "[idp.{}]\nissuer = \"{}\"\nclient_id = \"tapgate\"\nusername = \"alice@example.com\"\nauthenticator = \"soft:{}\"\n",
        person.idp_name,
        idp.issuer,
        person.key.display()
    ));

    let line = person.tapgate(&["login"]).expect_one_line_failure();
    assert!(line.contains("TLS"), "{line}");
    assert!(line.contains("ca_file"), "says how to fix it: {line}");
}

#[test]
fn a_30_second_clock_offset_is_detected_and_reported_once() {
    let idp = DevIdp::start(DevIdpOptions { clock_offset: Some(30), ..Default::default() });
    let person = Person::new();
    idp.enroll("alice@example.com", "dba", &person.key);
    person.configure(&idp, "alice@example.com", "");

    let login = person.tapgate(&["login"]);
    login.expect_ok();
    let warnings: Vec<&str> = login.stderr.lines().filter(|l| l.contains("clock")).collect();
    assert_eq!(warnings.len(), 1, "warned once: {}", login.stderr);
    assert!(
        warnings[0].contains("30 s") || warnings[0].contains("29 s") || warnings[0].contains("31 s"),
        "{}",
        warnings[0]
    );

    let json = person.tapgate(&["whoami", "--json"]).json();
    let skew = json["clock_skew_seconds"].as_i64().unwrap();
    assert!((29..=31).contains(&skew), "measured skew {skew}");
    // Countdowns run on the IdP's clock: a 15-minute token still shows about 15 minutes, not 15.5.
    let left = json["expires_in_seconds"].as_i64().unwrap();
    assert!((880..=900).contains(&left), "countdown on IdP time: {left}");
}
