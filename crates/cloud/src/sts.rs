//! AWS STS `AssumeRoleWithWebIdentity`: the IdP's token in, temporary AWS credentials out.
//!
//! This is the unsigned STS Query API call (STS API Reference, AssumeRoleWithWebIdentity): no AWS
//! credentials exist yet, the web identity token is the proof. So there is nothing to sign, and
//! the one thing to guard is the token itself: it goes only to an `https` endpoint, only in the
//! request body, and never into a log or an error. STS's refusals are turned into messages that
//! say what to change in IAM, naming the issuer and audience read from the token.

use std::error::Error as StdError;
use std::fmt;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use secrecy::{ExposeSecret as _, SecretString};
use url::Url;

use crate::sts_response::{StsFault, one_line, parse_credentials, parse_fault};
use crate::web_identity::TokenOrigin;
use crate::{AwsCredentials, CloudError, aws_query};

/// STS's default session length, and what [`WebIdentityRequest::new`] asks for.
pub const DEFAULT_DURATION_SECONDS: u32 = 3600;

/// The STS Query API version this request and its XML answer follow.
const STS_API_VERSION: &str = "2011-06-15";

/// STS's limits on `RoleSessionName` (API Reference: length 2-64, pattern `[\w+=,.@-]*`).
const SESSION_NAME_MIN: usize = 2;
const SESSION_NAME_MAX: usize = 64;

/// One `AssumeRoleWithWebIdentity` request. `Debug` shows everything but the token.
#[derive(Clone)]
pub struct WebIdentityRequest<'a> {
    /// The STS endpoint, e.g. [`default_sts_endpoint`]`("eu-west-1")`. Must be `https`.
    pub endpoint: &'a Url,
    /// The role to assume, `arn:aws:iam::ACCOUNT:role/NAME`.
    pub role_arn: &'a str,
    /// Shown in CloudTrail next to everything done with the credentials; see [`role_session_name`].
    pub role_session_name: &'a str,
    /// The IdP's token (an OIDC ID token or a JWT access token) whose `iss` IAM knows.
    pub web_identity_token: &'a SecretString,
    /// How long the credentials last (STS allows 900 up to the role's maximum session duration).
    pub duration_seconds: u32,
}

impl<'a> WebIdentityRequest<'a> {
    /// A request for [`DEFAULT_DURATION_SECONDS`].
    pub fn new(
        endpoint: &'a Url,
        role_arn: &'a str,
        role_session_name: &'a str,
        web_identity_token: &'a SecretString,
    ) -> WebIdentityRequest<'a> {
        WebIdentityRequest {
            endpoint,
            role_arn,
            role_session_name,
            web_identity_token,
            duration_seconds: DEFAULT_DURATION_SECONDS,
        }
    }
}

impl fmt::Debug for WebIdentityRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebIdentityRequest")
            .field("endpoint", &self.endpoint.as_str())
            .field("role_arn", &self.role_arn)
            .field("role_session_name", &self.role_session_name)
            .field("web_identity_token", &"[redacted]")
            .field("duration_seconds", &self.duration_seconds)
            .finish()
    }
}

/// The regional STS endpoint, `https://sts.{region}.amazonaws.com/` (`.amazonaws.com.cn` for
/// the China regions). Regional rather than the global `sts.amazonaws.com`: AWS recommends it,
/// and it keeps working when the global endpoint's region has trouble.
///
/// Characters a region never has (anything but `a-z`, `0-9` and `-`) are dropped, so the result
/// is always a valid URL; an empty region gives the global endpoint.
pub fn default_sts_endpoint(region: &str) -> Url {
    let region: String = region
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .collect();
    let endpoint = if region.is_empty() {
        "https://sts.amazonaws.com/".to_string()
    } else if region.starts_with("cn-") {
        format!("https://sts.{region}.amazonaws.com.cn/")
    } else {
        format!("https://sts.{region}.amazonaws.com/")
    };
    Url::parse(&endpoint).expect("a host of a-z, 0-9, '-' and '.' is a valid URL")
}

