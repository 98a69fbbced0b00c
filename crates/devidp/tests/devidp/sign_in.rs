//! The passkey sign-in: challenge, assertion, webauthn grant, and each way it is refused
//! (wire contract 3 and 4a).

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use crate::support::{
    CLIENT_ID, TestIdp, TestResult, WEBAUTHN_GRANT, enroll, jwt_parts, refusal, sign, temp_data,
};

#[tokio::test]
async fn soft_key_sign_in_issues_signed_tokens_with_the_contract_claims() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba", "dev"])?;
    let idp = TestIdp::start(&data, |o| o.token_ttl = std::time::Duration::from_secs(600))?;

    let (session, options) = idp.ok_challenge("alice@example.com").await?;
    assert_eq!(options["rpId"], "localhost");
    assert_eq!(options["timeout"], 60000);
    assert_eq!(options["userVerification"], "preferred");
    assert!(options["challenge"].as_str().is_some_and(|c| !c.is_empty()));
    let allowed = options["allowCredentials"].as_array().ok_or("no allowCredentials")?;
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0]["type"], "public-key");

    let assertion = sign(&key, &idp.issuer, &options)?;
    let response = idp.webauthn_grant(&session, assertion).await?;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers().get("cache-control").map(|v| v.as_bytes()), Some(&b"no-store"[..]));
    let tokens: Value = response.json().await?;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 600);
    assert_eq!(tokens["scope"], "openid profile email offline_access");
    assert!(tokens["refresh_token"].as_str().is_some_and(|t| t.len() > 20));

    let access = tokens["access_token"].as_str().ok_or("no access_token")?;
    let (header, claims) = jwt_parts(access)?;
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "at+jwt");
    let kid = header["kid"].as_str().ok_or("no kid")?;
    assert!(idp.jwks_kids().await?.contains(&kid.to_owned()));

    assert_eq!(claims["iss"], idp.issuer.as_str());
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["client_id"], CLIENT_ID);
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(claims["groups"], json!(["dba", "dev"]));
    assert_eq!(claims["scope"], "openid profile email offline_access");
    let iat = claims["iat"].as_i64().ok_or("no iat")?;
    assert_eq!(claims["exp"].as_i64().ok_or("no exp")? - iat, 600);
    assert_eq!(claims["nbf"].as_i64(), Some(iat));
    assert!(claims["jti"].is_string() && claims["sub"].is_string());
    // What a verifier's policy checks: a software key (RFC 8176 swk), our client, a verified
    // address.
    assert_eq!(claims["amr"], json!(["swk"]));
    assert_eq!(claims["azp"], CLIENT_ID);
    assert_eq!(claims["email_verified"], true);

    // The signature verifies with the published key.
    verify(&idp, access, CLIENT_ID).await?;

    let id_token = tokens["id_token"].as_str().ok_or("no id_token")?;
    let (_, id_claims) = jwt_parts(id_token)?;
    assert_eq!(id_claims["aud"], CLIENT_ID);
    assert_eq!(id_claims["sub"], claims["sub"]);
    assert_eq!(id_claims["groups"], json!(["dba", "dev"]));
    assert_eq!(id_claims["amr"], json!(["swk"]));
    verify(&idp, id_token, CLIENT_ID).await?;

    // The counter was saved on both sides: a second sign-in works too.
    idp.sign_in("alice@example.com", &key).await?;
    Ok(())
}

/// Verifies an ES256 token against the JWKS key named by its kid.
async fn verify(idp: &TestIdp, token: &str, audience: &str) -> TestResult<Value> {
    let kid = jsonwebtoken::decode_header(token)?.kid.ok_or("no kid")?;
    let jwks = idp.get_json("/.well-known/jwks.json").await?;
    let key = jwks["keys"]
        .as_array()
        .ok_or("no keys")?
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .ok_or("kid not in JWKS")?;
    let decoding =
        DecodingKey::from_ec_components(key["x"].as_str().ok_or("no x")?, key["y"].as_str().ok_or("no y")?)?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[idp.issuer.as_str()]);
    Ok(jsonwebtoken::decode::<Value>(token, &decoding, &validation)?.claims)
}

#[tokio::test]
async fn audience_is_the_requested_one() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    let (session, options) = idp.ok_challenge("alice@example.com").await?;
    let assertion = sign(&key, &idp.issuer, &options)?;
    let response = idp
        .token(&json!({
            "grant_type": WEBAUTHN_GRANT,
            "client_id": CLIENT_ID,
            "auth_session": session,
            "scope": "openid",
            "audience": "postgres://db.example.com",
            "authn_response": assertion,
        }))
        .await?;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await?;
    let (_, claims) = jwt_parts(tokens["access_token"].as_str().ok_or("no token")?)?;
    assert_eq!(claims["aud"], "postgres://db.example.com");
    let (_, id_claims) = jwt_parts(tokens["id_token"].as_str().ok_or("no token")?)?;
    assert_eq!(id_claims["aud"], CLIENT_ID);
    Ok(())
}

#[tokio::test]
async fn form_encoded_grant_is_accepted() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    let (session, options) = idp.ok_challenge("alice@example.com").await?;
    let assertion = sign(&key, &idp.issuer, &options)?;
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", WEBAUTHN_GRANT)
        .append_pair("client_id", CLIENT_ID)
        .append_pair("auth_session", &session)
        .append_pair("scope", "openid")
        .append_pair("authn_response", &assertion.to_string())
        .finish();
    let response = idp
        .client
        .post(idp.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    Ok(())
}

