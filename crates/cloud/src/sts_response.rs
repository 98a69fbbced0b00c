//! The STS Query API's XML answers to `AssumeRoleWithWebIdentity`, sans IO: the credentials of a
//! success, and the code and message of an `ErrorResponse`.
//!
//! Shapes (STS API Reference, "AssumeRoleWithWebIdentity" and "Common Errors"):
//!
//! ```text
//! AssumeRoleWithWebIdentityResponse / AssumeRoleWithWebIdentityResult / Credentials /
//!     AccessKeyId, SecretAccessKey, SessionToken, Expiration (RFC 3339)
//! ErrorResponse / Error / Type, Code, Message;  ErrorResponse / RequestId
//! ```
//!
//! Elements are matched by local name: STS puts them in its namespace
//! (`https://sts.amazonaws.com/doc/2011-06-15/`) and other STS-compatible servers may not.
//! roxmltree refuses DTDs, so a hostile body cannot expand entities.

use std::time::SystemTime;

use roxmltree::{Document, Node};
use secrecy::SecretString;

use crate::AwsCredentials;

/// AWS error text longer than this is cut: a message is one line for a person.
const MAX_MESSAGE_LEN: usize = 500;

/// An STS `ErrorResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StsFault {
    /// `AccessDenied`, `InvalidIdentityToken`, ...
    pub(crate) code: String,
    /// AWS's explanation as sent (trimmed); empty when it sent none. Shown only through
    /// `one_line`, after the caller cut out any copy of the token.
    pub(crate) message: String,
    /// For AWS support, when present.
    pub(crate) request_id: Option<String>,
}

/// The credentials in a successful `AssumeRoleWithWebIdentityResponse`, or why the body is not one.
pub(crate) fn parse_credentials(xml: &str) -> Result<AwsCredentials, String> {
    let document = Document::parse(xml).map_err(|err| format!("not XML: {err}"))?;
    let root = document.root_element();
    if root.tag_name().name() != "AssumeRoleWithWebIdentityResponse" {
        return Err(format!(
            "the XML is a {}, not an AssumeRoleWithWebIdentityResponse",
            root.tag_name().name()
        ));
    }
    let credentials = child(root, "AssumeRoleWithWebIdentityResult")
        .and_then(|result| child(result, "Credentials"))
        .ok_or("the response has no AssumeRoleWithWebIdentityResult/Credentials")?;
    let field = |name: &str| {
        child(credentials, name)
            .and_then(|node| node.text())
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .ok_or_else(|| format!("Credentials has no {name}"))
    };
    let expiration = field("Expiration")?;
    Ok(AwsCredentials {
        access_key_id: field("AccessKeyId")?.to_string(),
        secret_access_key: SecretString::from(field("SecretAccessKey")?),
        session_token: SecretString::from(field("SessionToken")?),
        expiration: parse_expiration(expiration)?,
    })
}

/// The code and message of an STS `ErrorResponse`; `None` when the body is not one.
pub(crate) fn parse_fault(xml: &str) -> Option<StsFault> {
    let document = Document::parse(xml).ok()?;
    let root = document.root_element();
    if root.tag_name().name() != "ErrorResponse" {
        return None;
    }
    let error = child(root, "Error")?;
    let code = child(error, "Code")?.text()?.trim().to_string();
    if code.is_empty() {
        return None;
    }
    let message =
        child(error, "Message").and_then(|node| node.text()).map(str::trim).unwrap_or_default().to_string();
    let request_id = child(root, "RequestId")
        .or_else(|| child(root, "ResponseMetadata").and_then(|metadata| child(metadata, "RequestId")))
        .and_then(|node| node.text())
        .map(|text| one_line(text.trim()));
    Some(StsFault { code, message, request_id })
}

/// STS writes `2019-11-09T13:34:41Z`; moto adds milliseconds. Both are RFC 3339.
fn parse_expiration(text: &str) -> Result<SystemTime, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(SystemTime::from)
        .map_err(|err| format!("Expiration {text:?} is not an RFC 3339 time ({err})"))
}

/// The first child element with this local name.
fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children().find(|child| child.is_element() && child.tag_name().name() == name)
}