/// A `RoleSessionName` that names the person, for CloudTrail: the identity with every character
/// STS does not allow (anything but `A-Z a-z 0-9 _ + = , . @ -`) replaced by `-`, cut to 64
/// characters; a name shorter than 2 characters gets a `tapgate-` prefix.
pub fn role_session_name(identity: &str) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    let mut name: String =
        identity.trim().chars().map(|c| if allowed(c) { c } else { '-' }).take(SESSION_NAME_MAX).collect();
    if name.len() < SESSION_NAME_MIN {
        name = if name.is_empty() { "tapgate".to_string() } else { format!("tapgate-{name}") };
    }
    name
}

/// Exchanges the web identity token for temporary AWS credentials.
///
/// Refuses a non-`https` endpoint before anything is sent. The `http` client should be built with
/// `https_only(true)` as well, so that no redirect can take the request to plain http.
pub async fn assume_role_with_web_identity(
    http: &reqwest::Client,
    request: &WebIdentityRequest<'_>,
) -> Result<AwsCredentials, CloudError> {
    let endpoint = request.endpoint.as_str().to_string();
    if request.endpoint.scheme() != "https" {
        return Err(CloudError::InsecureStsEndpoint { endpoint });
    }

    let duration = request.duration_seconds.to_string();
    // The token travels in the body only: a URL ends up in proxy and server logs.
    let body = aws_query::join([
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", STS_API_VERSION),
        ("RoleArn", request.role_arn),
        ("RoleSessionName", request.role_session_name),
        ("WebIdentityToken", request.web_identity_token.expose_secret()),
        ("DurationSeconds", duration.as_str()),
    ]);
    let unreachable = |err: reqwest::Error| CloudError::StsUnreachable {
        endpoint: endpoint.clone(),
        reason: describe_transport(&err),
    };
    let response = http
        .post(request.endpoint.clone())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded; charset=utf-8")
        .header(ACCEPT, "text/xml")
        .body(body)
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    let text = response.text().await.map_err(unreachable)?;

    if status.is_success() {
        return parse_credentials(&text).map_err(|detail| CloudError::StsBadResponse {
            endpoint: endpoint.clone(),
            status: status.to_string(),
            detail,
        });
    }
    match parse_fault(&text) {
        Some(fault) => Err(refusal(&fault, request)),
        None => Err(CloudError::StsBadResponse {
            endpoint,
            status: status.to_string(),
            detail: "the body is not an STS ErrorResponse".to_string(),
        }),
    }
}

/// An STS `ErrorResponse` as an error that says what to fix.
fn refusal(fault: &StsFault, request: &WebIdentityRequest<'_>) -> CloudError {
    let token = request.web_identity_token.expose_secret();
    // STS does not echo the token, but an STS look-alike might: cut it out all the same.
    let message = if token.is_empty() || !fault.message.contains(token) {
        one_line(&fault.message)
    } else {
        one_line(&fault.message.replace(token, "[token]"))
    };
    let message = if message.is_empty() { "no message".to_string() } else { message };
    let origin = TokenOrigin::peek(request.web_identity_token);
    let role_arn = request.role_arn.to_string();
    match fault.code.as_str() {
        "AccessDenied" => CloudError::StsAccessDenied {
            provider: origin.provider_name(),
            issuer: origin.issuer_text(),
            audience: origin.audience_text(),
            role_arn,
            message,
        },
        "InvalidIdentityToken" => CloudError::StsInvalidIdentityToken {
            issuer: origin.issuer_text(),
            audience: origin.audience_text(),
            role_arn,
            message,
        },
        "IDPRejectedClaim" => CloudError::StsRejectedClaim {
            issuer: origin.issuer_text(),
            provider: origin.provider_name(),
            role_arn,
            message,
        },
        "IDPCommunicationError" => CloudError::StsIdpUnreachable { issuer: origin.issuer_text(), message },
        "ExpiredTokenException" => CloudError::StsTokenExpired { message },
        "InvalidParameterValue" | "ValidationError" => {
            CloudError::StsInvalidRequest { role_arn, code: fault.code.clone(), message }
        }
        _ => CloudError::StsRefused { role_arn, code: fault.code.clone(), message },
    }
}

