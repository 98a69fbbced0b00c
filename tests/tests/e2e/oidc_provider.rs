//! `tapgate` against an IdP nobody here wrote: oidc-provider (npm), its development sign-in and
//! consent pages done in a real Chromium, then psql through the forwarder with the access token
//! accepted by the PostgreSQL 18 validator; a refresh without the browser; `logout` revoking
//! the refresh token at that IdP.

use std::time::Duration;

use tapgate_e2e::browser::{Browser, UrlInbox};
use tapgate_e2e::oidc_provider::{AUDIENCE, OidcProvider};
use tapgate_e2e::pg::psql_via_forwarder as psql;
use tapgate_e2e::pg18::{Pg18Options, Pg18Server};
use tapgate_e2e::{Person, TestClock, keyring_entry};

const WAIT: Duration = Duration::from_secs(60);

/// A PostgreSQL 18 trusting `op`, and a person whose config signs in there (`flow_line` picks
/// the flow; none is the browser) with `$BROWSER` pointing at an inbox, on a test clock.
fn site(op: &OidcProvider, flow_line: &str) -> (Pg18Server, UrlInbox, TestClock, Person) {
    let pg = Pg18Server::start(Pg18Options {
        issuer: op.issuer.clone(),
        verify_toml: format!(
            "issuer = \"{}\"\naudience = \"{AUDIENCE}\"\nca_file = \"{{dir}}/idp-ca.pem\"\n\
             require_amr = []\nallowed_clients = [\"tapgate\"]\nmax_token_lifetime = \"1h\"\n\
             require_typ = \"at+jwt\"\n[roles]\napp_rw = [\"dba\"]\n",
            op.issuer
        ),
        roles: vec!["app_rw".into()],
        settings: Vec::new(),
    });
    pg.add_file("idp-ca.pem", &op.ca);
    let clock = TestClock::new();
    let inbox = UrlInbox::new();
    let mut person = Person::new();
    person.use_clock(&clock);
    person.set_env("BROWSER", &inbox.browser_command().display().to_string());
    // As docs/idps.md says for a generic OpenID Provider: no username, no dialect.
    person.write_config(&format!(
        "[idp.{name}]\nissuer = \"{issuer}\"\nclient_id = \"tapgate\"\naudience = \"{AUDIENCE}\"\n\
         ca_file = \"{ca}\"\n{flow_line}\n\
         [db.prod]\nidp = \"{name}\"\nhost = \"127.0.0.1\"\nport = {port}\ndbname = \"postgres\"\n\
         role = \"app_rw\"\nauth = \"oauthbearer\"\nca_file = \"{pg_ca}\"\n",
        name = person.idp_name,
        issuer = op.issuer,
        ca = op.ca.display(),
        port = pg.port(),
        pg_ca = pg.ca().display(),
    ));
    (pg, inbox, clock, person)
}

