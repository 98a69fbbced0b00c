//! The Okta Direct Authentication dialect with WebAuthn as the primary factor
//! (docs/idp-wire-contract.md §8): `POST .../v1/primary-authenticate` with
//! `challenge_hint=urn:okta:params:oauth:grant-type:webauthn`, then the WebAuthn grant at the
//! token endpoint with the assertion as flat form fields. Refresh is the plain RFC 6749 §6 grant
//! the Auth0 dialect already sends.
//!
//! Unlike Auth0 there is no `auth_session`: the signed clientDataJSON carries the challenge, and
//! that is what ties the token request to the challenge. No credential id is sent either.
//!
//! The wire facts come from Okta's open-source SDKs (okta-mobile-swift `OktaDirectAuth`), not
//! from an Okta API reference page; what is not confirmed is said where it is used.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::ACCEPT;
use serde::Deserialize;
use serde_json::Value;
use tapgate_config::IdpConfig;
use url::Url;
use webauthn_rs_proto::{PublicKeyCredential, RequestChallengeResponse};

use crate::auth0::{self, WEBAUTHN_GRANT};
use crate::discovery::Discovery;
use crate::http::{IdpHttp, IdpResponse, OAuthError, status_text};
use crate::{IdpError, KeyKind, TouchRequest};

/// The last path segment of the token endpoint, replaced to find `primary-authenticate`.
const TOKEN_SEGMENT: &str = "/token";

/// `POST .../v1/primary-authenticate` success body (§8d). `authenticatorEnrollments` is left
/// out: `publicKey.allowCredentials` already names the credentials.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChallengeResponse {
    #[serde(default)]
    challenge_type: Option<String>,
    public_key: Value,
}

/// The primary-authenticate endpoint, derived as Okta's SDK derives it (§8a): the discovery
/// document's `token_endpoint` with its final `/token` replaced by `/primary-authenticate`
/// (`https://<org>.okta.com/oauth2/v1/token` -> `.../oauth2/v1/primary-authenticate`; the dev
/// IdP's `/oauth/token` -> `/oauth/primary-authenticate`).
pub(crate) fn primary_authenticate_endpoint(
    discovery: &Discovery,
    config: &IdpConfig,
) -> Result<Url, IdpError> {
    let token = &discovery.token_endpoint;
    let Some(base) = token.path().strip_suffix(TOKEN_SEGMENT) else {
        return Err(IdpError::BadDiscovery {
            idp: config.name.clone(),
            issuer: config.issuer.clone(),
            reason: format!(
                "token_endpoint {token} does not end in /token, so the Okta primary-authenticate endpoint cannot be derived from it"
            ),
        });
    };
    let mut endpoint = token.clone();
    endpoint.set_path(&format!("{base}/primary-authenticate"));
    endpoint.set_query(None);
    Ok(endpoint)
}

/// Step 1: asks Okta for a WebAuthn challenge for `config.username`.
///
/// Form-encoded with `Accept: application/json`, as the SDK sends it (§8c). A public client
/// authenticates with `client_id` alone (not confirmed for this endpoint).
pub(crate) async fn start(
    http: &IdpHttp,
    discovery: &Discovery,
    config: &IdpConfig,
) -> Result<RequestChallengeResponse, IdpError> {
    let endpoint = primary_authenticate_endpoint(discovery, config)?;
    let form = [
        ("client_id", config.client_id.as_str()),
        ("login_hint", username(config)),
        ("challenge_hint", WEBAUTHN_GRANT),
    ];
    let request = http
        .client()
        .post(endpoint.clone())
        .header(ACCEPT, "application/json")
        .form(&form)
        .build()
        .map_err(|err| http.transport_error(&err, &endpoint))?;
    let response = http.execute(request).await?;
    let at = format!("POST {endpoint}");

    if !response.status.is_success() {
        return Err(challenge_error(config, &at, &response));
    }
    let body: ChallengeResponse = serde_json::from_slice(&response.body)
        .map_err(|err| protocol(config, &at, &response, format!("unreadable challenge ({err})")))?;
    if let Some(other) = body.challenge_type.as_deref().filter(|t| *t != WEBAUTHN_GRANT) {
        return Err(protocol(
            config,
            &at,
            &response,
            format!("challengeType {other} instead of WebAuthn: Tapgate only does the security-key tap"),
        ));
    }
    request_options(body.public_key, config)
        .map_err(|reason| protocol(config, &at, &response, format!("unreadable challenge ({reason})")))
}

