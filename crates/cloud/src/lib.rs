//! Tapgate's Amazon RDS IAM authentication: the IdP's token is exchanged at AWS STS for
//! temporary AWS credentials (`AssumeRoleWithWebIdentity`), and those sign the short-lived RDS
//! auth token PostgreSQL on RDS or Aurora takes as the password.
//!
//! # Layout
//!
//! - `sts`: [`assume_role_with_web_identity`] (the unsigned STS Query API call, https only),
//!   [`WebIdentityRequest`], [`default_sts_endpoint`], [`role_session_name`], and STS refusals
//!   turned into advice about IAM.
//! - `sts_response`: the XML answers, sans IO: credentials of a success, code and message of an
//!   `ErrorResponse`.
//! - `web_identity`: the issuer and audience read from the token (unverified), to name the IAM
//!   OIDC provider and `aud` condition in those refusals.
//! - `aws_credentials`: [`AwsCredentials`], redacted `Debug`, the renewal rule.
//! - `rds_token`: [`rds_auth_token`], a SigV4 presigned `connect` URL as botocore makes it.
//! - `aws_query`: AWS's percent-encoding for query strings and form bodies.
//! - `error`: [`CloudError`], one line saying what to fix, never a token or a key.
//!
//! Nothing here reads the environment, a file or the clock: the caller passes the HTTP client,
//! the endpoint and `now`.

mod aws_credentials;
mod aws_query;
mod error;
mod rds_token;
mod sts;
mod sts_response;
mod web_identity;

pub use aws_credentials::{AwsCredentials, RENEWAL_MARGIN};
pub use error::CloudError;
pub use rds_token::{RDS_TOKEN_LIFETIME, rds_auth_token};
pub use sts::{
    DEFAULT_DURATION_SECONDS, WebIdentityRequest, assume_role_with_web_identity, default_sts_endpoint,
    role_session_name,
};
