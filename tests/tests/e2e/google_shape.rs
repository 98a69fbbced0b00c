//! Issue 13's "Google shape", against oidc-provider (an IdP nobody here wrote) set up as Google
//! behaves: a desktop client with an installed-app secret, a refresh token for
//! `access_type=offline`, an OPAQUE access token beside an ID token that carries the email. A
//! `cloud = "gcp"` database (Cloud SQL) must get that opaque access token as the password, never
//! the ID token, and log the person in as `user = "{email}"`. The "Cloud SQL" is PostgreSQL 15
//! whose PAM service records the password it is given and lets the login in (Cloud SQL's own
//! check of the token cannot run here; oidc-provider's introspection stands in for Google's
//! tokeninfo: whose token it is and its scopes).

use std::time::Duration;

use tapgate_e2e::browser::{Browser, UrlInbox};
use tapgate_e2e::oidc_provider::OidcProvider;
use tapgate_e2e::pg::{PamLauncher, PamService, PgOptions, PgServer, ServerTls, psql_via_forwarder as psql};
use tapgate_e2e::{Person, files_containing, jwt_claims};

const WAIT: Duration = Duration::from_secs(60);

/// The Google-shaped desktop client of `tests/oidc-provider/server.js`.
const CLIENT_ID: &str = "1234-tapgate.apps.googleusercontent.com";
const CLIENT_SECRET: &str = "GOCSPX-installed-app-not-secret";
/// What Cloud SQL requires of a token, and what config refuses a gcp database without.
const CLOUD_SQL_SCOPE: &str = "https://www.googleapis.com/auth/sqlservice.login";
const EMAIL: &str = "alice@example.com";

/// Stands in for Cloud SQL: keeps the password pam_tapgate.so hands it on stdin, and lets the
/// login in.
const RECORDING_VERIFIER: &str = "#!/bin/sh\ncat > \"$(dirname \"$0\")/received-password\"\n";