/// Turns Okta's `publicKey` into the options webauthn-authenticator-rs takes.
///
/// Okta's SDK reads the RP ID as `rpID` (its fixture has none, and the SDK ties it to the org
/// domain), so `rpID` is read as `rpId`; a missing one becomes `rp_origin`'s host, as for Auth0.
/// `extensions` is dropped: Okta sends `appid`, the U2F-era fallback (W3C WebAuthn §10.1.1)
/// that only keys registered through the old U2F API need; Tapgate's keys are FIDO2
/// credentials registered under the RP ID.
///
/// `challenge` and the credential ids are read in either base64 alphabet: W3C WebAuthn's JSON
/// form is base64url, which webauthn-rs-proto insists on, but Okta's encoding here is not
/// confirmed, and rewriting standard base64 into base64url changes nothing else.
pub(crate) fn request_options(
    public_key: Value,
    config: &IdpConfig,
) -> Result<RequestChallengeResponse, String> {
    let Value::Object(mut options) = public_key else {
        return Err("publicKey is not an object".to_string());
    };
    if let Some(rp_id) = options.remove("rpID") {
        options.entry("rpId").or_insert(rp_id);
    }
    options.remove("extensions");
    if let Some(challenge) = options.get_mut("challenge") {
        to_base64url(challenge);
    }
    if let Some(Value::Array(allowed)) = options.get_mut("allowCredentials") {
        for id in allowed.iter_mut().filter_map(|credential| credential.get_mut("id")) {
            to_base64url(id);
        }
    }
    auth0::request_options(Value::Object(options), config)
}

/// Standard base64 (`+`, `/`, `=` padding) rewritten as unpadded base64url, in place.
fn to_base64url(value: &mut Value) {
    if let Value::String(text) = value {
        *text = text
            .trim_end_matches('=')
            .chars()
            .map(|c| match c {
                '+' => '-',
                '/' => '_',
                other => other,
            })
            .collect();
    }
}

/// The assertion as Okta's flat token-request fields (§8e): no credential id, `userHandle` only
/// when the key gave one.
///
/// Standard base64 with padding: the direct-auth SDK leaves the encoding to the app, and Okta's
/// own IDX SDK sends these same WebAuthn fields to Okta as standard base64 (not confirmed for
/// the direct-auth grant).
pub(crate) fn assertion_fields(credential: &PublicKeyCredential) -> Vec<(&'static str, String)> {
    let assertion = &credential.response;
    let mut fields = vec![
        ("clientDataJSON", STANDARD.encode(&assertion.client_data_json)),
        ("authenticatorData", STANDARD.encode(&assertion.authenticator_data)),
        ("signature", STANDARD.encode(&assertion.signature)),
    ];
    if let Some(user_handle) = &assertion.user_handle {
        fields.push(("userHandle", STANDARD.encode(user_handle)));
    }
    fields
}

/// The whole token request of the WebAuthn grant, form-encoded.
///
/// `audience` is sent when configured, for IdPs that take it; an Okta authorization server sets
/// the audience itself and ignores a parameter it does not know (RFC 6749 §3.2). The SDK's
/// optional `grant_types_supported` is left out: Tapgate continues with no other grant.
pub(crate) fn token_form(
    config: &IdpConfig,
    credential: &PublicKeyCredential,
) -> Vec<(&'static str, String)> {
    let mut form = vec![
        ("grant_type", WEBAUTHN_GRANT.to_string()),
        ("client_id", config.client_id.clone()),
        ("login_hint", username(config).to_string()),
    ];
    form.extend(assertion_fields(credential));
    if !config.scopes.is_empty() {
        form.push(("scope", config.scopes.join(" ")));
    }
    if let Some(audience) = &config.audience {
        form.push(("audience", audience.clone()));
    }
    form
}

