//! The Auth0 Native Passkeys dialect: `POST /passkey/challenge`, the WebAuthn grant at the token
//! endpoint, the refresh grant, and their JSON shapes (docs/idp-wire-contract.md §3-4).
//!
//! These calls use reqwest + serde directly rather than openidconnect's token request: the
//! WebAuthn grant is a custom grant type whose body nests the assertion as a JSON object
//! (`authn_response`), which openidconnect's form-encoded, fixed-field token requests cannot
//! express.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tapgate_config::{IdpConfig, TokenTarget};
use url::Url;
use webauthn_rs_proto::{PublicKeyCredential, RequestChallengeResponse};

use crate::discovery::Discovery;
use crate::http::{IdpHttp, IdpResponse, OAuthError, status_text};
use crate::{IdpError, KeyKind, TouchRequest};

/// The grant type Auth0 (and Okta, `okta`) use for a WebAuthn assertion at the token endpoint.
pub(crate) const WEBAUTHN_GRANT: &str = "urn:okta:params:oauth:grant-type:webauthn";
/// RFC 6749 §6.
const REFRESH_GRANT: &str = "refresh_token";

/// A started sign-in: the opaque session to send back and the options for the key.
pub(crate) struct Challenge {
    /// Single use, valid for minutes: kept out of logs like a token.
    pub(crate) auth_session: SecretString,
    pub(crate) options: RequestChallengeResponse,
}

/// `POST /passkey/challenge` body.
#[derive(Serialize)]
struct ChallengeRequest<'a> {
    client_id: &'a str,
    username: &'a str,
}

/// `POST /passkey/challenge` success body.
#[derive(Deserialize)]
struct ChallengeResponse {
    auth_session: SecretString,
    authn_params_public_key: Value,
}

/// The passkey challenge endpoint: not in the discovery document, derived from the issuer.
pub(crate) fn challenge_endpoint(config: &IdpConfig) -> Result<Url, IdpError> {
    let url = format!("{}/passkey/challenge", config.issuer.trim_end_matches('/'));
    Url::parse(&url).map_err(|err| IdpError::BadDiscovery {
        idp: config.name.clone(),
        issuer: config.issuer.clone(),
        reason: format!("cannot derive the challenge endpoint ({err})"),
    })
}

/// Checks the provider metadata allows this dialect's sign-in.
pub(crate) fn check_discovery(discovery: &Discovery, config: &IdpConfig) -> Result<(), IdpError> {
    if discovery.may_support_grant(WEBAUTHN_GRANT) {
        Ok(())
    } else {
        Err(IdpError::BadDiscovery {
            idp: config.name.clone(),
            issuer: config.issuer.clone(),
            reason: format!("grant_types_supported does not list the passkey grant {WEBAUTHN_GRANT}"),
        })
    }
}

/// Step 1: asks the IdP for a challenge for `config.username`.
pub(crate) async fn start(http: &IdpHttp, config: &IdpConfig) -> Result<Challenge, IdpError> {
    let endpoint = challenge_endpoint(config)?;
    let request = http
        .client()
        .post(endpoint.clone())
        .json(&ChallengeRequest { client_id: &config.client_id, username: username(config) })
        .build()
        .map_err(|err| http.transport_error(&err, &endpoint))?;
    let response = http.execute(request).await?;
    let at = format!("POST {endpoint}");

    if !response.status.is_success() {
        return Err(challenge_error(config, &at, &response));
    }

    let body: ChallengeResponse = serde_json::from_slice(&response.body)
        .map_err(|err| protocol(config, &at, &response, format!("unreadable challenge ({err})")))?;
    let options = request_options(body.authn_params_public_key, config)
        .map_err(|reason| protocol(config, &at, &response, format!("unreadable challenge ({reason})")))?;
    Ok(Challenge { auth_session: body.auth_session, options })
}

