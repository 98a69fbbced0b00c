//! The authorization_code grant at `POST /oauth/token` (RFC 6749 4.1.3, RFC 7636 4.5,
//! wire contract 4c): the code is redeemed once, with the redirect URI it was issued for
//! and a PKCE verifier matching its S256 challenge.

use super::IdpState;
use super::api_error::ApiError;
use super::body::OAuthBody;
use super::token::{GrantLog, Issued, bad_grant, issue, secs};
use crate::auth_code::{self, Redeemed};
use crate::pkce;
use crate::refresh::{self, RefreshRecord};
use crate::users::Users;

/// Redeems the code in `body` for tokens.
pub(super) fn redeem(state: &IdpState, body: &OAuthBody, log: &mut GrantLog) -> Result<Issued, ApiError> {
    let client_id = body.required("client_id")?;
    let code = body.required("code")?;
    let redirect_uri = body.required("redirect_uri")?;
    let verifier = body.required("code_verifier")?;
    state.check_client(&client_id)?;

    let now = state.clock.unix_now();
    let (record, grant) = match auth_code::redeem(&state.data, &code, now).map_err(ApiError::server)? {
        Redeemed::Valid { record, grant } => (record, grant),
        Redeemed::Replayed { record, grant } => {
            log.user = Some(record.user_name);
            // RFC 6749 4.1.2: a code used twice may have been stolen; whatever it bought
            // stops working. (Access tokens are JWTs and run out on their own.)
            let revoked = refresh::revoke_grant(&state.data, &grant).map_err(ApiError::server)?;
            tracing::warn!(revoked, "authorization code presented again: refresh tokens from it revoked");
            return Err(bad_grant("authorization code already used"));
        }
        Redeemed::Expired(record) => {
            log.user = Some(record.user_name);
            return Err(bad_grant("authorization code expired"));
        }
        Redeemed::Unknown => return Err(bad_grant("authorization code unknown")),
    };
    log.user = Some(record.user_name.clone());
    if record.client_id != client_id {
        return Err(bad_grant("authorization code was issued to another client"));
    }
    // RFC 6749 4.1.3: "identical" to the authorization request's value.
    if record.redirect_uri != redirect_uri {
        return Err(bad_grant("redirect_uri differs from the one sent to /authorize"));
    }
    pkce::verify(&verifier, &record.code_challenge).map_err(bad_grant)?;
    // RFC 8707 2.2: a token request may repeat the resource, not change it.
    for name in ["audience", "resource"] {
        if let Some(asked) = body.field(name)?
            && asked != record.audience
        {
            return Err(ApiError::invalid_target(format!(
                "{name} {asked:?} was not requested at /authorize (granted: {:?})",
                record.audience
            )));
        }
    }

    let users = Users::load(&state.data).map_err(ApiError::server)?;
    let user = users
        .by_sub(record.sub)
        .ok_or_else(|| bad_grant(format!("user {} no longer exists", record.user_name)))?;
    let refresh = RefreshRecord {
        sub: user.sub,
        client_id,
        audience: record.audience,
        scope: record.scope,
        authenticated_at: record.authenticated_at,
        // Counted from the key tap, as for the passkey grant.
        expires_at: record.authenticated_at.saturating_add(secs(state.refresh_ttl)),
        grant: Some(grant),
        amr: record.amr,
    };
    issue(state, user, refresh, record.nonce.as_deref())
}