/// Step 3: exchanges the signed assertion for tokens at the token endpoint.
pub(crate) async fn finish(
    http: &IdpHttp,
    discovery: &Discovery,
    config: &IdpConfig,
    request: &TouchRequest,
    credential: &PublicKeyCredential,
) -> Result<IdpResponse, IdpError> {
    let endpoint = &discovery.token_endpoint;
    let built = http
        .client()
        .post(endpoint.clone())
        .header(ACCEPT, "application/json")
        .form(&token_form(config, credential))
        .build();
    let response = http.execute(built.map_err(|err| http.transport_error(&err, endpoint))?).await?;
    if response.status.is_success() {
        return Ok(response);
    }
    Err(grant_error(config, request.kind, &format!("POST {endpoint}"), &response))
}

/// A failed primary-authenticate. Which errors Okta gives here is not confirmed; the codes of
/// the dev IdP and of Auth0 (`user_not_found`, `no_credentials`) read as they do there.
fn challenge_error(config: &IdpConfig, endpoint: &str, response: &IdpResponse) -> IdpError {
    let error = OAuthError::parse(&response.body);
    match error.error.as_str() {
        "mfa_required" => IdpError::SecondFactorRequired { idp: config.name.clone() },
        // OAuth's words for "this client may not use this grant": the direct-auth grant is
        // off for the app, or the client is not the one registered.
        "unauthorized_client" | "unsupported_grant_type" | "unsupported_challenge_type" => {
            IdpError::DirectAuthRefused { idp: config.name.clone(), description: error.describe() }
        }
        _ => auth0::challenge_error(config, endpoint, response),
    }
}

/// A failed WebAuthn grant (§8g): `mfa_required` and the out-of-band polling answers have
/// their own meaning; `invalid_grant` and the rest read as for Auth0.
fn grant_error(config: &IdpConfig, kind: KeyKind, endpoint: &str, response: &IdpResponse) -> IdpError {
    let error = OAuthError::parse(&response.body);
    match error.error.as_str() {
        "mfa_required" => IdpError::SecondFactorRequired { idp: config.name.clone() },
        "unauthorized_client" | "unsupported_grant_type" => {
            IdpError::DirectAuthRefused { idp: config.name.clone(), description: error.describe() }
        }
        // Okta's answers while it waits for a push or SMS: a WebAuthn grant is never pending.
        "authorization_pending" | "direct_auth_authorization_pending" | "slow_down" => protocol(
            config,
            endpoint,
            response,
            format!("{}: Okta waits for an out-of-band answer, which a key tap never needs", error.detail()),
        ),
        _ => auth0::grant_error(config, kind, endpoint, response),
    }
}

/// The user a passkey sign-in is for; `IdpClient::sign_in` has checked there is one.
fn username(config: &IdpConfig) -> &str {
    config.username.as_deref().unwrap_or_default()
}

