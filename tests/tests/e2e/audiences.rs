//! A token per database audience (`[db.NAME] audience`): one tap, then a refresh per audience;
//! each server's verifier takes only tokens for its own audience, so a token for the test
//! cluster is refused by production. Two PostgreSQL servers behind PAM, each with its own
//! `tapgate-pam-verify` audience, and the dev IdP.

use tapgate_e2e::pg::{PamService, PgOptions, PgServer, ServerTls, psql_via_forwarder};
use tapgate_e2e::{DEV_IDP_POLICY, bin, jwt_claims, keyring_entry};

use super::site::{Site, SiteOptions};

/// A second server whose verifier wants tokens for `audience`.
fn server_for_audience(site: &Site, audience: &str) -> (PgServer, PamService) {
    let pam = PamService::install(
        &bin("tapgate-pam-verify"),
        &format!(
            "issuer = \"{}\"\naudience = \"{audience}\"\nca_file = \"{{dir}}/idp-ca.pem\"\n\
             {DEV_IDP_POLICY}[roles]\napp_rw = [\"dba\"]\n",
            site.idp.issuer
        ),
    );
    pam.add_file("idp-ca.pem", &site.idp.ca());
    let pg = PgServer::start(PgOptions {
        pam_service: Some(pam.name.clone()),
        tls: ServerTls::Localhost,
        ..Default::default()
    });
    pg.create_role("app_rw");
    (pg, pam)
}

fn db_table(name: &str, idp: &str, pg: &PgServer, extra: &str) -> String {
    format!(
        "[db.{name}]\nidp = \"{idp}\"\nhost = \"127.0.0.1\"\nport = {}\ndbname = \"postgres\"\nrole = \"app_rw\"\n\
         auth = \"password\"\nca_file = \"{}\"\n{extra}\n",
        pg.port(),
        pg.ca().display()
    )
}

#[test]
fn each_database_gets_a_token_for_its_own_audience_from_one_tap() {
    // prod takes the IdP's own audience ("postgres"); test wants "postgres-test".
    let site = Site::new(SiteOptions::default());
    let (test_pg, test_pam) = server_for_audience(&site, "postgres-test");
    let idp = site.person.idp_name.clone();
    site.person.append_config(&db_table("test", &idp, &test_pg, "audience = \"postgres-test\""));
    // The test cluster's audience, pointed at production: what a stolen test token would be.
    site.person.append_config(&db_table(
        "prod-with-test-token",
        &idp,
        &site.pg,
        "audience = \"postgres-test\"",
    ));

    let (test, test_port) = site.person.connect("test");
    let in_test = psql_via_forwarder(test_port, "app_rw", &["-tA", "-c", "select current_user"]);
    assert_eq!(
        in_test.stdout.trim(),
        "app_rw",
        "{in_test:?}\ndecisions: {}\n{}",
        test_pam.decisions(),
        test.stderr()
    );
    let (prod, prod_port) = site.connect();
    let in_prod = psql_via_forwarder(prod_port, "app_rw", &["-tA", "-c", "select current_user"]);
    assert_eq!(
        in_prod.stdout.trim(),
        "app_rw",
        "{in_prod:?}\ndecisions: {}\n{}",
        site.pam.decisions(),
        prod.stderr()
    );

    // One tap for both: the test cluster's token came from a refresh for its audience.
    let sign_ins = site.person.tapgate(&["history", "--sign-ins", "--json"]).json();
    let methods: Vec<&str> =
        sign_ins.as_array().unwrap().iter().filter_map(|s| s["method"].as_str()).collect();
    assert_eq!(methods.iter().filter(|m| **m == "tap").count(), 1, "sign-ins: {sign_ins}");
    assert!(methods.contains(&"refresh"), "sign-ins: {sign_ins}");

    // Each database's token names its own audience; the IdP's stays the IdP's.
    let test_token = site.person.tapgate(&["token", "--db", "test"]);
    test_token.expect_ok();
    assert_eq!(jwt_claims(test_token.stdout.trim())["aud"], "postgres-test");
    assert_eq!(jwt_claims(&site.person.token())["aud"], "postgres");
    let prod_token = site.person.tapgate(&["token", "--db", "prod"]);
    assert_eq!(jwt_claims(prod_token.stdout.trim())["aud"], "postgres");

    // Production refuses the test cluster's token, and says why in its decision log.
    let (stolen, stolen_port) = site.person.connect("prod-with-test-token");
    let refused = psql_via_forwarder(stolen_port, "app_rw", &["-tA", "-c", "select 1"]);
    assert!(!refused.ok(), "production took a token for the test cluster: {refused:?}");
    assert!(
        refused.stderr.contains("password authentication failed") || refused.stderr.contains("PAM"),
        "{refused:?}\n{}",
        stolen.stderr()
    );
    assert!(site.pam.decisions().contains("postgres-test"), "decisions: {}", site.pam.decisions());

    // The tokens are in the keyring, one entry per (IdP, audience), and sign-out forgets them all.
    let entry = format!("{idp}#aud=postgres-test");
    assert!(keyring_entry(&entry).is_some(), "no keyring entry {entry}");
    drop((test, prod, stolen));
    site.person.tapgate(&["logout", &idp]).expect_ok();
    assert!(keyring_entry(&entry).is_none(), "the test cluster's token outlived sign-out");
    assert!(keyring_entry(&idp).is_none());
}

#[test]
fn an_audience_the_idp_will_not_issue_is_reported_in_words_without_a_tap() {
    let site = Site::new(SiteOptions::default());
    let idp = site.person.idp_name.clone();
    // RFC 8707: a resource must be an absolute URI; the IdP refuses this one as a target.
    site.person.append_config(&db_table(
        "odd",
        &idp,
        &site.pg,
        "audience = \"postgres\"\nscopes = [\"admin\"]",
    ));
    site.person.tapgate(&["login", &idp]).expect_ok();
    let run = site.person.tapgate(&["token", "--db", "odd"]);
    assert!(!run.ok(), "{run:?}");
    assert!(
        run.stderr.contains("will not issue a token for audience postgres with scopes admin")
            && run.stderr.contains("not granted"),
        "{run:?}"
    );
    let sign_ins = site.person.tapgate(&["history", "--sign-ins", "--json"]).json();
    let taps = sign_ins.as_array().unwrap().iter().filter(|s| s["method"] == "tap").count();
    assert_eq!(taps, 1, "a refused audience must not ask for a tap: {sign_ins}");
}
