//! Amazon RDS IAM authentication through the real binaries, against third-party AWS: moto's
//! STS over HTTPS answers AssumeRoleWithWebIdentity for the dev IdP's token, and the password
//! the server receives is compared byte for byte with botocore's `generate_db_auth_token` for
//! the credentials moto handed out. The "RDS" is PostgreSQL 15 whose PAM service records the
//! password it is given and lets the login in (RDS's own check of the signature cannot run
//! here; botocore's token is the reference for what it accepts).

use tapgate_e2e::aws::{Moto, RdsTokenCase, botocore_rds_token};
use tapgate_e2e::pg::{PamLauncher, PamService, PgOptions, PgServer, ServerTls, psql_via_forwarder};

use super::site::{Site, SiteOptions};

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/tapgate-db";
const REGION: &str = "eu-west-1";

/// Stands in for RDS: keeps the password pam_tapgate.so hands it on stdin (pam_exec cuts a
/// password at 512 bytes, and RDS tokens are longer), and lets the login in.
const RECORDING_VERIFIER: &str = "#!/bin/sh\ncat > \"$(dirname \"$0\")/received-password\"\n";

#[test]
fn an_rds_login_presents_the_token_botocore_makes_from_the_credentials_sts_gave() {
    let mut site = Site::new(SiteOptions::default());
    let moto = Moto::start();
    // STS's certificate is trusted as a public one would be: through the system's roots.
    site.person.set_env("SSL_CERT_FILE", &moto.ca().display().to_string());

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
    pg.create_role("alice@example.com");
    site.person.append_config(&format!(
        "[db.rds]\nidp = \"{}\"\ncloud = \"aws\"\nhost = \"127.0.0.1\"\nport = {}\ndbname = \"postgres\"\n\
         user = \"{{email}}\"\nca_file = \"{}\"\naws_role_arn = \"{ROLE_ARN}\"\naws_region = \"{REGION}\"\n\
         aws_sts_endpoint = \"{}\"\n",
        site.person.idp_name,
        pg.port(),
        pg.ca().display(),
        moto.endpoint()
    ));

    let (rds, port) = site.person.connect("rds");
    let run = psql_via_forwarder(port, "whoever", &["-tA", "-c", "select current_user"]);
    assert_eq!(run.stdout.trim(), "alice@example.com", "{run:?}\n{}\nmoto:\n{}", rds.stderr(), moto.log());

    // What the server was given: an RDS token for the person's own user at this host and port.
    let received =
        std::fs::read_to_string(pam.dir().join("received-password")).expect("a password reached the server");
    let received = received.trim_end_matches(['\0', '\n']);
    let prefix = format!("127.0.0.1:{}/?Action=connect&DBUser=alice%40example.com&", pg.port());
    assert!(received.starts_with(&prefix), "not an RDS token for alice: {received}");

    // Made with the credentials STS gave for the person, in a session named after them.
    let roles = moto.assumed_roles();
    assert_eq!(roles.len(), 1, "one AssumeRoleWithWebIdentity: {roles:?}");
    let role = &roles[0];
    assert_eq!(role["role_arn"], ROLE_ARN);
    assert_eq!(role["session_name"], "alice@example.com");
    let access_key_id = role["access_key_id"].as_str().expect("key id");
    assert!(received.contains(&format!("X-Amz-Credential={access_key_id}%2F")), "{received}");

    // Byte for byte what botocore makes from those credentials at the token's instant.
    let reference = botocore_rds_token(&RdsTokenCase {
        access_key_id,
        secret_access_key: role["secret_access_key"].as_str().expect("secret"),
        session_token: role["session_token"].as_str().expect("session token"),
        region: REGION,
        host: "127.0.0.1",
        port: pg.port(),
        user: "alice@example.com",
        unix_seconds: amz_date_seconds(received),
    });
    assert_eq!(received, reference);

    // The next login makes a new token from the same credentials: STS is not asked again.
    let again = psql_via_forwarder(port, "whoever", &["-tA", "-c", "select 2"]);
    assert_eq!(again.stdout.trim(), "2", "{again:?}\n{}", rds.stderr());
    assert_eq!(moto.assumed_roles().len(), 1, "STS was asked again for credentials still good");
    // `tapgate token --db rds` prints an auth token as the forwarder sends it (for scripts, as
    // `aws rds generate-db-auth-token` does). AWS credentials live in one process's memory
    // only, so this process asks STS for its own.
    let printed = site.person.tapgate(&["token", "--db", "rds"]);
    printed.expect_ok();
    assert!(printed.stdout.trim().starts_with(&prefix), "{printed:?}");
    let roles = moto.assumed_roles();
    assert_eq!(roles.len(), 2, "{roles:?}");
    let own_key = roles[1]["access_key_id"].as_str().expect("key id");
    assert!(printed.stdout.contains(&format!("X-Amz-Credential={own_key}%2F")), "{printed:?}");
    // moto's log shows requests, never the token that went to STS in the body.
    assert!(!moto.log().contains(site.person.token().as_str()), "the IdP token reached a log");
    drop(rds);
}

/// The instant of a token's `X-Amz-Date=YYYYMMDDTHHMMSSZ`, in Unix seconds.
fn amz_date_seconds(token: &str) -> u64 {
    let stamp = token.split("X-Amz-Date=").nth(1).expect("X-Amz-Date").get(..16).expect("a full stamp");
    let number = |range: std::ops::Range<usize>| stamp[range].parse::<i64>().expect("digits");
    let (year, month, day) = (number(0..4), number(4..6), number(6..8));
    let seconds_of_day = number(9..11) * 3600 + number(11..13) * 60 + number(13..15);
    // Days from the civil date (Howard Hinnant's algorithm), proleptic Gregorian.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    u64::try_from(days * 86_400 + seconds_of_day).expect("after 1970")
}
