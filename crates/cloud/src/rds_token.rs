//! Amazon RDS IAM authentication tokens: what `aws rds generate-db-auth-token` and botocore's
//! `RDS.Client.generate_db_auth_token` print, made here so that no AWS CLI is needed.
//!
//! A token is a SigV4 presigned URL (AWS IAM User Guide, "Create a signed AWS API request",
//! signing with query parameters) for `GET https://HOST:PORT/?Action=connect&DBUser=USER`,
//! service `rds-db`, valid 900 seconds, with the session token in `X-Amz-Security-Token`, written
//! without its `https://`. PostgreSQL gets it as the password. The payload hash is that of the
//! empty body, not `UNSIGNED-PAYLOAD`, because that is what botocore signs.
//!
//! Why `aws-sigv4` rather than SigV4 by hand: the signature is AWS's own canonicalisation (header
//! and query ordering, double encoding rules, default-port handling in the signed `host`), and
//! the signer is the one the AWS SDK for Rust ships and tests against AWS's SigV4 suite. We keep
//! only what is RDS-specific: the URL, and the order in which botocore writes the query, which
//! `tests/botocore_token.rs` checks byte for byte. `aws-credential-types` and
//! `aws-smithy-runtime-api` come along only because the signer takes its credentials as their
//! `Identity`; the SDK itself (and its runtime, config loading and HTTP stack) stays out.
//!
//! Logging: `aws-sigv4` traces the canonical request (which holds the session token) at TRACE
//! level under the `aws_sigv4` target; filters must keep that target below TRACE.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use secrecy::{ExposeSecret as _, SecretString};

use crate::{AwsCredentials, CloudError, aws_query};

/// How long RDS accepts a token after it was signed (RDS caps it at 15 minutes).
pub const RDS_TOKEN_LIFETIME: Duration = Duration::from_secs(900);

/// The SigV4 service name of RDS IAM authentication.
const SERVICE: &str = "rds-db";

/// The authentication parameters in the order botocore writes them (`SigV4QueryAuth`), the
/// signature last. `aws-sigv4` hands them back in its own order.
const AUTH_PARAMS: [&str; 6] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Security-Token",
];
const SIGNATURE_PARAM: &str = "X-Amz-Signature";