/// Turns Auth0's `authn_params_public_key` into the options webauthn-authenticator-rs takes.
///
/// webauthn-rs-proto has no serde defaults for `allowCredentials` and `userVerification`, which
/// Auth0 may omit: fill in the W3C WebAuthn §5.5 defaults (an empty list, "preferred") first.
/// A missing `rpId` becomes the origin's host (§5.1.4.1 step 8: "set rpId to effectiveDomain").
pub(crate) fn request_options(
    public_key: Value,
    config: &IdpConfig,
) -> Result<RequestChallengeResponse, String> {
    let Value::Object(mut options) = public_key else {
        return Err("authn_params_public_key is not an object".to_string());
    };
    options.entry("allowCredentials").or_insert_with(|| Value::Array(Vec::new()));
    options.entry("userVerification").or_insert_with(|| Value::String("preferred".to_string()));
    if !options.contains_key("rpId")
        && let Some(host) = config.rp_origin.host_str()
    {
        options.insert("rpId".to_string(), Value::String(host.to_string()));
    }
    let mut wrapper = Map::new();
    wrapper.insert("publicKey".to_string(), Value::Object(options));
    serde_json::from_value(Value::Object(wrapper)).map_err(|err| err.to_string())
}

/// The assertion as Auth0's `authn_response`: binary fields base64url without padding, empty
/// `clientExtensionResults`, no `userHandle` when the key gave none (CTAP2 keys never do).
///
/// Built by hand: webauthn-rs-proto would write `userHandle: null` and `extensions`.
pub(crate) fn authn_response(credential: &PublicKeyCredential) -> Value {
    let b64 = |bytes: &[u8]| Value::String(URL_SAFE_NO_PAD.encode(bytes));
    let assertion = &credential.response;
    let mut response = Map::new();
    response.insert("clientDataJSON".to_string(), b64(&assertion.client_data_json));
    response.insert("authenticatorData".to_string(), b64(&assertion.authenticator_data));
    response.insert("signature".to_string(), b64(&assertion.signature));
    if let Some(user_handle) = &assertion.user_handle {
        response.insert("userHandle".to_string(), b64(user_handle));
    }
    json!({
        "id": URL_SAFE_NO_PAD.encode(&credential.raw_id),
        "rawId": URL_SAFE_NO_PAD.encode(&credential.raw_id),
        "type": "public-key",
        "authenticatorAttachment": "cross-platform",
        "response": Value::Object(response),
        "clientExtensionResults": {},
    })
}

/// Step 3: exchanges the signed assertion for tokens at the token endpoint.
pub(crate) async fn finish(
    http: &IdpHttp,
    discovery: &Discovery,
    config: &IdpConfig,
    request: &TouchRequest,
    auth_session: &SecretString,
    credential: &PublicKeyCredential,
) -> Result<IdpResponse, IdpError> {
    let mut body = json!({
        "grant_type": WEBAUTHN_GRANT,
        "client_id": config.client_id,
        "auth_session": auth_session.expose_secret(),
        "authn_response": authn_response(credential),
    });
    insert_scope_and_audience(&mut body, config);
    let endpoint = &discovery.token_endpoint;
    let built = http.client().post(endpoint.clone()).json(&body).build();
    drop(body); // holds the auth session: do not keep it around longer than needed
    let response = http.execute(built.map_err(|err| http.transport_error(&err, endpoint))?).await?;
    if response.status.is_success() {
        return Ok(response);
    }

    Err(grant_error(config, request.kind, &format!("POST {endpoint}"), &response))
}