#[test]
fn browser_sign_in_at_oidc_provider_then_psql_a_refresh_and_a_revoking_logout() {
    let op = OidcProvider::start();
    let (pg, inbox, clock, person) = site(&op, "");
    // Sign in on oidc-provider's own pages: any login and password, then consent.
    let browser = Browser::start(std::slice::from_ref(&op.spki_sha256));
    let mut login = person.spawn(&["login"]);
    browser.goto(&inbox.wait_for(1, WAIT));
    browser.fill_css("input[name=login]", "alice@example.com");
    browser.fill_css("input[name=password]", "any password");
    browser.click_css("button[type=submit]");
    browser.wait_for_text("Authorize", WAIT);
    browser.click_css("button[type=submit]");
    browser.wait_for_text(&format!("Signed in to {}, you can close this tab.", person.idp_name), WAIT);
    assert_eq!(login.wait(WAIT), Some(0), "{}\n{}", login.stdout(), login.stderr());

    let (_connect, port) = person.connect("prod");
    let run = psql(port, "app_rw", &["-tA", "-c", "select current_user"]);
    assert_eq!(run.stdout.trim(), "app_rw", "{run:?}\n{}", pg.log());

    // Its access tokens live 10 minutes; 11 minutes later the refresh token renews them.
    clock.advance(11 * 60);
    let mut renewed = person.spawn(&["login"]);
    assert_eq!(renewed.wait(WAIT), Some(0), "{}", renewed.stderr());
    assert!(renewed.stdout().contains("renewed without a tap"), "{}\n{}", renewed.stdout(), renewed.stderr());
    assert_eq!(inbox.urls().len(), 1, "no browser for a refresh");
    // The refreshed token is still for the database (the refresh names the audience as RFC
    // 8707 `resource`; without it oidc-provider refreshes into an opaque token).
    let after_refresh = psql(port, "app_rw", &["-tA", "-c", "select current_user"]);
    assert_eq!(after_refresh.stdout.trim(), "app_rw", "{after_refresh:?}\n{}", pg.log());

    // A database naming its audience (RFC 8707 `resource` on the refresh): oidc-provider
    // issues a token for a resource the sign-in granted, and refuses one it did not, which
    // Tapgate reports in words without opening the browser again.
    person.append_config(&format!(
        "[db.named]\nidp = \"{idp}\"\nhost = \"127.0.0.1\"\nport = {port}\ndbname = \"postgres\"\nrole = \"app_rw\"\n\
         auth = \"oauthbearer\"\nca_file = \"{ca}\"\naudience = \"{AUDIENCE}\"\n\
         [db.elsewhere]\nidp = \"{idp}\"\nhost = \"127.0.0.1\"\nport = {port}\ndbname = \"postgres\"\nrole = \"app_rw\"\n\
         auth = \"oauthbearer\"\nca_file = \"{ca}\"\naudience = \"https://elsewhere.example.com/db\"\n",
        idp = person.idp_name,
        port = pg.port(),
        ca = pg.ca().display(),
    ));
    // oidc-provider puts no `amr` in its tokens: a server that requires a security key
    // (require_amr = ["hwk"], the default for new verifier configs) refuses them, and says why.
    let strict = Pg18Server::start(Pg18Options {
        issuer: op.issuer.clone(),
        verify_toml: format!(
            "issuer = \"{}\"\naudience = \"{AUDIENCE}\"\nca_file = \"{{dir}}/idp-ca.pem\"\n\
             require_amr = [\"hwk\"]\nallowed_clients = [\"tapgate\"]\nmax_token_lifetime = \"1h\"\n\
             [roles]\napp_rw = [\"dba\"]\n",
            op.issuer
        ),
        roles: vec!["app_rw".into()],
        settings: Vec::new(),
    });
    strict.add_file("idp-ca.pem", &op.ca);
    person.append_config(&format!(
        "[db.strict]\nidp = \"{idp}\"\nhost = \"127.0.0.1\"\nport = {port}\ndbname = \"postgres\"\nrole = \"app_rw\"\n\
         auth = \"oauthbearer\"\nca_file = \"{ca}\"\n",
        idp = person.idp_name,
        port = strict.port(),
        ca = strict.ca().display(),
    ));
    let (_strict_connect, strict_port) = person.connect("strict");
    let refused = psql(strict_port, "app_rw", &["-tA", "-c", "select 1"]);
    assert!(!refused.ok(), "a token without amr got past require_amr: {refused:?}");
    assert!(
        strict.decisions().iter().any(|d| d.contains("amr []") && d.contains("require_amr")),
        "decisions: {:?}\n{}",
        strict.decisions(),
        strict.log()
    );

    let named = person.tapgate(&["token", "--db", "named"]);
    named.expect_ok();
    assert_eq!(tapgate_e2e::jwt_claims(named.stdout.trim())["aud"], AUDIENCE);
    let elsewhere = person.tapgate(&["token", "--db", "elsewhere"]);
    assert!(!elsewhere.ok(), "{elsewhere:?}");
    assert!(
        elsewhere.stderr.contains("will not issue a token for audience https://elsewhere.example.com/db"),
        "{elsewhere:?}"
    );
    assert_eq!(inbox.urls().len(), 1, "no browser for a database's audience");

    let entry: serde_json::Value =
        serde_json::from_str(&keyring_entry(&person.idp_name).expect("a keyring entry")).unwrap();
    let refresh = entry["refresh_token"].as_str().expect("oidc-provider gave a refresh token").to_string();
    person.tapgate(&["logout"]).expect_ok();
    let (status, body) = op.try_refresh(&refresh);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid_grant"), "the revoked refresh token is refused: {body}");
}

/// The device flow at oidc-provider: `tapgate login --device` prints its page and code; the
/// person confirms the code there, signs in and consents; the terminal gets the token, which
/// the PostgreSQL 18 validator accepts.
#[test]
fn device_code_sign_in_at_oidc_provider() {
    let op = OidcProvider::start();
    let (pg, _inbox, _clock, person) = site(&op, "flow = \"device\"");
    let browser = Browser::start(std::slice::from_ref(&op.spki_sha256));
    let mut login = person.spawn(&["login"]);
    let url = tapgate_e2e::desktop::wait_until(
        "the device page printed",
        WAIT,
        || login.stderr().lines().map(str::trim).find(|l| l.starts_with("https://")).map(str::to_string),
        || login.stderr(),
    );
    browser.goto(&url);
    browser.wait_for_text("Confirm Device", WAIT);
    browser.click_css("button[type=submit]:not([name=abort])");
    browser.fill_css("input[name=login]", "alice@example.com");
    browser.fill_css("input[name=password]", "any password");
    browser.click_css("button[type=submit]");
    browser.wait_for_text("Authorize", WAIT);
    browser.click_css("button[type=submit]");
    browser.wait_for_text("Sign-in Success", WAIT);
    assert_eq!(login.wait(WAIT), Some(0), "{}\n{}", login.stdout(), login.stderr());
    let token = person.token();
    let claims = tapgate_e2e::jwt_claims(&token);
    assert_eq!(claims["aud"], AUDIENCE, "{claims}");
    assert_eq!(claims["groups"], serde_json::json!(["dba", "dev"]), "{claims}");
    let (_connect, port) = person.connect("prod");
    let run = psql(port, "app_rw", &["-tA", "-c", "select current_user"]);
    assert_eq!(run.stdout.trim(), "app_rw", "{run:?}\n{}", pg.log());
}