#[tokio::test]
async fn a_replayed_auth_session_is_refused() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    let (session, options) = idp.ok_challenge("alice@example.com").await?;
    let assertion = sign(&key, &idp.issuer, &options)?;
    assert_eq!(idp.webauthn_grant(&session, assertion.clone()).await?.status(), 200);

    let (status, error, description) = refusal(idp.webauthn_grant(&session, assertion).await?).await?;
    assert_eq!((status, error.as_str()), (403, "invalid_grant"));
    assert_eq!(description, "auth_session unknown or expired");
    Ok(())
}

#[tokio::test]
async fn an_assertion_for_another_origin_is_refused() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    let port = idp.issuer.rsplit(':').next().ok_or("no port")?.to_owned();

    for origin in [format!("https://evil.localhost:{port}"), "https://localhost:1".to_owned()] {
        let (session, options) = idp.ok_challenge("alice@example.com").await?;
        let assertion = sign(&key, &origin, &options)?;
        let (status, error, description) = refusal(idp.webauthn_grant(&session, assertion).await?).await?;
        assert_eq!((status, error.as_str()), (403, "invalid_grant"), "{origin}");
        assert!(description.starts_with("assertion refused: "), "{description}");
        assert!(description.contains("origin"), "{description}");
        assert!(description.contains(&origin), "{description}");
    }
    // The refusals did not break the key: the right origin still works.
    idp.sign_in("alice@example.com", &key).await?;
    Ok(())
}

#[tokio::test]
async fn unknown_user_and_unknown_client_are_refused() -> TestResult {
    let (_temp, data) = temp_data()?;
    enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;

    let (status, error, description) = refusal(idp.challenge("bob@example.com").await?).await?;
    assert_eq!((status, error.as_str()), (404, "user_not_found"));
    assert_eq!(description, "no user named bob@example.com");

    let response = idp
        .client
        .post(idp.url("/passkey/challenge"))
        .json(&json!({ "client_id": "someone-else", "username": "alice@example.com" }))
        .send()
        .await?;
    let (status, error, _) = refusal(response).await?;
    assert_eq!((status, error.as_str()), (401, "unauthorized_client"));

    let response = idp
        .client
        .post(idp.url("/passkey/challenge"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await?;
    let (status, error, _) = refusal(response).await?;
    assert_eq!((status, error.as_str()), (400, "invalid_request"));
    Ok(())
}

#[tokio::test]
async fn a_key_not_enrolled_for_the_user_is_refused() -> TestResult {
    let (_temp, data) = temp_data()?;
    enroll(&data, "alice@example.com", &["dba"])?;
    let mallory_key = enroll(&data, "mallory@example.com", &["dev"])?;
    let idp = TestIdp::start(&data, |_| {})?;

    // Mallory answers Alice's challenge with her own key.
    let (alice_session, mut alice_options) = idp.ok_challenge("alice@example.com").await?;
    let (_, mallory_options) = idp.ok_challenge("mallory@example.com").await?;
    alice_options["allowCredentials"] = mallory_options["allowCredentials"].clone();
    let assertion = sign(&mallory_key, &idp.issuer, &alice_options)?;

    let (status, error, description) = refusal(idp.webauthn_grant(&alice_session, assertion).await?).await?;
    assert_eq!((status, error.as_str()), (403, "invalid_grant"));
    assert_eq!(description, "security key not registered for alice@example.com");
    Ok(())
}

#[tokio::test]
async fn a_malformed_assertion_is_an_invalid_request() -> TestResult {
    let (_temp, data) = temp_data()?;
    enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    let (session, _) = idp.ok_challenge("alice@example.com").await?;
    let (status, error, _) = refusal(idp.webauthn_grant(&session, json!({ "id": "x" })).await?).await?;
    assert_eq!((status, error.as_str()), (400, "invalid_request"));
    Ok(())
}

#[tokio::test]
async fn a_user_enrolled_while_serving_can_sign_in() -> TestResult {
    let (_temp, data) = temp_data()?;
    let idp = TestIdp::start(&data, |_| {})?;
    let (status, _, _) = refusal(idp.challenge("carol@example.com").await?).await?;
    assert_eq!(status, 404);
    let key = enroll(&data, "carol@example.com", &["ops"])?;
    idp.sign_in("carol@example.com", &key).await?;
    Ok(())
}

#[tokio::test]
async fn a_user_without_keys_gets_no_credentials() -> TestResult {
    let (_temp, data) = temp_data()?;
    enroll(&data, "alice@example.com", &["dba"])?;
    // Remove the key by hand, as an admin editing users.json would.
    let path = data.join("users.json");
    let mut users: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    users["users"][0]["credentials"] = json!([]);
    std::fs::write(&path, serde_json::to_vec(&users)?)?;
    let idp = TestIdp::start(&data, |_| {})?;

    let (status, error, _) = refusal(idp.challenge("alice@example.com").await?).await?;
    assert_eq!((status, error.as_str()), (404, "no_credentials"));
    Ok(())
}

#[tokio::test]
async fn the_token_endpoint_refuses_an_unknown_client() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    let (session, options) = idp.ok_challenge("alice@example.com").await?;
    let assertion = sign(&key, &idp.issuer, &options)?;
    let response = idp
        .token(&json!({
            "grant_type": WEBAUTHN_GRANT,
            "client_id": "someone-else",
            "auth_session": session,
            "authn_response": assertion,
        }))
        .await?;
    let (status, error, _) = refusal(response).await?;
    assert_eq!((status, error.as_str()), (401, "unauthorized_client"));

    let response = idp.token(&json!({ "grant_type": "password", "client_id": CLIENT_ID })).await?;
    let (status, error, _) = refusal(response).await?;
    assert_eq!((status, error.as_str()), (400, "unsupported_grant_type"));
    Ok(())
}