/// RFC 6749 §6: a new access token from a refresh token. Plain OAuth, so every flow and dialect
/// refreshes through it (Okta's refresh is the same grant).
pub(crate) async fn refresh(
    http: &IdpHttp,
    discovery: &Discovery,
    config: &IdpConfig,
    refresh_token: &SecretString,
    target: Option<&TokenTarget>,
) -> Result<IdpResponse, IdpError> {
    let endpoint = &discovery.token_endpoint;
    // Form-encoded as RFC 6749 §6 specifies (Auth0 takes both). No scope unless a database asks
    // for its own: the refreshed token keeps the scope originally granted (§6: "if omitted is
    // treated as equal"). The audience is always named, the database's or the IdP's.
    let mut form = vec![
        ("grant_type", REFRESH_GRANT.to_string()),
        ("client_id", config.client_id.clone()),
        ("refresh_token", refresh_token.expose_secret().to_string()),
    ];
    if let Some(secret) = &config.provider.client_secret {
        form.push(("client_secret", secret.clone()));
    }
    match target {
        Some(target) => form.extend(target_fields(target)),
        // The IdP's own audience again: an IdP that follows RFC 8707 (oidc-provider) otherwise
        // refreshes into a token for no resource (opaque, for its userinfo), which no database
        // takes. IdPs that pick the audience themselves ignore the parameter (RFC 6749 §3.2).
        None => {
            if let Some(audience) = &config.audience {
                form.extend(target_fields(&TokenTarget {
                    audience: Some(audience.clone()),
                    scopes: Vec::new(),
                    token: None,
                }));
            }
        }
    }
    let built = http.client().post(endpoint.clone()).form(&form).build();
    let response = http.execute(built.map_err(|err| http.transport_error(&err, endpoint))?).await?;
    if response.status.is_success() {
        return Ok(response);
    }

    Err(refresh_error(config, target, &format!("POST {endpoint}"), &response, refresh_token))
}

/// The refresh request's fields for a database's own token: `scope`, `audience` (Auth0 and
/// IdPs modelled on it) and, when the audience is an absolute URI, RFC 8707's `resource`.
fn target_fields(target: &TokenTarget) -> Vec<(&'static str, String)> {
    let mut fields = Vec::new();
    if !target.scopes.is_empty() {
        fields.push(("scope", target.scopes.join(" ")));
    }
    if let Some(audience) = &target.audience {
        fields.push(("audience", audience.clone()));
        if let Some(resource) = crate::browser::resource_of(audience) {
            fields.push(("resource", resource.to_string()));
        }
    }
    fields
}

/// A failed `POST /passkey/challenge` (docs/idp-wire-contract.md §3).
pub(crate) fn challenge_error(config: &IdpConfig, endpoint: &str, response: &IdpResponse) -> IdpError {
    let error = OAuthError::parse(&response.body);
    match error.error.as_str() {
        "user_not_found" => {
            IdpError::UnknownUser { idp: config.name.clone(), username: username(config).to_string() }
        }
        "no_credentials" => {
            IdpError::NoCredentials { idp: config.name.clone(), username: username(config).to_string() }
        }
        "unauthorized_client" | "invalid_client" => {
            IdpError::UnknownClient { idp: config.name.clone(), client_id: config.client_id.clone() }
        }
        _ => protocol(config, endpoint, response, error.detail()),
    }
}

/// A failed WebAuthn grant (docs/idp-wire-contract.md §4a).
pub(crate) fn grant_error(
    config: &IdpConfig,
    kind: KeyKind,
    endpoint: &str,
    response: &IdpResponse,
) -> IdpError {
    let error = OAuthError::parse(&response.body);
    let description = error.describe();
    let refused = error.error == "invalid_grant" || response.status == StatusCode::FORBIDDEN;
    match error.error.as_str() {
        // "security key not registered for <user>": the credential that signed is not one of
        // this user's.
        _ if refused && description.contains("not registered") => IdpError::KeyNotRegistered {
            idp: config.name.clone(),
            username: username(config).to_string(),
            kind,
        },
        "invalid_grant" | "access_denied" => {
            IdpError::AssertionRefused { idp: config.name.clone(), description }
        }
        "unauthorized_client" | "invalid_client" => {
            IdpError::UnknownClient { idp: config.name.clone(), client_id: config.client_id.clone() }
        }
        _ => protocol(config, endpoint, response, error.detail()),
    }
}

/// A failed refresh grant: `invalid_grant` means the refresh token is spent (RFC 6749 §5.2).
fn refresh_error(
    config: &IdpConfig,
    target: Option<&TokenTarget>,
    endpoint: &str,
    response: &IdpResponse,
    refresh_token: &SecretString,
) -> IdpError {
    let error = OAuthError::parse(&response.body);
    match error.error.as_str() {
        // RFC 8707 §2 and RFC 6749 §5.2: the IdP will not issue a token for this audience or
        // these scopes to this client; a tap would not change that.
        "invalid_target" | "invalid_scope" if target.is_some() => IdpError::TargetRefused {
            idp: config.name.clone(),
            target: target.map(TokenTarget::describe).unwrap_or_default(),
            description: redact(&error.describe(), refresh_token),
        },
        "invalid_grant" => IdpError::RefreshRejected {
            idp: config.name.clone(),
            description: redact(&error.describe(), refresh_token),
        },
        "unauthorized_client" | "invalid_client" => {
            IdpError::UnknownClient { idp: config.name.clone(), client_id: config.client_id.clone() }
        }
        _ => protocol(config, endpoint, response, redact(&error.detail(), refresh_token)),
    }
}

