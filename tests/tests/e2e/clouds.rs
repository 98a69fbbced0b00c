//! Managed-cloud shapes through the real binaries, the dev IdP and PostgreSQL 15 behind the PAM
//! verifier: an Entra-shaped setup (the Azure scope asked for per database, each person logged
//! in as their own user named by `upn`), and Cloud SQL-style certificates that name an instance
//! rather than a host (`server_name`). RDS (AWS STS and SigV4) is in `rds.rs`.

use tapgate_e2e::pg::{PamService, PgOptions, PgServer, ServerTls, psql_via_forwarder};
use tapgate_e2e::{DEV_IDP_POLICY, bin, jwt_claims};

use super::site::{Site, SiteOptions};

/// The scope of the tokens Azure Database for PostgreSQL takes.
const AZURE_SCOPE: &str = "https://ossrdbms-aad.database.windows.net/.default";

#[test]
fn an_entra_shaped_setup_logs_each_person_in_as_their_own_upn() {
    let site = Site::new(SiteOptions::default());
    // As Azure maps Entra principals: the person is their own database user, named by `upn`.
    let pam = PamService::install(
        &bin("tapgate-pam-verify"),
        &format!(
            "issuer = \"{}\"\naudience = \"postgres\"\nidentity_claim = \"upn\"\nown_role = true\n\
             ca_file = \"{{dir}}/idp-ca.pem\"\n{DEV_IDP_POLICY}",
            site.idp.issuer
        ),
    );
    pam.add_file("idp-ca.pem", &site.idp.ca());
    let pg = PgServer::start(PgOptions {
        pam_service: Some(pam.name.clone()),
        tls: ServerTls::Localhost,
        ..Default::default()
    });
    pg.create_role("alice@example.com");
    pg.create_role("app_ro");

    // The sign-in is granted the Azure scope too, as an Entra app registration with the
    // OSSRDBMS permission is; the database's token is then asked for that scope alone.
    site.person.configure(
        &site.idp,
        "alice@example.com",
        &format!("scopes = [\"openid\", \"profile\", \"groups\", \"offline_access\", \"{AZURE_SCOPE}\"]"),
    );
    site.person.append_config(&format!(
        "[db.azure]\nidp = \"{}\"\ncloud = \"azure\"\nhost = \"127.0.0.1\"\nport = {}\ndbname = \"postgres\"\n\
         user = \"{{upn}}\"\nroles = [\"app_ro\"]\nca_file = \"{}\"\n",
        site.person.idp_name,
        pg.port(),
        pg.ca().display()
    ));

    let (azure, port) = site.person.connect("azure");
    // Whatever user the client names, it is the person who logs in, as themselves.
    for asked in ["somebody_else", "postgres"] {
        let run = psql_via_forwarder(port, asked, &["-tA", "-c", "select current_user"]);
        assert_eq!(
            run.stdout.trim(),
            "alice@example.com",
            "asked for {asked}: {run:?}\ndecisions: {}\n{}",
            pam.decisions(),
            azure.stderr()
        );
    }
    assert!(
        pam.decisions().contains("alice@example.com is the token's own upn (own_role)"),
        "decisions: {}",
        pam.decisions()
    );

    // The database's token was asked for the Azure scope, and carries the upn the user came from.
    let token = site.person.tapgate(&["token", "--db", "azure"]);
    token.expect_ok();
    let claims = jwt_claims(token.stdout.trim());
    let scopes: Vec<&str> = claims["scope"].as_str().unwrap_or_default().split(' ').collect();
    assert!(scopes.contains(&AZURE_SCOPE) && !scopes.contains(&"groups"), "scope: {}", claims["scope"]);
    assert_eq!(claims["upn"], "alice@example.com");

    // `tapgate dsn` and the history name the user that was used.
    let dsn = site.person.tapgate(&["dsn", "azure", "--format", "keyword"]);
    dsn.expect_ok();
    assert!(dsn.stdout.contains("user=alice@example.com"), "{dsn:?}");
    let history = site.person.tapgate(&["history", "--json"]).json();
    let roles: Vec<&str> =
        history.as_array().unwrap().iter().filter_map(|row| row["role"].as_str()).collect();
    assert!(!roles.is_empty() && roles.iter().all(|r| *r == "alice@example.com"), "history: {history}");
    drop(azure);
}

/// A server whose certificate names `my-project:my-instance` and no host (as Cloud SQL's do),
/// with `[db.NAME]` tables that check it against different names.
#[test]
fn a_certificate_naming_an_instance_is_checked_against_server_name() {
    let site = Site::new(SiteOptions {
        tls: ServerTls::CommonNameOnly("my-project:my-instance".into()),
        ..Default::default()
    });
    let table = |name: &str, server_name: &str| {
        format!(
            "[db.{name}]\nidp = \"{}\"\nhost = \"127.0.0.1\"\nport = {}\ndbname = \"postgres\"\nrole = \"app_rw\"\n\
             ca_file = \"{}\"\nserver_name = \"{server_name}\"\n",
            site.person.idp_name,
            site.pg.port(),
            site.pg.ca().display()
        )
    };
    site.person.append_config(&table("other", "other-project:my-instance"));
    site.person.append_config(&table("named", "my-project:my-instance"));

    // Without server_name the host is checked, and the certificate does not name it.
    let (prod, prod_port) = site.connect();
    let host = psql_via_forwarder(prod_port, "app_rw", &["-c", "select 1"]);
    assert!(!host.ok() && host.stderr.contains("not valid for 127.0.0.1"), "{host:?}");
    // Another instance's name is refused the same way, and says which name it looked for.
    let (other, other_port) = site.person.connect("other");
    let wrong = psql_via_forwarder(other_port, "app_rw", &["-c", "select 1"]);
    assert!(
        !wrong.ok()
            && wrong.stderr.contains("not valid for other-project:my-instance")
            && wrong.stderr.contains("my-project:my-instance"),
        "{wrong:?}"
    );
    assert!(site.pam.decisions().is_empty(), "a token reached the server: {}", site.pam.decisions());

    // The instance's own name, from the instance's CA: verified, and the login goes through.
    let (named, named_port) = site.person.connect("named");
    let run = psql_via_forwarder(named_port, "app_rw", &["-tA", "-c", "select current_user"]);
    assert_eq!(run.stdout.trim(), "app_rw", "{run:?}\n{}", named.stderr());
    drop((prod, other, named));
}
