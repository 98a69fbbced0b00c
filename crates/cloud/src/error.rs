//! The crate's one error type. Each message says what to fix (on the AWS side where that is where
//! the fault lies) and never holds a web identity token, a secret key or a session token.

/// Everything that can go wrong getting AWS credentials from STS or signing an RDS auth token.
///
/// Fields hold only endpoints, role ARNs, the issuer and audience read from the token, and
/// AWS's own error text (with any copy of the token cut out), so a message can be shown or
/// logged as is.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// The STS endpoint is not `https`: the web identity token would travel in the clear.
    #[error(
        "refusing to send the sign-in token to the STS endpoint {endpoint}: it is not an https:// URL, and the token must never travel unencrypted"
    )]
    InsecureStsEndpoint { endpoint: String },

    /// No answer from STS: DNS, connection refused, timeout, TLS failure.
    #[error("cannot reach AWS STS at {endpoint}: {reason}")]
    StsUnreachable { endpoint: String, reason: String },

    /// STS answered, but not with an STS response (a proxy page, a wrong endpoint, a cut body).
    #[error(
        "AWS STS at {endpoint} answered {status} with something that is not an STS response ({detail}): check that the endpoint is an STS endpoint such as https://sts.REGION.amazonaws.com/"
    )]
    StsBadResponse { endpoint: String, status: String, detail: String },

    /// `AccessDenied`: the role's trust policy does not let this identity provider or audience in.
    #[error(
        "AWS STS denied assuming role {role_arn} with a token from {issuer} for audience {audience} (AccessDenied: {message}). \
         Fix the role's trust policy in IAM: it must allow the action sts:AssumeRoleWithWebIdentity for the principal \
         {{\"Federated\": \"{}\"}} (the IAM OIDC identity provider for that issuer), \
         with a condition on \"{provider}:aud\" that matches {audience}",
        oidc_provider_arn(role_arn, provider)
    )]
    StsAccessDenied {
        role_arn: String,
        issuer: String,
        /// The issuer as IAM names its OIDC provider: host and path, no scheme.
        provider: String,
        audience: String,
        message: String,
    },

    /// `InvalidIdentityToken`: IAM has no OIDC provider for this issuer, or it does not list the
    /// token's audience, or the provider's keys could not be checked.
    #[error(
        "AWS STS did not accept the sign-in token from {issuer} for role {role_arn} (InvalidIdentityToken: {message}). \
         In IAM > Identity providers, an OpenID Connect provider for {issuer} must exist, its audiences \
         (client ID list) must include {audience}, and its thumbprint must match the issuer's TLS certificate"
    )]
    StsInvalidIdentityToken { role_arn: String, issuer: String, audience: String, message: String },

    /// `IDPRejectedClaim`: the token's claims do not satisfy the trust policy, or the IdP
    /// revoked the sign-in.
    #[error(
        "AWS STS rejected a claim of the sign-in token from {issuer} for role {role_arn} (IDPRejectedClaim: {message}). \
         Check the conditions of the role's trust policy on the token's claims (such as \"{provider}:aud\" and \
         \"{provider}:sub\"), and sign in again if the sign-in was revoked"
    )]
    StsRejectedClaim { role_arn: String, issuer: String, provider: String, message: String },

    /// `IDPCommunicationError`: STS could not fetch the issuer's discovery document or keys.
    #[error(
        "AWS STS could not reach the identity provider {issuer} to check the sign-in token (IDPCommunicationError: {message}): \
         its /.well-known/openid-configuration and JWKS must be reachable from the internet; try again later"
    )]
    StsIdpUnreachable { issuer: String, message: String },

    /// `ExpiredTokenException`: the web identity token ran out before STS saw it.
    #[error("the sign-in token has expired (AWS STS ExpiredTokenException: {message}): sign in again")]
    StsTokenExpired { message: String },

    /// `InvalidParameterValue` / `ValidationError`: a parameter STS will not take.
    #[error(
        "AWS STS refused the request for role {role_arn} ({code}: {message}): check the role ARN, the session name and the duration"
    )]
    StsInvalidRequest { role_arn: String, code: String, message: String },

    /// Any other STS error code.
    #[error("AWS STS refused AssumeRoleWithWebIdentity for role {role_arn} ({code}: {message})")]
    StsRefused { role_arn: String, code: String, message: String },

    /// The RDS auth token cannot be made for these arguments (empty user, a host that is not a
    /// host name).
    #[error("cannot make an RDS auth token for {target}: {reason}")]
    RdsTokenTarget { target: String, reason: String },

    /// The SigV4 signer refused (it should not for a valid target; the reason is the signer's).
    #[error("cannot sign the RDS auth token for {target}: {reason}")]
    RdsTokenSigning { target: String, reason: String },
}

/// The IAM OIDC provider's ARN in the role's partition and account
/// (`arn:aws:iam::123456789012:oidc-provider/idp.example.com`), with `ACCOUNT` when the role ARN
/// does not have the shape `arn:PARTITION:iam::ACCOUNT:role/NAME`.
fn oidc_provider_arn(role_arn: &str, provider: &str) -> String {
    let parts: Vec<&str> = role_arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "iam", "", account, _] if !partition.is_empty() && !account.is_empty() => {
            format!("arn:{partition}:iam::{account}:oidc-provider/{provider}")
        }
        _ => format!("arn:aws:iam::ACCOUNT:oidc-provider/{provider}"),
    }
}