/// Why a request got no answer, in the words of the innermost cause (refused, DNS, TLS).
fn describe_transport(err: &reqwest::Error) -> String {
    let mut innermost: &dyn StdError = err;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    let cause = one_line(&innermost.to_string());
    if err.is_timeout() {
        format!("no answer in time ({cause})")
    } else if err.is_connect() {
        format!("could not connect ({cause})")
    } else {
        cause
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    const ROLE: &str = "arn:aws:iam::123456789012:role/tapgate-db";

    fn jwt() -> SecretString {
        let payload = URL_SAFE_NO_PAD
            .encode(r#"{"iss":"https://idp.example.com/oauth2/default","aud":"0oa-tapgate","sub":"alice"}"#);
        SecretString::from(format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2lnbmF0dXJlLWJ5dGVz"))
    }

    fn fault(code: &str, message: &str) -> StsFault {
        StsFault { code: code.to_string(), message: message.to_string(), request_id: None }
    }

    fn refused(code: &str, message: &str) -> (CloudError, String) {
        let endpoint = default_sts_endpoint("eu-west-1");
        let token = jwt();
        let request = WebIdentityRequest::new(&endpoint, ROLE, "alice@example.com", &token);
        let error = refusal(&fault(code, message), &request);
        let text = error.to_string();
        assert!(!text.contains(token.expose_secret()), "{text}");
        (error, text)
    }

    #[test]
    fn access_denied_says_how_to_fix_the_trust_policy() {
        let (error, text) =
            refused("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity");
        assert!(matches!(error, CloudError::StsAccessDenied { .. }), "{error:?}");
        for needle in [
            ROLE,
            "sts:AssumeRoleWithWebIdentity",
            "arn:aws:iam::123456789012:oidc-provider/idp.example.com/oauth2/default",
            "\"idp.example.com/oauth2/default:aud\"",
            "0oa-tapgate",
            "https://idp.example.com/oauth2/default",
            "Not authorized to perform",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from: {text}");
        }
    }

    #[test]
    fn invalid_identity_token_points_at_the_iam_oidc_provider() {
        let (error, text) =
            refused("InvalidIdentityToken", "No OpenIDConnect provider found in your account");
        assert!(matches!(error, CloudError::StsInvalidIdentityToken { .. }), "{error:?}");
        for needle in [
            "IAM > Identity providers",
            "https://idp.example.com/oauth2/default",
            "client ID list",
            "0oa-tapgate",
            "thumbprint",
            "No OpenIDConnect provider found",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from: {text}");
        }
    }

    #[test]
    fn each_other_code_gets_its_own_advice() {
        let (error, text) = refused("IDPRejectedClaim", "Token audience mismatch");
        assert!(matches!(error, CloudError::StsRejectedClaim { .. }), "{error:?}");
        assert!(
            text.contains("idp.example.com/oauth2/default:aud") && text.contains("Token audience mismatch"),
            "{text}"
        );

        let (error, text) = refused("IDPCommunicationError", "Couldn't retrieve verification key");
        assert!(matches!(error, CloudError::StsIdpUnreachable { .. }), "{error:?}");
        assert!(text.contains("JWKS") && text.contains("Couldn't retrieve verification key"), "{text}");

        let (error, text) = refused("ExpiredTokenException", "Token expired: current date/time 1700000100");
        assert!(matches!(error, CloudError::StsTokenExpired { .. }), "{error:?}");
        assert!(text.contains("sign in again") && text.contains("Token expired"), "{text}");

        for code in ["InvalidParameterValue", "ValidationError"] {
            let (error, text) = refused(code, "Value at 'durationSeconds' failed to satisfy constraint");
            assert!(matches!(error, CloudError::StsInvalidRequest { .. }), "{error:?}");
            assert!(text.contains(code) && text.contains("durationSeconds") && text.contains(ROLE), "{text}");
        }

        let (error, text) = refused("RegionDisabledException", "STS is not activated in this region");
        assert!(matches!(error, CloudError::StsRefused { .. }), "{error:?}");
        assert!(text.contains("RegionDisabledException") && text.contains("STS is not activated"), "{text}");
    }

    #[test]
    fn an_echoed_token_is_cut_from_the_message() {
        let token = jwt();
        let echoed = format!("bad token {}", token.expose_secret());
        let (_, text) = refused("InvalidIdentityToken", &echoed);
        assert!(text.contains("bad token [token]"), "{text}");
    }

    #[test]
    fn an_unreadable_token_still_gives_advice() {
        let endpoint = default_sts_endpoint("eu-west-1");
        let token = SecretString::from("opaque");
        let request = WebIdentityRequest::new(&endpoint, "not-an-arn", "alice", &token);
        let text = refusal(&fault("AccessDenied", ""), &request).to_string();
        assert!(text.contains("arn:aws:iam::ACCOUNT:oidc-provider/ISSUER-HOST"), "{text}");
        assert!(text.contains("no message"), "{text}");
    }

    #[tokio::test]
    async fn refuses_a_plaintext_endpoint_before_sending() {
        // Nothing listens on this port: were a request attempted, the error would be
        // StsUnreachable instead.
        let endpoint = Url::parse("http://127.0.0.1:9/").expect("url");
        let token = jwt();
        let request = WebIdentityRequest::new(&endpoint, ROLE, "alice", &token);
        let error =
            assume_role_with_web_identity(&reqwest::Client::new(), &request).await.expect_err("refused");
        assert!(matches!(error, CloudError::InsecureStsEndpoint { .. }), "{error:?}");
        let text = error.to_string();
        assert!(text.contains("http://127.0.0.1:9/") && text.contains("https://"), "{text}");
    }

    #[test]
    fn the_default_endpoint_is_regional_https() {
        assert_eq!(default_sts_endpoint("eu-west-1").as_str(), "https://sts.eu-west-1.amazonaws.com/");
        assert_eq!(default_sts_endpoint("cn-north-1").as_str(), "https://sts.cn-north-1.amazonaws.com.cn/");
        assert_eq!(default_sts_endpoint("US-East-1").as_str(), "https://sts.us-east-1.amazonaws.com/");
        assert_eq!(default_sts_endpoint("evil.com/x").as_str(), "https://sts.evilcomx.amazonaws.com/");
        assert_eq!(default_sts_endpoint("").as_str(), "https://sts.amazonaws.com/");
    }

    #[test]
    fn session_names_keep_the_person_and_fit_sts_rules() {
        assert_eq!(role_session_name("alice@example.com"), "alice@example.com");
        assert_eq!(role_session_name("first.last+db=x,y_z-1"), "first.last+db=x,y_z-1");
        assert_eq!(role_session_name("Alice Smith <alice@example.com>"), "Alice-Smith--alice@example.com-");
        assert_eq!(role_session_name("josé/ops"), "jos--ops");
        assert_eq!(role_session_name("a"), "tapgate-a");
        assert_eq!(role_session_name("  "), "tapgate");
        let long = role_session_name(&"x".repeat(100));
        assert_eq!(long.len(), 64);
        for name in ["Ωmega", "", "a", "😀😀", "名前", &"é".repeat(80)] {
            let name = role_session_name(name);
            assert!((2..=64).contains(&name.len()), "{name:?}");
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)), "{name:?}");
        }
    }

    #[test]
    fn debug_hides_the_token() {
        let endpoint = default_sts_endpoint("eu-west-1");
        let token = jwt();
        let request = WebIdentityRequest::new(&endpoint, ROLE, "alice", &token);
        let shown = format!("{request:?}");
        assert!(!shown.contains(token.expose_secret()) && shown.contains("[redacted]"), "{shown}");
    }
}