/// `text` on one line (runs of whitespace become one space), at most `MAX_MESSAGE_LEN` bytes.
pub(crate) fn one_line(text: &str) -> String {
    let mut line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.len() > MAX_MESSAGE_LEN {
        let mut cut = MAX_MESSAGE_LEN;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::ExposeSecret as _;

    use super::*;

    /// The success example of the STS API Reference (AssumeRoleWithWebIdentity).
    const SUCCESS: &str = r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A</SubjectFromWebIdentityToken>
    <Audience>client.5498841531868486423.1548@apps.example.com</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1</Arn>
      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <Expiration>2014-10-24T23:00:23Z</Expiration>
      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>
    </Credentials>
    <SourceIdentity>SourceIdentityValue</SourceIdentity>
    <Provider>www.amazon.com</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>"#;

    fn error_response(code: &str, message: &str) -> String {
        format!(
            r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>{code}</Code>
    <Message>{message}</Message>
  </Error>
  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
</ErrorResponse>"#
        )
    }

    #[test]
    fn reads_the_documented_success_response() {
        let credentials = parse_credentials(SUCCESS).expect("credentials");
        assert_eq!(credentials.access_key_id, "ASgeIAIOSFODNN7EXAMPLE");
        assert_eq!(
            credentials.secret_access_key.expose_secret(),
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
        );
        assert_eq!(
            credentials.session_token.expose_secret(),
            "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE"
        );
        // 2014-10-24T23:00:23Z
        assert_eq!(credentials.expiration, SystemTime::UNIX_EPOCH + Duration::from_secs(1_414_191_623));
    }

    #[test]
    fn reads_an_expiration_with_milliseconds_and_an_offset() {
        let body = SUCCESS.replace("2014-10-24T23:00:23Z", "2014-10-25T01:00:23.250+02:00");
        let credentials = parse_credentials(&body).expect("credentials");
        assert_eq!(credentials.expiration, SystemTime::UNIX_EPOCH + Duration::from_millis(1_414_191_623_250));
    }

    #[test]
    fn a_success_without_a_field_names_it() {
        let body = SUCCESS
            .replace("<SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>", "");
        assert_eq!(parse_credentials(&body).expect_err("no token"), "Credentials has no SessionToken");
        let body = SUCCESS.replace("2014-10-24T23:00:23Z", "tomorrow");
        assert!(parse_credentials(&body).expect_err("bad time").contains("not an RFC 3339 time"));
    }

    #[test]
    fn an_error_body_is_not_credentials() {
        let body = error_response("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity");
        assert!(parse_credentials(&body).expect_err("error").contains("ErrorResponse"));
        assert!(parse_credentials("<html>proxy</html").expect_err("html").starts_with("not XML"));
    }

    #[test]
    fn reads_each_documented_error_code() {
        for (code, message) in [
            ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"),
            (
                "InvalidIdentityToken",
                "No OpenIDConnect provider found in your account for https://idp.example.com",
            ),
            ("IDPRejectedClaim", "Token audience mismatch"),
            ("IDPCommunicationError", "Couldn't retrieve verification key from your identity provider"),
            (
                "ExpiredTokenException",
                "Token expired: current date/time 1700000100 must be before the expiration date/time 1700000000",
            ),
            ("InvalidParameterValue", "Invalid length for parameter RoleSessionName"),
            (
                "ValidationError",
                "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint",
            ),
            ("RegionDisabledException", "STS is not activated in this region for account:123456789012"),
        ] {
            let fault = parse_fault(&error_response(code, message)).expect(code);
            assert_eq!(fault.code, code);
            assert_eq!(fault.message, message);
            assert_eq!(fault.request_id.as_deref(), Some("c6104cbe-af31-11e0-8154-cbc7ccf896c7"));
        }
    }

    #[test]
    fn a_message_is_shown_on_one_bounded_line() {
        assert_eq!(one_line("  line one\n   line two "), "line one line two");
        let long = one_line(&"é".repeat(400));
        assert!(long.len() <= MAX_MESSAGE_LEN + '…'.len_utf8());
        assert!(long.ends_with('…'));
    }

    #[test]
    fn an_error_without_a_message_keeps_its_code() {
        let body = "<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>";
        let fault = parse_fault(body).expect("fault");
        assert_eq!(
            fault,
            StsFault { code: "Throttling".to_string(), message: String::new(), request_id: None }
        );
    }

    #[test]
    fn other_bodies_are_not_faults() {
        assert_eq!(parse_fault(SUCCESS), None);
        assert_eq!(parse_fault("<ErrorResponse><Error><Code> </Code></Error></ErrorResponse>"), None);
        assert_eq!(parse_fault("Service Unavailable"), None);
        // A DTD (entity expansion) is refused outright.
        assert_eq!(
            parse_fault(
                r#"<!DOCTYPE e [<!ENTITY x "AccessDenied">]><ErrorResponse><Error><Code>&x;</Code></Error></ErrorResponse>"#
            ),
            None
        );
    }
}
