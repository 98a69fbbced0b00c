//! Minting the access and ID tokens (ES256 JWTs) described in the wire contract.

use std::time::Duration;

use jsonwebtoken::{Algorithm, Header};
use serde::Serialize;
use uuid::Uuid;

use crate::clock::IdpClock;
use crate::error::Error;
use crate::keys::ActiveKey;
use crate::users::User;

/// Who a token is for and what it may be used for.
pub(crate) struct TokenGrant<'a> {
    pub(crate) user: &'a User,
    pub(crate) client_id: &'a str,
    /// The access token's `aud`: the requested audience, else the client id.
    pub(crate) audience: &'a str,
    pub(crate) scope: &'a str,
    /// The `/authorize` request's nonce, echoed in the ID token (OIDC Core 3.1.2.1).
    pub(crate) nonce: Option<&'a str>,
    /// How the person signed in (RFC 8176): `hwk` for a USB security key, `swk` for a software
    /// key; carried unchanged through refreshes.
    pub(crate) amr: &'a [String],
}

/// Signed tokens ready for a token response.
pub(crate) struct MintedTokens {
    pub(crate) access_token: String,
    pub(crate) id_token: String,
    pub(crate) expires_in: u64,
}

/// Claims of the access token (RFC 9068 shape plus the identity claims Tapgate maps to roles,
/// and the policy claims a verifier checks: `amr`, `azp`/`client_id`, `email_verified`).
#[derive(Serialize)]
struct AccessClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: String,
    preferred_username: &'a str,
    email: &'a str,
    /// Entra ID's user principal name, so Entra-shaped setups (`user = "{upn}"`) can be tried.
    upn: &'a str,
    /// The user name is the address an admin enrolled: the dev IdP vouches for it.
    email_verified: bool,
    groups: &'a [String],
    amr: &'a [String],
    /// OIDC Core §2 `azp`, as Auth0 and Okta also put in access tokens.
    azp: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: String,
    scope: &'a str,
    client_id: &'a str,
}

/// Claims of the ID token (OIDC Core 2): audience is always the client.
#[derive(Serialize)]
struct IdClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    /// The party the token was issued to (OIDC Core 2), the client again.
    azp: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    sub: String,
    preferred_username: &'a str,
    email: &'a str,
    email_verified: bool,
    groups: &'a [String],
    amr: &'a [String],
    iat: i64,
    exp: i64,
}

/// Signs an access token and an ID token for `grant`, valid for `ttl` from the IdP's now.
pub(crate) fn mint(
    key: &ActiveKey,
    issuer: &str,
    clock: &IdpClock,
    ttl: Duration,
    grant: &TokenGrant<'_>,
) -> Result<MintedTokens, Error> {
    let iat = clock.unix_now();
    let expires_in = ttl.as_secs();
    let exp = iat.saturating_add(i64::try_from(expires_in).unwrap_or(i64::MAX));
    let user = grant.user;

    let access = AccessClaims {
        iss: issuer,
        aud: grant.audience,
        sub: user.sub.to_string(),
        preferred_username: user.preferred_username(),
        email: &user.name,
        upn: &user.name,
        email_verified: true,
        groups: &user.groups,
        amr: grant.amr,
        azp: grant.client_id,
        iat,
        nbf: iat,
        exp,
        jti: Uuid::new_v4().to_string(),
        scope: grant.scope,
        client_id: grant.client_id,
    };
    let id = IdClaims {
        iss: issuer,
        aud: grant.client_id,
        azp: grant.client_id,
        nonce: grant.nonce,
        sub: user.sub.to_string(),
        preferred_username: user.preferred_username(),
        email: &user.name,
        email_verified: true,
        groups: &user.groups,
        amr: grant.amr,
        iat,
        exp,
    };

    Ok(MintedTokens {
        access_token: jsonwebtoken::encode(&header(key, "at+jwt"), &access, &key.encoding_key)?,
        id_token: jsonwebtoken::encode(&header(key, "JWT"), &id, &key.encoding_key)?,
        expires_in,
    })
}

fn header(key: &ActiveKey, typ: &str) -> Header {
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some(typ.to_owned());
    header.kid = Some(key.kid.clone());
    header
}
