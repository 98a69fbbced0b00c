//! `tapgate doctor` against a real site (dev IdP over HTTPS, PostgreSQL 15 behind PAM): a
//! healthy one passes, each thing broken on purpose (a key file others can read, an untrusted
//! server certificate, a closed port, the wrong `auth`, a loopback port held by another user,
//! the IdP down) fails with its own line and fix, and a
//! signed-in run, with its forwarder running, shows who is signed in but no token.

use std::os::unix::fs::PermissionsExt;

use tapgate_e2e::{Person, Run};

use crate::site::{Site, SiteOptions};

/// The lines of a text run, as `(status, name, detail)`, and each name's fix.
fn lines(run: &Run) -> Vec<(String, String, String, Option<String>)> {
    let mut checks: Vec<(String, String, String, Option<String>)> = Vec::new();
    for line in run.stdout.lines() {
        if let Some(fix) = line.strip_prefix("  fix: ") {
            checks.last_mut().unwrap().3 = Some(fix.to_string());
            continue;
        }
        let (status, rest) = line.split_once(' ').unwrap_or_else(|| panic!("not a check line: {line:?}"));
        let (name, detail) = rest.split_once(": ").unwrap_or_else(|| panic!("not a check line: {line:?}"));
        assert!(["PASS", "WARN", "FAIL"].contains(&status), "{line:?}");
        checks.push((status.to_string(), name.to_string(), detail.to_string(), None));
    }
    checks
}

/// The check called `name` in `run`, as `(status, detail, fix)`.
#[track_caller]
fn check(run: &Run, name: &str) -> (String, String, Option<String>) {
    lines(run)
        .into_iter()
        .find(|(_, n, _, _)| n == name)
        .map(|(status, _, detail, fix)| (status, detail, fix))
        .unwrap_or_else(|| panic!("no {name} check in:\n{}", run.stdout))
}

fn names(run: &Run) -> Vec<String> {
    lines(run).into_iter().map(|(_, name, _, _)| name).collect()
}

fn doctor(person: &Person) -> Run {
    person.tapgate(&["doctor"])
}

#[test]
fn a_healthy_site_passes_every_check_and_the_json_says_ok() {
    let site = Site::new(SiteOptions::default());
    let idp = &site.person.idp_name;
    let run = doctor(&site.person);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        names(&run),
        [
            "config".to_string(),
            "keyring".into(),
            format!("idp.{idp}.session"),
            format!("idp.{idp}.authenticator"),
            format!("idp.{idp}.discovery"),
            format!("idp.{idp}.jwks"),
            format!("idp.{idp}.clock"),
            "db.prod.reach".into(),
            "db.prod.tls".into(),
            "db.prod.auth".into(),
            "db.prod.port".into(),
            "runtime-dir".into(),
        ]
    );
    for (status, name, detail, fix) in lines(&run) {
        assert_eq!((status.as_str(), fix), ("PASS", None), "{name}: {detail}\n{}", run.stdout);
    }
    // A software key is checked as a file; no USB device is looked for.
    let (_, key, _) = check(&run, &format!("idp.{idp}.authenticator"));
    assert_eq!(key, format!("software key {} is yours and private (mode 0600)", site.person.key.display()));
    let (_, auth, _) = check(&run, "db.prod.auth");
    assert_eq!(
        auth,
        "the server asks app_rw for a password, and Tapgate sends the token as one (auth = \"password\")"
    );
    let (_, tls, _) = check(&run, "db.prod.tls");
    assert!(tls.contains("with sslmode = \"verify-full\": the certificate is signed by ca_file"), "{tls}");
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    // The probe never logged in: the PAM verifier was never asked.
    assert!(site.pam.decisions().is_empty(), "{}", site.pam.decisions());

    let json = site.person.tapgate(&["doctor", "--json"]).expect_ok().json();
    assert_eq!(json["ok"], true);
    let checks = json["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 12);
    assert!(
        checks.iter().all(|c| c["status"] == "pass" && c["fix"].is_null() && c["detail"].is_string()),
        "{json}"
    );
}

