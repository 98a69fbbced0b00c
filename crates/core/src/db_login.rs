//! What a forwarder logs in with, per connection: the database user and the password.
//!
//! - The user: the role the client asked for, or, for a database with `user = "{claim}"`, the
//!   person's own, read from their token (unless the client picked one of the fixed `roles`).
//! - The password: the database's token ([`Engine::db_session`]), except on Amazon RDS, which
//!   takes a SigV4-presigned token made with AWS credentials that STS gives for the person's
//!   token (AssumeRoleWithWebIdentity). Those credentials are kept in memory only, until five
//!   minutes before they expire, per IdP, role and person; a presigned token is made per login
//!   (it is valid 15 minutes, and making one is a few HMACs).

use std::sync::Arc;

use secrecy::SecretString;
use tapgate_cloud::{AwsCredentials, WebIdentityRequest};
use tapgate_config::{AwsRds, Cloud, DbConfig};
use tapgate_idp::Prompt;

use crate::{CoreError, Engine, Session, SignInPolicy};

/// A login for one connection.
#[derive(Debug)]
pub struct DbLogin {
    pub session: Session,
    /// The database user to log in as.
    pub user: String,
    /// What the server gets as the password (or OAuth bearer token).
    pub password: SecretString,
}

impl Engine {
    /// The user and password for a connection to `database` that asked for `requested_user`,
    /// signing in as `policy` allows.
    pub async fn db_login(
        &self,
        database: &str,
        requested_user: &str,
        prompt: Arc<dyn Prompt>,
        policy: SignInPolicy,
    ) -> Result<DbLogin, CoreError> {
        let db = self.db(database)?.clone();
        let session = self.db_session(database, prompt, policy).await?;
        let user = login_user(&db, requested_user, &session)?;
        let password = match &db.cloud {
            Cloud::Aws(rds) => self.rds_password(&db, rds, &session, &user).await?,
            Cloud::None | Cloud::Azure | Cloud::Gcp => session.access_token.clone(),
        };
        Ok(DbLogin { session, user, password })
    }

    /// The database user a person logs in as, without asking for a token: the fixed role, or
    /// the person's own from the session cached now; `None` when that needs a sign-in first.
    pub async fn db_user_now(&self, database: &str) -> Result<Option<String>, CoreError> {
        let db = self.db(database)?.clone();
        if db.user_template.is_none() {
            return Ok(Some(db.role));
        }
        let Some(session) = self.cached_session(Some(&db.idp)).await? else { return Ok(None) };
        Ok(login_user(&db, &db.role, &session).ok())
    }

    async fn rds_password(
        &self,
        db: &DbConfig,
        rds: &AwsRds,
        session: &Session,
        user: &str,
    ) -> Result<SecretString, CoreError> {
        let credentials = self.aws_credentials(db, rds, session).await?;
        let now = self.context.clock.now();
        tapgate_cloud::rds_auth_token(&credentials, &rds.region, &db.host, db.port, user, now)
            .map_err(|source| CoreError::Cloud { database: db.name.clone(), source: Box::new(source) })
    }

    /// STS credentials for the person on `rds`'s role, from memory while they are good.
    async fn aws_credentials(
        &self,
        db: &DbConfig,
        rds: &AwsRds,
        session: &Session,
    ) -> Result<AwsCredentials, CoreError> {
        let key = format!("{}|{}|{}", db.idp, rds.role_arn, session.identity());
        let now = self.context.clock.now();
        let cached = self.aws_credentials.lock().unwrap_or_else(|p| p.into_inner()).get(&key).cloned();
        if let Some(credentials) = cached.filter(|c| !c.needs_renewal(now)) {
            return Ok(credentials);
        }
        let http = sts_client()?;
        let session_name = tapgate_cloud::role_session_name(session.identity());
        let request =
            WebIdentityRequest::new(&rds.sts_endpoint, &rds.role_arn, &session_name, &session.access_token);
        let credentials = tapgate_cloud::assume_role_with_web_identity(&http, &request)
            .await
            .map_err(|source| CoreError::Cloud { database: db.name.clone(), source: Box::new(source) })?;
        self.aws_credentials.lock().unwrap_or_else(|p| p.into_inner()).insert(key, credentials.clone());
        Ok(credentials)
    }
}

/// The user for a connection that asked for `requested`: one of the fixed roles when it named
/// one, else the person's own (a template), else `requested` (already checked by the forwarder).
fn login_user(db: &DbConfig, requested: &str, session: &Session) -> Result<String, CoreError> {
    let Some(template) = &db.user_template else { return Ok(requested.to_string()) };
    if db.roles.iter().any(|role| role == requested) {
        return Ok(requested.to_string());
    }
    template.render(session.claims.user_claim(template.claim)).ok_or_else(|| CoreError::UserClaimMissing {
        database: db.name.clone(),
        template: template.text.clone(),
        claim: template.claim.as_str(),
        identity: session.identity().to_string(),
    })
}

/// The HTTP client for STS: the system's roots (as for every public endpoint), https only,
/// redirects included, and bounded in time.
fn sts_client() -> Result<reqwest::Client, CoreError> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_webpki_certs(false)
        .tls_built_in_native_certs(true)
        .https_only(true)
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(30))
        .user_agent(concat!("tapgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| CoreError::StsClient { reason: e.to_string() })
}
