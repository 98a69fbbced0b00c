//! Token revocation (RFC 7009) at sign-out: the refresh token is sent back to the IdP so that a
//! copy of it (a backup of the keyring, a stolen laptop's disk) is worthless afterwards.

use secrecy::{ExposeSecret as _, SecretString};
use tapgate_config::IdpConfig;
use url::Url;

use crate::IdpError;
use crate::http::{IdpHttp, OAuthError, status_text};

/// Revokes `refresh_token` at `endpoint` as the public client `config.client_id`.
///
/// RFC 7009 §2.2: the IdP answers 200 also for a token it does not know (already expired or
/// revoked), so any 200 is success.
pub(crate) async fn revoke(
    http: &IdpHttp,
    endpoint: &Url,
    config: &IdpConfig,
    refresh_token: &SecretString,
) -> Result<(), IdpError> {
    let mut form = vec![
        ("token", refresh_token.expose_secret()),
        ("token_type_hint", "refresh_token"),
        ("client_id", config.client_id.as_str()),
    ];
    if let Some(secret) = &config.provider.client_secret {
        form.push(("client_secret", secret.as_str()));
    }
    let built = http.client().post(endpoint.clone()).form(&form).build();
    let response = http.execute(built.map_err(|err| http.transport_error(&err, endpoint))?).await?;
    if response.status.is_success() {
        return Ok(());
    }
    let error = OAuthError::parse(&response.body);
    let reason = if error.error.is_empty() { status_text(response.status) } else { error.describe() };
    Err(IdpError::RevocationFailed { idp: config.name.clone(), reason })
}