#[test]
fn each_broken_thing_fails_with_its_own_line_and_fix() {
    let mut site = Site::new(SiteOptions::default());
    let idp = site.person.idp_name.clone();
    let closed = tapgate_e2e::pg::free_port();
    let pg = site.pg.port();
    let (mut squatter, squatted) = another_users_listener();
    site.person.append_config(&format!(
        "[db.squatted]\nidp = \"{idp}\"\nhost = \"127.0.0.1\"\nport = {pg}\ndbname = \"postgres\"\nrole = \"app_rw\"\n\
         ca_file = \"{ca}\"\nlocal_port = {squatted}\n",
        ca = site.pg.ca().display(),
    ));
    site.person.append_config(&format!(
        "[db.untrusted]\nidp = \"{idp}\"\nhost = \"127.0.0.1\"\nport = {pg}\ndbname = \"postgres\"\nrole = \"app_rw\"\n\n\
         [db.closed]\nidp = \"{idp}\"\nhost = \"127.0.0.1\"\nport = {closed}\ndbname = \"postgres\"\nrole = \"app_rw\"\n\n\
         [db.oauth]\nidp = \"{idp}\"\nhost = \"127.0.0.1\"\nport = {pg}\ndbname = \"postgres\"\nrole = \"app_rw\"\n\
         auth = \"oauthbearer\"\nca_file = \"{ca}\"\n",
        ca = site.pg.ca().display(),
    ));
    std::fs::set_permissions(&site.person.key, std::fs::Permissions::from_mode(0o644)).unwrap();

    let run = doctor(&site.person);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);

    let (status, detail, fix) = check(&run, &format!("idp.{idp}.authenticator"));
    assert_eq!(status, "FAIL");
    assert!(detail.contains("can be read by others (mode 0644)"), "{detail}");
    assert_eq!(fix, Some(format!("chmod 600 {}", site.person.key.display())));

    let (status, detail, fix) = check(&run, "db.untrusted.tls");
    assert_eq!(status, "FAIL");
    assert_eq!(
        detail,
        format!(
            "TLS with the server at 127.0.0.1:{pg} failed: the server's certificate is not signed by a CA Tapgate trusts"
        )
    );
    assert_eq!(
        fix.as_deref(),
        Some("set ca_file for untrusted to the CA certificate (PEM) that signed the server's certificate")
    );
    assert_eq!(check(&run, "db.untrusted.reach").0, "PASS");
    assert!(!names(&run).contains(&"db.untrusted.auth".to_string()), "no auth check past a failed TLS");

    let (status, detail, fix) = check(&run, "db.closed.reach");
    assert_eq!(status, "FAIL");
    assert!(detail.starts_with(&format!("cannot reach the server at 127.0.0.1:{closed}: ")), "{detail}");
    assert!(fix.unwrap().starts_with("check host and port in [db.closed]"));
    assert!(!names(&run).contains(&"db.closed.tls".to_string()));

    let (status, detail, fix) = check(&run, "db.oauth.auth");
    assert_eq!(status, "FAIL");
    assert_eq!(detail, "the server asks app_rw for a password, but auth = \"oauthbearer\"");
    assert!(fix.unwrap().starts_with("set auth = \"password\" in [db.oauth]"));

    let (status, detail, fix) = check(&run, "db.squatted.port");
    let _ = squatter.kill();
    let _ = squatter.wait();
    assert_eq!(status, "FAIL");
    assert!(
        detail.starts_with(&format!("127.0.0.1:{squatted} is held by a program of another user (uid ")),
        "{detail}"
    );
    assert_eq!(fix.as_deref(), Some("set another local_port in [db.squatted]"));

    // What is not broken still passes.
    for name in ["db.prod.reach", "db.prod.tls", "db.prod.auth", "db.prod.port", "config", "keyring"] {
        assert_eq!(check(&run, name).0, "PASS", "{name}:\n{}", run.stdout);
    }
    assert_eq!(check(&run, &format!("idp.{idp}.discovery")).0, "PASS");

    // The IdP goes down: discovery fails and nothing after it is asked of the IdP.
    let issuer = site.idp.issuer.clone();
    site.idp.stop();
    let run = doctor(&site.person);
    assert_eq!(run.code, Some(1));
    let (status, detail, fix) = check(&run, &format!("idp.{idp}.discovery"));
    assert_eq!(status, "FAIL");
    assert_eq!(detail, format!("cannot reach the IdP {idp} at {issuer}: connection refused"));
    assert!(fix.unwrap().contains(&format!("issuer in [idp.{idp}]")));
    assert!(!names(&run).contains(&format!("idp.{idp}.jwks")));
    assert!(!names(&run).contains(&format!("idp.{idp}.clock")));

    let json = site.person.tapgate(&["doctor", "--json"]).json();
    assert_eq!(json["ok"], false);
    let discovery = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == format!("idp.{idp}.discovery"))
        .unwrap()
        .clone();
    assert_eq!(discovery["status"], "fail");
    assert!(discovery["fix"].is_string());
}