/// The user a passkey sign-in is for; `IdpClient::sign_in` has checked there is one.
fn username(config: &IdpConfig) -> &str {
    config.username.as_deref().unwrap_or_default()
}

fn insert_scope_and_audience(body: &mut Value, config: &IdpConfig) {
    if let Value::Object(fields) = body {
        if !config.scopes.is_empty() {
            fields.insert("scope".to_string(), Value::String(config.scopes.join(" ")));
        }
        if let Some(audience) = &config.audience {
            fields.insert("audience".to_string(), Value::String(audience.clone()));
        }
    }
}

fn protocol(config: &IdpConfig, endpoint: &str, response: &IdpResponse, detail: String) -> IdpError {
    IdpError::Protocol {
        idp: config.name.clone(),
        endpoint: endpoint.to_string(),
        status: status_text(response.status),
        detail,
    }
}

/// An IdP that echoes the refresh token in its error text must not get it into our messages.
fn redact(text: &str, secret: &SecretString) -> String {
    let secret = secret.expose_secret();
    if secret.len() >= 8 { text.replace(secret, "[redacted]") } else { text.to_string() }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use tapgate_config::{AuthenticatorChoice, Dialect, Flow, TokenChoice};
    use webauthn_rs_proto::UserVerificationPolicy;

    use super::*;

    pub(crate) fn config() -> IdpConfig {
        IdpConfig {
            name: "corp".into(),
            issuer: "https://localhost:8443".into(),
            client_id: "tapgate-cli".into(),
            username: Some("alice@example.com".into()),
            flow: Flow::Passkey(Dialect::Auth0),
            authenticator: AuthenticatorChoice::Soft(PathBuf::from("/nonexistent")),
            rp_origin: Url::parse("https://localhost:8443").expect("url"),
            audience: Some("postgres".into()),
            scopes: vec!["openid".into(), "groups".into(), "offline_access".into()],
            ca_file: None,
            token: TokenChoice::Access,
            redirect_port: 0,
            provider: Default::default(),
        }
    }

    #[test]
    fn a_challenge_without_allow_credentials_or_user_verification_deserialises() {
        let options = request_options(
            json!({ "challenge": "c2lnbi1pbi1jaGFsbGVuZ2U", "rpId": "localhost", "timeout": 60000 }),
            &config(),
        )
        .expect("fills defaults");
        assert!(options.public_key.allow_credentials.is_empty());
        assert_eq!(options.public_key.user_verification, UserVerificationPolicy::Preferred);
        assert_eq!(options.public_key.challenge, b"sign-in-challenge".to_vec());
    }

    #[test]
    fn a_full_challenge_keeps_what_the_idp_sent() {
        let options = request_options(
            json!({
                "challenge": "c2lnbi1pbi1jaGFsbGVuZ2U", "rpId": "localhost", "timeout": 60000,
                "userVerification": "discouraged",
                "allowCredentials": [{ "type": "public-key", "id": "AQID" }],
            }),
            &config(),
        )
        .expect("parses");
        assert_eq!(options.public_key.allow_credentials.len(), 1);
        assert_eq!(options.public_key.allow_credentials[0].id, vec![1, 2, 3]);
        assert_eq!(options.public_key.user_verification, UserVerificationPolicy::Discouraged_DO_NOT_USE);
    }

    #[test]
    fn a_missing_rp_id_is_the_origin_host() {
        let options = request_options(json!({ "challenge": "AAAA" }), &config()).expect("parses");
        assert_eq!(options.public_key.rp_id, "localhost");
    }

    #[test]
    fn a_challenge_that_is_not_an_object_is_refused() {
        assert!(request_options(json!("nope"), &config()).is_err());
    }

    #[test]
    fn the_challenge_endpoint_hangs_off_the_issuer() {
        assert_eq!(
            challenge_endpoint(&config()).expect("url").as_str(),
            "https://localhost:8443/passkey/challenge"
        );
    }

    #[test]
    fn authn_response_from_a_real_soft_key_assertion_has_auth0_shape() {
        use crate::Authenticator as _;
        use crate::soft::tests::{RecordingPrompt, challenge_for, enrolled_key_file, origin, request};

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("alice.key");
        let id = enrolled_key_file(&path);
        let credential = crate::soft::SoftKey::new(path)
            .authenticate(&request(), &origin(), challenge_for(&id), &RecordingPrompt::default())
            .expect("signs");

        let json = authn_response(&credential);
        let fields = json.as_object().expect("object");
        let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["authenticatorAttachment", "clientExtensionResults", "id", "rawId", "response", "type"]
        );
        assert_eq!(json["type"], "public-key");
        assert_eq!(json["authenticatorAttachment"], "cross-platform");
        assert_eq!(json["clientExtensionResults"], json!({}));
        assert_eq!(json["rawId"], URL_SAFE_NO_PAD.encode(&id));
        assert_eq!(json["id"], json["rawId"]);

        let response = json["response"].as_object().expect("response");
        let mut keys: Vec<&str> = response.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["authenticatorData", "clientDataJSON", "signature"], "no userHandle when None");
        for (name, value) in response {
            let text = value.as_str().expect("string");
            assert!(
                !text.contains('=') && !text.contains('+') && !text.contains('/'),
                "{name} is base64url: {text}"
            );
            URL_SAFE_NO_PAD.decode(text).expect("decodes");
        }
        let client_data: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD.decode(response["clientDataJSON"].as_str().expect("str")).expect("b64"),
        )
        .expect("json");
        assert_eq!(client_data["type"], "webauthn.get");
        assert_eq!(client_data["challenge"], "c2lnbi1pbi1jaGFsbGVuZ2U");
    }

    #[test]
    fn a_user_handle_is_sent_when_present() {
        let credential: PublicKeyCredential = serde_json::from_value(json!({
            "id": "AQID", "rawId": "AQID", "type": "public-key",
            "response": { "clientDataJSON": "AA", "authenticatorData": "AA", "signature": "AA", "userHandle": "BAUG" },
        }))
        .expect("credential");
        assert_eq!(authn_response(&credential)["response"]["userHandle"], "BAUG");
    }

    #[test]
    fn a_database_target_adds_scope_audience_and_a_resource_for_uris() {
        let named = TokenTarget { audience: Some("postgres-test".into()), scopes: vec![], token: None };
        assert_eq!(target_fields(&named), vec![("audience", "postgres-test".to_string())]);
        let uri = TokenTarget {
            audience: Some("https://db.example.com/prod".into()),
            scopes: vec!["openid".into(), "db".into()],
            token: None,
        };
        assert_eq!(
            target_fields(&uri),
            vec![
                ("scope", "openid db".to_string()),
                ("audience", "https://db.example.com/prod".to_string()),
                ("resource", "https://db.example.com/prod".to_string()),
            ]
        );
    }

    #[test]
    fn scope_and_audience_come_from_the_config() {
        let mut body = json!({});
        insert_scope_and_audience(&mut body, &config());
        assert_eq!(body, json!({ "scope": "openid groups offline_access", "audience": "postgres" }));

        let mut body = json!({});
        insert_scope_and_audience(&mut body, &IdpConfig { audience: None, ..config() });
        assert_eq!(body, json!({ "scope": "openid groups offline_access" }));
    }

    fn error_response(status: u16, body: Value) -> IdpResponse {
        IdpResponse {
            status: StatusCode::from_u16(status).expect("status"),
            body: body.to_string().into_bytes(),
            skew: None,
        }
    }

    #[test]
    fn challenge_errors_of_the_contract() {
        let at = "POST https://localhost:8443/passkey/challenge";
        let err = challenge_error(
            &config(),
            at,
            &error_response(
                404,
                json!({ "error": "user_not_found", "error_description": "no user named alice@example.com" }),
            ),
        );
        assert_eq!(
            err.to_string(),
            "the IdP corp has no user named alice@example.com: check username in [idp.corp]"
        );
        let err = challenge_error(&config(), at, &error_response(404, json!({ "error": "no_credentials" })));
        assert_eq!(
            err.to_string(),
            "alice@example.com has no registered key at corp: enroll one with the IdP first"
        );
        let err =
            challenge_error(&config(), at, &error_response(401, json!({ "error": "unauthorized_client" })));
        assert!(matches!(err, IdpError::UnknownClient { .. }), "{err}");
        let err = challenge_error(
            &config(),
            at,
            &error_response(404, json!({ "error": "not_found", "error_description": "no route" })),
        );
        assert_eq!(
            err.to_string(),
            "the IdP corp answered HTTP 404 Not Found to POST https://localhost:8443/passkey/challenge: not_found: no route"
        );
    }

    #[test]
    fn grant_errors_of_the_contract() {
        let at = "POST https://localhost:8443/oauth/token";
        let err = grant_error(
            &config(),
            KeyKind::Usb,
            at,
            &error_response(
                403,
                json!({ "error": "invalid_grant", "error_description": "security key not registered for alice@example.com" }),
            ),
        );
        assert_eq!(err.to_string(), "this security key is not registered for alice@example.com at corp");
        let err = grant_error(
            &config(),
            KeyKind::Soft,
            at,
            &error_response(
                403,
                json!({ "error": "invalid_grant", "error_description": "assertion refused: origin mismatch" }),
            ),
        );
        assert_eq!(err.to_string(), "the IdP corp refused the sign-in: assertion refused: origin mismatch");
        let err = grant_error(
            &config(),
            KeyKind::Soft,
            at,
            &error_response(
                403,
                json!({ "error": "invalid_grant", "error_description": "auth_session unknown or expired" }),
            ),
        );
        assert!(matches!(err, IdpError::AssertionRefused { .. }), "{err}");
        let err = grant_error(&config(), KeyKind::Soft, at, &error_response(500, json!({})));
        assert_eq!(
            err.to_string(),
            "the IdP corp answered HTTP 500 Internal Server Error to POST https://localhost:8443/oauth/token: no OAuth error in the body"
        );
    }

    #[test]
    fn refresh_errors_ask_for_a_tap() {
        let token = SecretString::from("rt-0123456789abcdef");
        let err = refresh_error(
            &config(),
            None,
            "POST https://localhost:8443/oauth/token",
            &error_response(
                400,
                json!({ "error": "invalid_grant", "error_description": "refresh token expired" }),
            ),
            &token,
        );
        assert!(err.is_sign_in_needed());
        assert_eq!(
            err.to_string(),
            "the IdP corp refused the refresh token (refresh token expired): sign in again with your key"
        );
        let err = refresh_error(
            &config(),
            None,
            "POST https://localhost:8443/oauth/token",
            &error_response(
                400,
                json!({ "error": "invalid_request", "error_description": "bad rt-0123456789abcdef" }),
            ),
            &token,
        );
        assert!(!err.to_string().contains("rt-0123456789abcdef"), "{err}");

        // A database's audience the IdP will not serve: a tap would not help, so none is asked.
        let target = TokenTarget { audience: Some("postgres-prod".into()), scopes: vec![], token: None };
        let err = refresh_error(
            &config(),
            Some(&target),
            "POST https://localhost:8443/oauth/token",
            &error_response(400, json!({ "error": "invalid_target", "error_description": "unknown API" })),
            &token,
        );
        assert!(!err.is_sign_in_needed());
        assert!(
            err.to_string()
                .starts_with("the IdP corp will not issue a token for audience postgres-prod (unknown API)"),
            "{err}"
        );
    }

    #[test]
    fn echoed_refresh_tokens_are_redacted() {
        let token = SecretString::from("rt-0123456789abcdef");
        assert_eq!(redact("unknown token rt-0123456789abcdef", &token), "unknown token [redacted]");
    }
}
