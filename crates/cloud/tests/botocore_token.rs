//! RDS auth tokens from `rds_auth_token` against botocore's `generate_db_auth_token`, byte for
//! byte, for the same credentials and instant: users with `@`, `+`, spaces and `~`, the default
//! and other ports, upper-case hosts, several regions, with and without a session token.
//!
//! Needs the venv of scripts/install-aws-test-tools.sh (make test runs it).

#![allow(clippy::panic)]

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrecy::SecretString;
use support::{TokenCase, botocore_tokens, exposed};
use tapgate_cloud::{AwsCredentials, rds_auth_token};

fn credentials(session_token: &str) -> AwsCredentials {
    AwsCredentials {
        access_key_id: "ASIAQEXAMPLEKEY12345".to_string(),
        secret_access_key: SecretString::from("wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY"),
        session_token: SecretString::from(session_token),
        expiration: UNIX_EPOCH + Duration::from_secs(1_724_713_200),
    }
}

/// A session token shaped like STS's: base64 with `+`, `/` and `=`, several hundred bytes.
fn sts_like_session_token() -> String {
    let mut token = String::from("IQoJb3JpZ2luX2VjEJr//////////wEaCWV1LXdlc3QtMSJHMEUCIQD+");
    while token.len() < 700 {
        token.push_str("Zm9vYmFy+/EXAMPLE0123456789abcdefXYZ/");
    }
    token.push_str("==");
    token
}

#[test]
fn tokens_match_botocore_byte_for_byte() {
    let with_token = credentials(&sts_like_session_token());
    let long_term = credentials("");
    let at = |seconds: u64| UNIX_EPOCH + Duration::from_secs(seconds);
    let cases = [
        // 2024-08-26T22:00:00Z, an Aurora cluster endpoint.
        TokenCase {
            credentials: &with_token,
            region: "eu-west-1",
            host: "prod.cluster-abc123.eu-west-1.rds.amazonaws.com",
            port: 5432,
            user: "alice@example.com",
            at: at(1_724_709_600),
        },
        // `+` must be signed as a plus (%2B), not read back as a space.
        TokenCase {
            credentials: &with_token,
            region: "eu-west-1",
            host: "prod.cluster-abc123.eu-west-1.rds.amazonaws.com",
            port: 5432,
            user: "svc+reports@example.com",
            at: at(1_724_709_600),
        },
        // A non-default port, another region, just before midnight (the date in the scope).
        TokenCase {
            credentials: &with_token,
            region: "us-east-1",
            host: "analytics.c9akciq32.us-east-1.rds.amazonaws.com",
            port: 6543,
            user: "analyst",
            at: at(1_735_689_599),
        },
        // Port 443: signed as `host` without the port, written with it.
        TokenCase {
            credentials: &with_token,
            region: "ap-southeast-2",
            host: "proxy.proxy-xyz.ap-southeast-2.rds.amazonaws.com",
            port: 443,
            user: "app_user",
            at: at(1_700_000_000),
        },
        // An upper-case host (signed lower-cased) and a user with a space, `~` and `*`.
        TokenCase {
            credentials: &with_token,
            region: "sa-east-1",
            host: "MyDB.ABCDEFG.sa-east-1.rds.amazonaws.com",
            port: 5432,
            user: "data team~ops*",
            at: at(1_767_225_600),
        },
        // Long-term keys: no X-Amz-Security-Token.
        TokenCase {
            credentials: &long_term,
            region: "eu-central-1",
            host: "10.0.12.7",
            port: 5432,
            user: "postgres",
            at: at(1_724_709_600),
        },
    ];

    let expected = botocore_tokens(&cases);
    for (case, expected) in cases.iter().zip(&expected) {
        let ours = rds_auth_token(case.credentials, case.region, case.host, case.port, case.user, case.at)
            .unwrap_or_else(|err| panic!("{}@{}: {err}", case.user, case.host));
        assert_eq!(
            exposed(&ours),
            *expected,
            "user {:?} at {}:{} in {}",
            case.user,
            case.host,
            case.port,
            case.region
        );
    }
}

#[test]
fn a_token_changes_with_the_instant_and_lasts_900_seconds() {
    let credentials = credentials(&sts_like_session_token());
    let sign = |at: SystemTime| {
        exposed(
            &rds_auth_token(&credentials, "eu-west-1", "db.example.com", 5432, "alice", at).expect("token"),
        )
    };
    let first = sign(UNIX_EPOCH + Duration::from_secs(1_724_709_600));
    let second = sign(UNIX_EPOCH + Duration::from_secs(1_724_709_601));
    assert_ne!(first, second);
    assert!(first.contains("&X-Amz-Date=20240826T220000Z&X-Amz-Expires=900&"), "{first}");
}