fn protocol(config: &IdpConfig, endpoint: &str, response: &IdpResponse, detail: String) -> IdpError {
    IdpError::Protocol {
        idp: config.name.clone(),
        endpoint: endpoint.to_string(),
        status: status_text(response.status),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use reqwest::StatusCode;
    use serde_json::json;
    use tapgate_config::{AuthenticatorChoice, Dialect, Flow, TokenChoice};
    use webauthn_rs_proto::UserVerificationPolicy;

    use super::*;

    fn config() -> IdpConfig {
        IdpConfig {
            name: "corp".into(),
            issuer: "https://example.okta.com".into(),
            client_id: "0oa1tapgate".into(),
            username: Some("alice@example.com".into()),
            flow: Flow::Passkey(Dialect::Okta),
            authenticator: AuthenticatorChoice::Soft(PathBuf::from("/nonexistent")),
            rp_origin: Url::parse("https://example.okta.com").expect("url"),
            audience: None,
            scopes: vec!["openid".into(), "offline_access".into()],
            ca_file: None,
            token: TokenChoice::Access,
            redirect_port: 0,
            provider: Default::default(),
        }
    }

    fn discovery(token_endpoint: &str) -> Discovery {
        let url = |s: &str| Url::parse(s).expect("url");
        Discovery {
            token_endpoint: url(token_endpoint),
            grant_types: None,
            authorization_endpoint: url("https://example.okta.com/oauth2/v1/authorize"),
            jwks_uri: url("https://example.okta.com/oauth2/v1/keys"),
            id_token_algs: Vec::new(),
            revocation_endpoint: None,
            device_authorization_endpoint: None,
        }
    }

    #[test]
    fn primary_authenticate_replaces_the_final_token_segment() {
        let derive = |token: &str| {
            primary_authenticate_endpoint(&discovery(token), &config()).map(|url| url.to_string())
        };
        assert_eq!(
            derive("https://example.okta.com/oauth2/v1/token").expect("org AS"),
            "https://example.okta.com/oauth2/v1/primary-authenticate"
        );
        assert_eq!(
            derive("https://example.okta.com/oauth2/aus1default/v1/token").expect("custom AS"),
            "https://example.okta.com/oauth2/aus1default/v1/primary-authenticate"
        );
        assert_eq!(
            derive("https://localhost:8443/oauth/token").expect("dev IdP"),
            "https://localhost:8443/oauth/primary-authenticate"
        );
        let err = derive("https://example.com/token-endpoint").expect_err("no /token");
        assert!(err.to_string().contains("does not end in /token"), "{err}");
    }

    #[test]
    fn the_sdk_fixture_becomes_request_options() {
        // The shape of okta-mobile-swift's challenge-webauthn.json, with real base64url values.
        let options = request_options(
            json!({
                "challenge": "c2lnbi1pbi1jaGFsbGVuZ2U",
                "userVerification": "preferred",
                "extensions": { "appid": "https://example.okta.com" },
                "allowCredentials": [{ "id": "AQID", "type": "public-key" }],
            }),
            &config(),
        )
        .expect("parses");
        assert_eq!(options.public_key.challenge, b"sign-in-challenge".to_vec());
        assert_eq!(options.public_key.rp_id, "example.okta.com", "the org domain, from rp_origin");
        assert_eq!(options.public_key.allow_credentials[0].id, vec![1, 2, 3]);
        assert_eq!(options.public_key.user_verification, UserVerificationPolicy::Preferred);
        assert!(options.public_key.extensions.is_none(), "appid dropped");
    }

    #[test]
    fn standard_base64_challenges_and_ids_are_read_too() {
        let options = request_options(
            json!({ "challenge": "+/8=", "allowCredentials": [{ "id": "+/8=", "type": "public-key" }] }),
            &config(),
        )
        .expect("parses");
        assert_eq!(options.public_key.challenge, vec![0xfb, 0xff]);
        assert_eq!(options.public_key.allow_credentials[0].id, vec![0xfb, 0xff]);
    }

    #[test]
    fn an_rp_id_spelled_as_the_sdk_spells_it_is_kept() {
        let options = request_options(json!({ "challenge": "AAAA", "rpID": "login.example.com" }), &config())
            .expect("parses");
        assert_eq!(options.public_key.rp_id, "login.example.com");
        assert!(request_options(json!([]), &config()).is_err());
    }

    fn credential(user_handle: Option<&str>) -> PublicKeyCredential {
        let mut response =
            json!({ "clientDataJSON": "-_8", "authenticatorData": "AQID", "signature": "BAUG" });
        if let Some(handle) = user_handle {
            response["userHandle"] = json!(handle);
        }
        serde_json::from_value(
            json!({ "id": "AQID", "rawId": "AQID", "type": "public-key", "response": response }),
        )
        .expect("credential")
    }

    #[test]
    fn the_token_request_has_okta_flat_fields_in_standard_base64() {
        let form =
            token_form(&IdpConfig { audience: Some("postgres".into()), ..config() }, &credential(None));
        let names: Vec<&str> = form.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "grant_type",
                "client_id",
                "login_hint",
                "clientDataJSON",
                "authenticatorData",
                "signature",
                "scope",
                "audience"
            ],
            "no credential id, no auth_session, no userHandle when the key gave none"
        );
        let value = |name: &str| form.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
        assert_eq!(value("grant_type"), Some("urn:okta:params:oauth:grant-type:webauthn"));
        assert_eq!(value("login_hint"), Some("alice@example.com"));
        assert_eq!(value("clientDataJSON"), Some("+/8="), "standard alphabet, padded");
        assert_eq!(value("authenticatorData"), Some("AQID"));
        assert_eq!(value("scope"), Some("openid offline_access"));

        let with_handle = assertion_fields(&credential(Some("BAUG")));
        assert_eq!(with_handle.last(), Some(&("userHandle", "BAUG".to_string())));
        let without_audience = token_form(&config(), &credential(None));
        assert!(without_audience.iter().all(|(name, _)| *name != "audience"));
    }

    fn response(status: u16, body: Value) -> IdpResponse {
        IdpResponse {
            status: StatusCode::from_u16(status).expect("status"),
            body: body.to_string().into_bytes(),
            skew: None,
        }
    }

    const TOKEN: &str = "POST https://example.okta.com/oauth2/v1/token";

    #[test]
    fn mfa_required_says_tapgate_does_not_do_a_second_factor() {
        let body = json!({ "error": "mfa_required", "error_description": "Additional authentication required.", "mfa_token": "mfa-SECRET" });
        let err = grant_error(&config(), KeyKind::Usb, TOKEN, &response(403, body.clone()));
        assert_eq!(
            err.to_string(),
            "the IdP corp asks for a second factor after the key tap, which Tapgate does not do yet: use flow = \"browser\" for it"
        );
        assert!(!err.to_string().contains("SECRET"));
        let err = challenge_error(&config(), TOKEN, &response(400, body));
        assert!(matches!(err, IdpError::SecondFactorRequired { .. }), "{err}");
    }

    #[test]
    fn refused_assertions_read_as_for_auth0() {
        let err = grant_error(
            &config(),
            KeyKind::Soft,
            TOKEN,
            &response(
                400,
                json!({ "error": "invalid_grant", "error_description": "The WebAuthn assertion is invalid." }),
            ),
        );
        assert_eq!(err.to_string(), "the IdP corp refused the sign-in: The WebAuthn assertion is invalid.");
        let err = grant_error(
            &config(),
            KeyKind::Soft,
            TOKEN,
            &response(
                403,
                json!({ "error": "invalid_grant", "error_description": "security key not registered for alice@example.com" }),
            ),
        );
        assert!(matches!(err, IdpError::KeyNotRegistered { .. }), "{err}");
    }

    #[test]
    fn polling_answers_are_not_a_key_tap() {
        let err = grant_error(
            &config(),
            KeyKind::Soft,
            TOKEN,
            &response(400, json!({ "error": "authorization_pending" })),
        );
        assert_eq!(
            err.to_string(),
            "the IdP corp answered HTTP 400 Bad Request to POST https://example.okta.com/oauth2/v1/token: authorization_pending: Okta waits for an out-of-band answer, which a key tap never needs"
        );
    }

    #[test]
    fn a_grant_not_enabled_for_the_app_says_what_to_check() {
        let err = challenge_error(
            &config(),
            TOKEN,
            &response(
                400,
                json!({ "error": "unauthorized_client", "error_description": "The client is not authorized to use the provided grant type." }),
            ),
        );
        assert_eq!(
            err.to_string(),
            "the IdP corp would not start a key sign-in (The client is not authorized to use the provided grant type.): check client_id in [idp.corp] and that the app may use the WebAuthn direct-authentication grant, or use flow = \"browser\""
        );
        let err = challenge_error(
            &config(),
            TOKEN,
            &response(
                404,
                json!({ "error": "user_not_found", "error_description": "no user named alice@example.com" }),
            ),
        );
        assert!(matches!(err, IdpError::UnknownUser { .. }), "{err}");
        let err = challenge_error(&config(), TOKEN, &response(401, json!({ "error": "invalid_client" })));
        assert!(matches!(err, IdpError::UnknownClient { .. }), "{err}");
    }
}