#[test]
fn a_cloud_sql_login_presents_the_opaque_access_token_and_logs_in_as_the_id_tokens_email() {
    let op = OidcProvider::start();

    let scripts = tempfile::tempdir().expect("tempdir");
    let recorder = scripts.path().join("record-password");
    std::fs::write(&recorder, RECORDING_VERIFIER).expect("write recorder");
    // pam_tapgate.so launches the program next to it: the built module goes next to the recorder.
    let module = tapgate_e2e::bin("tapgate-pam-verify").with_file_name("libpam_tapgate.so");
    std::fs::copy(&module, scripts.path().join("libpam_tapgate.so")).expect("copy the PAM module");
    let pam = PamService::install_with(PamLauncher::TapgateModule, &recorder, "");
    let pg = PgServer::start(PgOptions {
        pam_service: Some(pam.name.clone()),
        tls: ServerTls::Localhost,
        ..Default::default()
    });
    pg.create_role(EMAIL);

    let inbox = UrlInbox::new();
    let mut person = Person::new();
    person.set_env("BROWSER", &inbox.browser_command().display().to_string());
    // docs/clouds.md's Cloud SQL configuration, with the issuer written over the preset's.
    person.write_config(&format!(
        "[idp.{idp}]\nprovider = \"google\"\nissuer = \"{issuer}\"\nclient_id = \"{CLIENT_ID}\"\n\
         client_secret = \"{CLIENT_SECRET}\"\nca_file = \"{idp_ca}\"\n\
         scopes = [\"openid\", \"email\", \"profile\", \"{CLOUD_SQL_SCOPE}\"]\n\
         [db.sql]\nidp = \"{idp}\"\ncloud = \"gcp\"\nhost = \"127.0.0.1\"\nport = {port}\ndbname = \"postgres\"\n\
         user = \"{{email}}\"\nca_file = \"{pg_ca}\"\n",
        idp = person.idp_name,
        issuer = op.issuer,
        idp_ca = op.ca.display(),
        port = pg.port(),
        pg_ca = pg.ca().display(),
    ));

    // Sign in on oidc-provider's own pages: any login and password, then consent.
    let browser = Browser::start(std::slice::from_ref(&op.spki_sha256));
    let mut login = person.spawn(&["login"]);
    browser.goto(&inbox.wait_for(1, WAIT));
    browser.fill_css("input[name=login]", EMAIL);
    browser.fill_css("input[name=password]", "any password");
    browser.click_css("button[type=submit]");
    browser.wait_for_text("Authorize", WAIT);
    browser.click_css("button[type=submit]");
    browser.wait_for_text(&format!("Signed in to {}, you can close this tab.", person.idp_name), WAIT);
    assert_eq!(login.wait(WAIT), Some(0), "{}\n{}", login.stdout(), login.stderr());

    // oidc-provider refuses this client's token requests without its secret: the code exchange
    // above and the database's refresh below both sent it.

    // Whatever user the client asks for, the person logs in as the email of their ID token.
    let (connect, port) = person.connect("sql");
    let run = psql(port, "whoever", &["-tA", "-c", "select current_user"]);
    assert_eq!(run.stdout.trim(), EMAIL, "{run:?}\n{}\n{}", connect.stderr(), pg.log());

    // Google's way to a refresh token, and Cloud SQL's scope, in the request the browser got.
    let authorize = url::Url::parse(&inbox.urls()[0]).expect("an authorization URL");
    let param = |name: &str| authorize.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    assert_eq!(param("access_type").as_deref(), Some("offline"), "{authorize}");
    assert_eq!(param("prompt").as_deref(), Some("consent"), "{authorize}");
    let scope = param("scope").unwrap_or_default();
    assert!(scope.split(' ').any(|s| s == CLOUD_SQL_SCOPE), "{authorize}");
    assert_eq!(param("client_id").as_deref(), Some(CLIENT_ID), "{authorize}");
    assert_eq!(param("client_secret"), None, "the secret goes to the token endpoint only: {authorize}");

    // What the server was given: the opaque access token, not a JWT and not the ID token.
    let received =
        std::fs::read_to_string(pam.dir().join("received-password")).expect("a password reached the server");
    let received = received.trim_end_matches(['\0', '\n']).to_string();
    assert!(!received.is_empty(), "an empty password");
    assert!(!jwt_shaped(&received), "the server got a JWT, not Google's opaque access token: {received}");
    // Under the google preset the IdP's own token is the ID token (`token = "id"`).
    let id_token = person.token();
    assert!(jwt_shaped(&id_token), "`tapgate token` printed no ID token: {id_token}");
    let id_claims = jwt_claims(&id_token);
    assert_eq!(id_claims["aud"], CLIENT_ID, "{id_claims}");
    assert_eq!(id_claims["email"], EMAIL, "{id_claims}");
    assert_ne!(received, id_token, "Cloud SQL got the ID token");

    // The token is what Cloud SQL checks: the person's, for this client, with the login scope.
    let introspected = introspect(&op, &received);
    assert_eq!(introspected["active"], true, "{introspected}");
    assert_eq!(introspected["sub"], EMAIL, "{introspected}");
    assert_eq!(introspected["client_id"], CLIENT_ID, "{introspected}");
    let granted = introspected["scope"].as_str().unwrap_or_default();
    assert!(granted.split(' ').any(|s| s == CLOUD_SQL_SCOPE), "{introspected}");

    // `tapgate token --db` prints the password the database gets: the same cached token.
    let for_db = person.tapgate(&["token", "--db", "sql"]);
    for_db.expect_ok();
    assert_eq!(for_db.stdout.trim(), received, "`tapgate token --db sql` is not what the server got");

    // A second login is the same person with the same cached token, and no second sign-in.
    let again = psql(port, "someone_else", &["-tA", "-c", "select current_user"]);
    assert_eq!(again.stdout.trim(), EMAIL, "{again:?}\n{}", connect.stderr());
    let received_again = std::fs::read_to_string(pam.dir().join("received-password")).expect("a password");
    assert_eq!(
        received_again.trim_end_matches(['\0', '\n']),
        received,
        "a new token while the cached one was fresh"
    );
    assert_eq!(inbox.urls().len(), 1, "one browser sign-in for everything");

    // The opaque token appears in no output, log or file of the run (the recorder's aside).
    person.keep_transcript(connect.stdout() + &connect.stderr());
    let everything = person.transcripts() + &pg.log() + &pam.decisions();
    assert!(!everything.contains(&received), "the database's token appeared in output or logs");
    for dir in [person.home.path(), pg.data_dir()] {
        let leaks = files_containing(dir, &received);
        assert!(leaks.is_empty(), "token text in {leaks:?}");
    }
    drop(connect);
}

/// Whether `token` is a JWS compact serialisation: three dot-separated base64url parts.
fn jwt_shaped(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// oidc-provider's RFC 7662 introspection of `token`, as the Google-shaped client.
fn introspect(op: &OidcProvider, token: &str) -> serde_json::Value {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&op.ca).unwrap()).unwrap();
    let client = reqwest::blocking::Client::builder().add_root_certificate(ca).build().unwrap();
    let response = client
        .post(format!("{}/token/introspection", op.issuer))
        .form(&[("token", token), ("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)])
        .send()
        .unwrap();
    let status = response.status();
    let body = response.text().unwrap_or_default();
    assert!(status.is_success(), "introspection answered {status}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("introspection is not JSON ({e}): {body}"))
}
