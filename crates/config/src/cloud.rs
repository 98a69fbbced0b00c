//! `cloud` and `user` in `[db.NAME]`: managed PostgreSQL that takes a short-lived cloud
//! credential as the password, and the person's own database user named from a token claim.
//!
//! - `azure`: Azure Database for PostgreSQL takes an Entra ID access token for
//!   [`AZURE_SCOPE`]; the database's token is asked for that scope.
//! - `gcp`: Cloud SQL takes a Google OAuth access token with [`CLOUD_SQL_SCOPE`], which is
//!   opaque: the database gets the access token whatever the IdP's `token` says.
//! - `aws`: Amazon RDS takes a SigV4-presigned `connect` token, made from credentials that STS
//!   gives for the person's token (AssumeRoleWithWebIdentity), see [`AwsRds`].

use url::Url;

/// The scope of an Entra ID token that Azure Database for PostgreSQL takes.
pub const AZURE_SCOPE: &str = "https://ossrdbms-aad.database.windows.net/.default";
/// The scope of a Google access token that Cloud SQL takes for IAM database logins.
pub const CLOUD_SQL_SCOPE: &str = "https://www.googleapis.com/auth/sqlservice.login";
/// The Google scope that covers every Google Cloud API, Cloud SQL logins included.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// The clouds, as written in the file.
pub const CLOUDS: &[&str] = &["azure", "gcp", "aws", "none"];

/// Which managed cloud serves a database, and so which password it takes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cloud {
    /// A server of our own: the IdP's token as the password or OAuth bearer token.
    #[default]
    None,
    Azure,
    Gcp,
    Aws(AwsRds),
}

impl Cloud {
    /// The name used in the file.
    pub fn as_str(&self) -> &'static str {
        match self {
            Cloud::None => "none",
            Cloud::Azure => "azure",
            Cloud::Gcp => "gcp",
            Cloud::Aws(_) => "aws",
        }
    }
}

/// How Tapgate gets an RDS IAM token for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsRds {
    /// The IAM role whose trust policy accepts the IdP's tokens (`aws_role_arn`).
    pub role_arn: String,
    /// The region of the database, for STS and the token's signature (`aws_region`).
    pub region: String,
    /// STS (`aws_sts_endpoint`; default `https://sts.REGION.amazonaws.com/`); always https.
    pub sts_endpoint: Url,
}

/// The token claims a `user` template may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserClaim {
    Email,
    /// Entra ID's user principal name.
    Upn,
    PreferredUsername,
    Sub,
}

impl UserClaim {
    /// Every claim a template may name, as written.
    pub const ALL: &'static [&'static str] = &["email", "upn", "preferred_username", "sub"];

    pub fn parse(name: &str) -> Option<UserClaim> {
        Some(match name {
            "email" => UserClaim::Email,
            "upn" => UserClaim::Upn,
            "preferred_username" => UserClaim::PreferredUsername,
            "sub" => UserClaim::Sub,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UserClaim::Email => "email",
            UserClaim::Upn => "upn",
            UserClaim::PreferredUsername => "preferred_username",
            UserClaim::Sub => "sub",
        }
    }
}

/// `user = "{email}"`: the database user is the person's own, read from a claim of their token,
/// with any text around it kept (`"{preferred_username}_ro"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTemplate {
    /// The template as written, shown where the user is not known yet.
    pub text: String,
    pub claim: UserClaim,
    /// Cloud SQL names a service account's database user without `.gserviceaccount.com`.
    pub strip_service_account_suffix: bool,
}

impl UserTemplate {
    /// Reads `{claim}` out of `text`: `Ok(None)` when there is no brace (a fixed role),
    /// `Err(why)` for a template that names no known claim or more than one.
    pub fn parse(text: &str) -> Result<Option<UserTemplate>, String> {
        if !text.contains(['{', '}']) {
            return Ok(None);
        }
        let (Some(open), Some(close)) = (text.find('{'), text.find('}')) else {
            return Err(format!("`{text}` has an unmatched brace; write e.g. \"{{email}}\""));
        };
        if close < open || text[close + 1..].contains(['{', '}']) {
            return Err(format!("`{text}` may name one claim, as \"{{email}}\""));
        }
        let name = &text[open + 1..close];
        let claim = UserClaim::parse(name).ok_or_else(|| {
            format!(
                "`{{{name}}}` is not a claim Tapgate can name a user from; use one of {{{}}}",
                UserClaim::ALL.join("}, {")
            )
        })?;
        Ok(Some(UserTemplate { text: text.to_string(), claim, strip_service_account_suffix: false }))
    }

    /// The user for a claim's value: `None` when the token does not carry the claim.
    pub fn render(&self, value: Option<&str>) -> Option<String> {
        let mut value = value.filter(|v| !v.is_empty())?;
        if self.strip_service_account_suffix {
            value = value.strip_suffix(".gserviceaccount.com").unwrap_or(value);
        }
        let placeholder = format!("{{{}}}", self.claim.as_str());
        Some(self.text.replacen(&placeholder, value, 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_names_one_known_claim_and_keeps_the_text_around_it() {
        let t = UserTemplate::parse("{preferred_username}_ro").expect("valid").expect("a template");
        assert_eq!(t.claim, UserClaim::PreferredUsername);
        assert_eq!(t.render(Some("alice")).as_deref(), Some("alice_ro"));
        assert_eq!(t.render(None), None);
        assert_eq!(t.render(Some("")), None);
        assert_eq!(UserTemplate::parse("app_reader"), Ok(None));
    }

    #[test]
    fn unknown_claims_and_stray_braces_are_refused_in_words() {
        let unknown = UserTemplate::parse("{groups}").expect_err("refused");
        assert!(unknown.contains("{email}, {upn}, {preferred_username}, {sub}"), "{unknown}");
        assert!(UserTemplate::parse("{email").is_err());
        assert!(UserTemplate::parse("{email}{sub}").is_err());
        assert!(UserTemplate::parse("}email{").is_err());
    }

    #[test]
    fn cloud_sql_names_service_accounts_without_their_domain() {
        let mut t = UserTemplate::parse("{email}").expect("valid").expect("a template");
        t.strip_service_account_suffix = true;
        assert_eq!(t.render(Some("ci@proj.iam.gserviceaccount.com")).as_deref(), Some("ci@proj.iam"));
        assert_eq!(t.render(Some("alice@example.com")).as_deref(), Some("alice@example.com"));
    }
}
