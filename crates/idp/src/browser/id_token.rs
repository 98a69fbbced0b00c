//! The ID token of a browser sign-in, checked as OIDC Core §3.1.3.7 asks, with openidconnect:
//! the signature against the IdP's JWKS (`jwks_uri`), `iss`, `aud` (our client_id, and no
//! other audience), `azp`, `nonce`, `exp`, on the IdP's clock (local clock + measured skew).
//!
//! The browser hands the code over a channel the client does not control (another app may
//! listen on loopback), so unlike the passkey path this client checks what it receives.

use chrono::{DateTime, Utc};
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{ClientId, IssuerUrl, Nonce};
use tapgate_config::IdpConfig;

use crate::IdpError;
use crate::discovery::Discovery;
use crate::error::one_line;
use crate::http::{IdpHttp, status_text};

/// Fetches the IdP's signing keys.
pub(crate) async fn fetch_jwks(
    http: &IdpHttp,
    discovery: &Discovery,
    config: &IdpConfig,
) -> Result<CoreJsonWebKeySet, IdpError> {
    let url = &discovery.jwks_uri;
    let bad = |reason: String| IdpError::BadDiscovery {
        idp: config.name.clone(),
        issuer: config.issuer.clone(),
        reason,
    };
    let request = reqwest::Request::new(reqwest::Method::GET, url.clone());
    let response = http.execute(request).await?;
    if !response.status.is_success() {
        return Err(bad(format!("jwks_uri {url} answered {}", status_text(response.status))));
    }
    serde_json::from_slice(&response.body)
        .map_err(|err| bad(format!("jwks_uri {url} is not a JWK set ({err})")))
}

/// Fetches the IdP's keys and checks `id_token` with them ([`verify`]): the one entry point of
/// the browser and device flows.
pub(crate) async fn fetch_and_verify(
    http: &IdpHttp,
    discovery: &Discovery,
    config: &IdpConfig,
    id_token: &str,
    nonce: Option<&Nonce>,
    idp_now: i64,
) -> Result<(), IdpError> {
    let jwks = fetch_jwks(http, discovery, config).await?;
    verify(id_token, jwks, discovery, config, nonce, idp_now)
}

/// The signature algorithms accepted: what the IdP says it signs ID tokens with, except
/// `none` and the HMAC ones (a public client has no secret they could be keyed with).
fn allowed_algs(discovery: &Discovery) -> Vec<CoreJwsSigningAlgorithm> {
    use CoreJwsSigningAlgorithm as Alg;
    discovery
        .id_token_algs
        .iter()
        .filter(|alg| !matches!(alg, Alg::None | Alg::HmacSha256 | Alg::HmacSha384 | Alg::HmacSha512))
        .cloned()
        .collect()
}

/// Checks `id_token` for this sign-in. `idp_now` is the IdP's current time (unix seconds).
///
/// `nonce` is the one the browser sign-in sent; the device flow (RFC 8628) has no
/// authorization request to carry one, so it passes `None` and a nonce in the token is not
/// checked (there is nothing to compare it with; every other check still applies).
fn verify(
    id_token: &str,
    jwks: CoreJsonWebKeySet,
    discovery: &Discovery,
    config: &IdpConfig,
    nonce: Option<&Nonce>,
    idp_now: i64,
) -> Result<(), IdpError> {
    let rejected = |reason: String| IdpError::IdTokenRejected { idp: config.name.clone(), reason };
    let issuer =
        IssuerUrl::new(config.issuer.clone()).map_err(|err| rejected(format!("bad issuer ({err})")))?;
    let now: DateTime<Utc> = DateTime::from_timestamp(idp_now, 0).unwrap_or_default();
    let verifier =
        CoreIdTokenVerifier::new_public_client(ClientId::new(config.client_id.clone()), issuer, jwks)
            .set_allowed_algs(allowed_algs(discovery))
            .set_time_fn(move || now);
    // openidconnect's parse errors name the failing part, not the token's text.
    let token: CoreIdToken = id_token
        .parse()
        .map_err(|err: serde_json::Error| rejected(format!("not a JWT ({})", json_category(&err))))?;
    let checked = match nonce {
        Some(nonce) => token.claims(&verifier, nonce).map(|_| ()),
        None => token.claims(&verifier, |_: Option<&Nonce>| Ok(())).map(|_| ()),
    };
    checked.map_err(|err| rejected(one_line(&err.to_string())))
}

