//! The keys of a `[db.NAME]` table that choose who logs in and what the password is: `role` or
//! `user` (a fixed name or a `{claim}` template), `cloud` with the `aws_*` keys, and
//! `server_name`. Checked together because a cloud changes what the others mean: Cloud SQL
//! names service accounts without their domain, and a cloud fixes the token the database gets.

use serde_spanned::Spanned;

use crate::ConfigError;
use crate::cloud::{AZURE_SCOPE, AwsRds, CLOUD_PLATFORM_SCOPE, CLOUD_SQL_SCOPE, CLOUDS, Cloud, UserTemplate};
use crate::raw::RawDb;
use crate::resolved::{DbAuth, TokenChoice, TokenTarget};
use crate::validate::Checker;

impl Checker<'_> {
    /// `role` or `user`: the name as written (the template's text for a template), and the
    /// template when it is one.
    pub(crate) fn db_user(
        &self,
        raw: &RawDb,
        key: &dyn Fn(&str) -> String,
    ) -> Result<(String, Option<UserTemplate>), ConfigError> {
        let (value, name) = match (&raw.role, &raw.user) {
            (Some(_), Some(user)) => {
                return Err(self.invalid(
                    user.span().start,
                    key("user"),
                    "write role or user, not both (user may be a template such as \"{email}\")",
                ));
            }
            (Some(role), None) => (role, "role"),
            (None, Some(user)) => (user, "user"),
            (None, None) => {
                return Err(self.invalid(
                    raw.host.span().start,
                    key("user"),
                    "missing: the database user, a fixed role (user = \"app_reader\") or the person's own (user = \"{email}\")",
                ));
            }
        };
        let text = self.non_empty(value, key(name))?;
        let template =
            UserTemplate::parse(&text).map_err(|why| self.invalid(value.span().start, key(name), why))?;
        Ok((text, template))
    }

    /// `cloud` and its keys. A cloud also decides the token the database gets (`target`) and,
    /// for Cloud SQL, how a service account's user is named (`template`).
    pub(crate) fn db_cloud(
        &self,
        raw: &RawDb,
        key: &dyn Fn(&str) -> String,
        auth: DbAuth,
        has_ca_file: bool,
        target: &mut Option<TokenTarget>,
        template: &mut Option<UserTemplate>,
    ) -> Result<Cloud, ConfigError> {
        let written = raw.cloud.as_ref().map(|c| (c, c.get_ref().trim()));
        let cloud = match written {
            None | Some((_, "none")) => Cloud::None,
            Some((_, "azure")) => Cloud::Azure,
            Some((_, "gcp")) => Cloud::Gcp,
            Some((at, "aws")) => Cloud::Aws(self.aws(raw, key, at)?),
            Some((at, other)) => {
                return Err(self.invalid(
                    at.span().start,
                    key("cloud"),
                    format!("`{other}` is not a cloud; use one of {}", CLOUDS.join(", ")),
                ));
            }
        };
        if !matches!(cloud, Cloud::Aws(_))
            && let Some(extra) =
                [&raw.aws_role_arn, &raw.aws_region, &raw.aws_sts_endpoint].into_iter().flatten().next()
        {
            return Err(self.invalid(
                extra.span().start,
                key("cloud"),
                "the aws_* keys need cloud = \"aws\"",
            ));
        }
        let Some((at, _)) = written.filter(|_| cloud != Cloud::None) else {
            return Ok(cloud);
        };
        let at = at.span().start;
        if auth == DbAuth::OAuthBearer {
            return Err(self.invalid(
                at,
                key("auth"),
                format!(
                    "cloud = \"{}\" takes its credential as the password: remove auth = \"oauthbearer\"",
                    cloud.as_str()
                ),
            ));
        }
        match &cloud {
            Cloud::Azure => {
                // Azure Database for PostgreSQL takes tokens for its own resource only.
                let target = target.get_or_insert_with(|| TokenTarget {
                    audience: None,
                    scopes: Vec::new(),
                    token: None,
                });
                if target.scopes.is_empty() && target.audience.is_none() {
                    target.scopes = vec!["openid".to_string(), AZURE_SCOPE.to_string()];
                }
                target.token = Some(TokenChoice::Access);
            }
            Cloud::Gcp => {
                // Cloud SQL takes Google's (opaque) access token, never the ID token.
                target
                    .get_or_insert_with(|| TokenTarget { audience: None, scopes: Vec::new(), token: None })
                    .token = Some(TokenChoice::Access);
                if let Some(template) = template {
                    template.strip_service_account_suffix = true;
                }
                if !has_ca_file {
                    return Err(self.invalid(
                        at,
                        key("ca_file"),
                        "Cloud SQL servers have certificates from the instance's own CA: save its server CA (gcloud sql instances describe INSTANCE --format='value(serverCaCert.cert)') and write ca_file = \"that file\"",
                    ));
                }
            }
            Cloud::Aws(_) if !has_ca_file => {
                return Err(self.invalid(
                    at,
                    key("ca_file"),
                    "RDS servers have certificates from Amazon's RDS CA, which systems do not trust: download https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem and write ca_file = \"that file\"",
                ));
            }
            Cloud::Aws(_) | Cloud::None => {}
        }
        Ok(cloud)
    }

    fn aws(
        &self,
        raw: &RawDb,
        key: &dyn Fn(&str) -> String,
        cloud: &Spanned<String>,
    ) -> Result<AwsRds, ConfigError> {
        let missing = |name: &str, example: &str| {
            self.invalid(
                cloud.span().start,
                key(name),
                format!("cloud = \"aws\" needs {name} = \"{example}\""),
            )
        };
        let role_arn = match &raw.aws_role_arn {
            None => return Err(missing("aws_role_arn", "arn:aws:iam::123456789012:role/tapgate-db")),
            Some(arn) => {
                let text = self.non_empty(arn, key("aws_role_arn"))?;
                let parts: Vec<&str> = text.split(':').collect();
                if parts.len() != 6
                    || parts[0] != "arn"
                    || parts[2] != "iam"
                    || !parts[5].starts_with("role/")
                {
                    return Err(self.invalid(
                        arn.span().start,
                        key("aws_role_arn"),
                        format!("`{text}` is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"),
                    ));
                }
                text
            }
        };
        let region = match &raw.aws_region {
            None => return Err(missing("aws_region", "eu-west-1")),
            Some(region) => {
                let text = self.non_empty(region, key("aws_region"))?;
                if !text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
                    return Err(self.invalid(
                        region.span().start,
                        key("aws_region"),
                        format!("`{text}` is not a region name (eu-west-1, us-east-2, ...)"),
                    ));
                }
                text
            }
        };
        let sts_endpoint = match &raw.aws_sts_endpoint {
            Some(endpoint) => self.https_url(endpoint, key("aws_sts_endpoint"))?,
            // The China regions' endpoints are under amazonaws.com.cn.
            None if region.starts_with("cn-") => {
                url::Url::parse(&format!("https://sts.{region}.amazonaws.com.cn/")).map_err(|e| {
                    self.invalid(
                        cloud.span().start,
                        key("aws_region"),
                        format!("no STS endpoint for it: {e}"),
                    )
                })?
            }
            None => url::Url::parse(&format!("https://sts.{region}.amazonaws.com/")).map_err(|e| {
                self.invalid(cloud.span().start, key("aws_region"), format!("no STS endpoint for it: {e}"))
            })?,
        };
        Ok(AwsRds { role_arn, region, sts_endpoint })
    }

    /// Cloud SQL takes only tokens with its login scope, which Google grants at sign-in or not
    /// at all (a refresh cannot widen it): the IdP must ask for it.
    pub(crate) fn cloud_sql_scope(
        &self,
        db: &crate::DbConfig,
        idp: Option<&crate::IdpConfig>,
        at: usize,
    ) -> Result<(), ConfigError> {
        let Some(idp) = idp.filter(|_| db.cloud == Cloud::Gcp) else { return Ok(()) };
        let grants = |scope: &str| idp.scopes.iter().any(|s| s == scope);
        if grants(CLOUD_SQL_SCOPE) || grants(CLOUD_PLATFORM_SCOPE) {
            return Ok(());
        }
        Err(self.invalid(
            at,
            format!("db.{}.cloud", db.name),
            format!(
                "Cloud SQL takes tokens with the {CLOUD_SQL_SCOPE} scope: add it to [idp.{}] scopes (scopes = [\"openid\", \"email\", \"profile\", \"{CLOUD_SQL_SCOPE}\"])",
                idp.name
            ),
        ))
    }

    /// `server_name`: the name to find in the server's certificate instead of `host`. Cloud SQL
    /// certificates name the instance (`project:instance`), which is no host name.
    pub(crate) fn server_name(
        &self,
        raw: &RawDb,
        key: &dyn Fn(&str) -> String,
    ) -> Result<Option<String>, ConfigError> {
        let Some(value) = &raw.server_name else { return Ok(None) };
        let name = self.non_empty(value, key("server_name"))?;
        if name.contains(|c: char| c.is_whitespace() || c == '/') {
            return Err(self.invalid(
                value.span().start,
                key("server_name"),
                format!("`{name}` is not a certificate name (a DNS name, or project:instance for Cloud SQL)"),
            ));
        }
        if raw.sslmode.as_ref().is_some_and(|m| m.get_ref() != "verify-full") {
            return Err(self.invalid(
                value.span().start,
                key("server_name"),
                "server_name is the name verify-full checks: it needs sslmode = \"verify-full\" (the default)",
            ));
        }
        Ok(Some(name))
    }
}