/// The RDS auth token for `db_user` at `host:port` in `region`, signed at `now`: the password
/// for the next 15 minutes. Byte for byte what botocore's `generate_db_auth_token` gives for the
/// same credentials and instant.
///
/// An empty session token means long-term keys: `X-Amz-Security-Token` is then left out, as
/// botocore does for credentials without a token.
pub fn rds_auth_token(
    credentials: &AwsCredentials,
    region: &str,
    host: &str,
    port: u16,
    db_user: &str,
    now: SystemTime,
) -> Result<SecretString, CloudError> {
    let target = format!("user {db_user:?} at {host}:{port} in {region}");
    let refuse =
        |reason: &str| CloudError::RdsTokenTarget { target: target.clone(), reason: reason.to_string() };
    if db_user.is_empty() {
        return Err(refuse("the database user is empty"));
    }
    if region.is_empty() || !region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(refuse("the region must look like eu-west-1"));
    }
    if host.is_empty() || !host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
    {
        return Err(refuse(
            "the host must be a DNS name or an IPv4 address (letters, digits, '.', '-', '_')",
        ));
    }

    let operation = aws_query::join([("Action", "connect"), ("DBUser", db_user)]);
    let url = format!("https://{host}:{port}/?{operation}");
    // botocore signs `host` lower-cased and without the default port (its `_host_from_url`), while
    // the token keeps the host as given. aws-sigv4 would sign the URL's authority as written, so
    // the header is given explicitly.
    let host_header =
        if port == 443 { host.to_ascii_lowercase() } else { format!("{}:{port}", host.to_ascii_lowercase()) };

    let session_token = credentials.session_token.expose_secret();
    let identity: Identity = Credentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.expose_secret().to_string(),
        (!session_token.is_empty()).then(|| session_token.to_string()),
        Some(credentials.expiration),
        "tapgate-sts",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(RDS_TOKEN_LIFETIME);
    let signing_failed = |reason: String| CloudError::RdsTokenSigning { target: target.clone(), reason };
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(now)
        .settings(settings)
        .build()
        .map_err(|err| signing_failed(err.to_string()))?
        .into();
    let request = SignableRequest::new(
        "GET",
        url.as_str(),
        std::iter::once(("host", host_header.as_str())),
        SignableBody::Bytes(&[]),
    )
    .map_err(|err| signing_failed(err.to_string()))?;
    let (instructions, _signature) =
        sign(request, &params).map_err(|err| signing_failed(err.to_string()))?.into_parts();

    let signed = instructions.params();
    let value = |name: &str| signed.iter().find(|(param, _)| *param == name).map(|(_, value)| value.as_ref());
    let mut token = format!("{host}:{port}/?{operation}");
    for name in AUTH_PARAMS.iter().chain(std::iter::once(&SIGNATURE_PARAM)) {
        match value(name) {
            Some(value) => {
                token.push('&');
                token.push_str(name);
                token.push('=');
                token.push_str(&aws_query::encode(value));
            }
            // Only the security token is optional (long-term keys have none).
            None if *name == "X-Amz-Security-Token" => {}
            None => return Err(signing_failed(format!("the signer gave no {name}"))),
        }
    }
    Ok(SecretString::from(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(session_token: &str) -> AwsCredentials {
        AwsCredentials {
            access_key_id: "ASIAQEXAMPLEKEY12345".to_string(),
            secret_access_key: SecretString::from("wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY"),
            session_token: SecretString::from(session_token),
            expiration: SystemTime::UNIX_EPOCH + Duration::from_secs(1_724_713_200),
        }
    }

    /// 2024-08-26T22:00:00Z
    fn instant() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_724_709_600)
    }

    #[test]
    fn matches_a_token_botocore_made() {
        // botocore 1.44.8 `generate_db_auth_token` with these credentials, at this instant
        // (tests/botocore_token.rs compares against botocore live, for more cases).
        let token = rds_auth_token(
            &credentials("IQoJb3JpZ2luX2VjEXAMPLE/session+token=="),
            "eu-west-1",
            "prod.cluster-abc123.eu-west-1.rds.amazonaws.com",
            5432,
            "alice@example.com",
            instant(),
        )
        .expect("token");
        assert_eq!(token.expose_secret(), BOTOCORE_TOKEN);
    }

    const BOTOCORE_TOKEN: &str = "prod.cluster-abc123.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=alice%40example.com&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAQEXAMPLEKEY12345%2F20240826%2Feu-west-1%2Frds-db%2Faws4_request&X-Amz-Date=20240826T220000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE%2Fsession%2Btoken%3D%3D&X-Amz-Signature=9a4dcceddf0bace625a4fa9906adfa9da90100a9919f0851ad29203cf487dc5b";

    #[test]
    fn long_term_keys_have_no_security_token() {
        let token = rds_auth_token(&credentials(""), "us-east-1", "db.example.com", 5432, "bob", instant())
            .expect("token");
        let token = token.expose_secret();
        assert!(
            token.starts_with(
                "db.example.com:5432/?Action=connect&DBUser=bob&X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            ),
            "{token}"
        );
        assert!(!token.contains("X-Amz-Security-Token"), "{token}");
        assert!(token.contains("&X-Amz-Expires=900&"), "{token}");
    }

    #[test]
    fn refuses_what_cannot_be_a_target() {
        let creds = credentials("t");
        for (region, host, user) in [
            ("eu-west-1", "db.example.com", ""),
            ("eu-west-1", "", "alice"),
            ("eu-west-1", "db.example.com/evil", "alice"),
            ("eu-west-1", "user@db.example.com", "alice"),
            ("", "db.example.com", "alice"),
            ("eu west 1", "db.example.com", "alice"),
        ] {
            let error = rds_auth_token(&creds, region, host, 5432, user, instant()).expect_err(host);
            assert!(matches!(error, CloudError::RdsTokenTarget { .. }), "{error:?}");
        }
    }

    #[test]
    fn errors_name_no_secret() {
        let creds = credentials("session-token-text");
        let error =
            rds_auth_token(&creds, "eu-west-1", "db/x", 5432, "alice", instant()).expect_err("bad host");
        let text = format!("{error} {error:?}");
        assert!(!text.contains("session-token-text") && !text.contains("wJalrXUtnFEMI"), "{text}");
    }
}