/// Words for a serde error's category, without quoting the input (it is the token).
fn json_category(err: &serde_json::Error) -> &'static str {
    match err.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "bad syntax",
        serde_json::error::Category::Data => "unexpected content",
        serde_json::error::Category::Eof => "cut short",
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use openidconnect::Nonce;
    use serde_json::{Value, json};
    use url::Url;

    use super::*;
    use crate::browser::tests_support::config;

    const NOW: i64 = 1_800_000_000;

    /// An IdP's signing key: signs ID tokens (ES256, `kid` "k1") and publishes its JWKS.
    struct Signer {
        key: rcgen::KeyPair,
    }

    impl Signer {
        fn new() -> Signer {
            Signer { key: rcgen::KeyPair::generate().expect("P-256 key") }
        }

        fn jwks(&self) -> CoreJsonWebKeySet {
            // Uncompressed point: 0x04 || X || Y.
            let point = self.key.public_key_raw();
            let (x, y) = point[1..].split_at(32);
            serde_json::from_value(json!({ "keys": [{
                "kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
                "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
            }]}))
            .expect("JWK set")
        }

        fn sign(&self, claims: &Value) -> String {
            let key =
                jsonwebtoken::EncodingKey::from_ec_pem(self.key.serialize_pem().as_bytes()).expect("key");
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
            header.kid = Some("k1".into());
            jsonwebtoken::encode(&header, claims, &key).expect("signed")
        }
    }

    fn discovery() -> Discovery {
        let url = Url::parse("https://login.example.com/x").expect("url");
        Discovery {
            token_endpoint: url.clone(),
            grant_types: None,
            authorization_endpoint: url.clone(),
            jwks_uri: url,
            id_token_algs: vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256],
            revocation_endpoint: None,
            device_authorization_endpoint: None,
        }
    }

    fn claims() -> Value {
        json!({
            "iss": "https://login.example.com", "aud": "tapgate", "sub": "u-1",
            "iat": NOW, "exp": NOW + 600, "nonce": "n-1",
        })
    }

    fn check(signer: &Signer, claims: &Value) -> Result<(), IdpError> {
        let token = signer.sign(claims);
        verify(&token, signer.jwks(), &discovery(), &config(), Some(&Nonce::new("n-1".into())), NOW)
    }

    #[test]
    fn a_token_from_the_idp_for_this_client_and_this_sign_in_passes() {
        check(&Signer::new(), &claims()).expect("valid");
    }

    #[test]
    fn tokens_for_another_client_another_sign_in_or_from_another_key_are_refused() {
        let signer = Signer::new();
        let mut other_client = claims();
        other_client["aud"] = json!("other-app");
        let err = check(&signer, &other_client).expect_err("another client's token");
        assert!(err.to_string().contains("audience") || err.to_string().contains("aud"), "{err}");

        let mut shared = claims();
        shared["aud"] = json!(["tapgate", "other-app"]);
        shared["azp"] = json!("other-app");
        assert!(check(&signer, &shared).is_err(), "issued to another party (azp)");

        let mut replayed = claims();
        replayed["nonce"] = json!("n-old");
        assert!(check(&signer, &replayed).is_err(), "another sign-in's nonce");

        let mut stale = claims();
        stale["exp"] = json!(NOW - 60);
        assert!(check(&signer, &stale).is_err(), "expired on the IdP's clock");

        let forger = Signer::new();
        let forged = forger.sign(&claims());
        let err =
            verify(&forged, signer.jwks(), &discovery(), &config(), Some(&Nonce::new("n-1".into())), NOW)
                .expect_err("signed by a key the IdP does not publish");
        assert!(!err.to_string().contains(&forged), "the token is never quoted: {err}");
    }
}