/// A program of another OS user listening on a free loopback port: the process and the port.
fn another_users_listener() -> (std::process::Child, u16) {
    use tapgate_e2e::pg::{OTHER_USER, ensure_other_user, free_port};
    ensure_other_user();
    let port = free_port();
    let squatter = std::process::Command::new("runuser")
        .args(["-u", OTHER_USER, "--", "python3", "-c"])
        .arg(format!(
            "import socket, time\ns = socket.socket()\ns.bind(('127.0.0.1', {port}))\ns.listen()\ntime.sleep(120)"
        ))
        .spawn()
        .unwrap();
    tapgate_e2e::desktop::wait_until(
        "the other user's program listening",
        std::time::Duration::from_secs(30),
        || std::net::TcpStream::connect(("127.0.0.1", port)).ok(),
        || format!("nothing on {port}"),
    );
    (squatter, port)
}

#[test]
fn a_signed_in_run_shows_who_but_no_token() {
    let site = Site::new(SiteOptions::default());
    let idp = &site.person.idp_name;
    site.person.tapgate(&["login"]).expect_ok();
    let token = site.person.token();
    let entry = tapgate_e2e::keyring_entry(idp).expect("the session is in the keyring");
    let entry: serde_json::Value = serde_json::from_str(&entry).unwrap();
    let refresh = entry["refresh_token"].as_str().expect("a refresh token").to_string();

    // A forwarder of this person holds the database's port: that is as it should be.
    let (connect, port) = site.connect();

    let run = doctor(&site.person);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let (status, detail, _) = check(&run, "db.prod.port");
    assert_eq!(status, "PASS");
    assert_eq!(
        detail,
        format!("127.0.0.1:{port} is held by its own forwarder (tapgate connect, pid {})", connect.pid())
    );
    let (status, detail, _) = check(&run, "runtime-dir");
    assert_eq!(
        (status.as_str(), detail),
        ("PASS", format!("{} is yours and private (mode 0700)", site.person.runtime_dir().display()))
    );
    let (status, detail, _) = check(&run, &format!("idp.{idp}.session"));
    assert_eq!(status, "PASS");
    assert!(detail.starts_with("signed in as alice@example.com ("), "{detail}");
    let json = site.person.tapgate(&["doctor", "--json"]).expect_ok().stdout.clone();

    for secret in [token.as_str(), refresh.as_str()] {
        for (what, text) in [("stdout", &run.stdout), ("stderr", &run.stderr), ("json", &json)] {
            assert!(!text.contains(secret), "{what} holds a secret");
        }
        // Each part of a JWT on its own (a signature alone would still be a leak).
        for part in secret.split('.').filter(|p| p.len() > 16) {
            assert!(!run.stdout.contains(part) && !json.contains(part), "a part of a secret leaked");
        }
    }
    assert!(!site.person.transcripts().contains(&token), "no transcript holds the token");
}
