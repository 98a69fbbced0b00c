//! The Okta dialect (docs/idp-wire-contract.md §8): `POST /oauth/primary-authenticate`, then
//! the webauthn grant with flat form fields, and each way it is refused.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::support::{
    CLIENT_ID, TestIdp, TestResult, WEBAUTHN_GRANT, enroll, jwt_parts, refusal, sign, temp_data,
};

async fn primary_authenticate(
    idp: &TestIdp,
    client_id: &str,
    user: &str,
    hint: &str,
) -> TestResult<reqwest::Response> {
    Ok(idp
        .client
        .post(idp.url("/oauth/primary-authenticate"))
        .header("accept", "application/json")
        .form(&[("client_id", client_id), ("login_hint", user), ("challenge_hint", hint)])
        .send()
        .await?)
}

/// A challenge that must succeed: its `publicKey`, with the `rpId` a client adds from its
/// origin (the dev IdP, like Okta's fixture, sends none).
async fn ok_challenge(idp: &TestIdp, user: &str) -> TestResult<Value> {
    let response = primary_authenticate(idp, CLIENT_ID, user, WEBAUTHN_GRANT).await?;
    assert_eq!(response.status(), 200, "primary-authenticate for {user}");
    let body: Value = response.json().await?;
    assert_eq!(body["challengeType"], WEBAUTHN_GRANT);
    let mut public_key = body["publicKey"].clone();
    assert!(public_key.get("rpId").is_none(), "{public_key}");
    public_key["rpId"] = json!("localhost");
    Ok(public_key)
}

/// The assertion of `sign` as Okta's flat fields, in standard base64 as Tapgate sends them.
fn flat_fields(assertion: &Value) -> TestResult<Vec<(String, String)>> {
    let mut fields = Vec::new();
    for name in ["clientDataJSON", "authenticatorData", "signature"] {
        let url_safe = assertion["response"][name].as_str().ok_or("missing field")?;
        fields.push((name.to_owned(), STANDARD.encode(URL_SAFE_NO_PAD.decode(url_safe)?)));
    }
    Ok(fields)
}

async fn grant(idp: &TestIdp, user: &str, assertion: &Value) -> TestResult<reqwest::Response> {
    let mut form = vec![
        ("grant_type".to_owned(), WEBAUTHN_GRANT.to_owned()),
        ("client_id".to_owned(), CLIENT_ID.to_owned()),
        ("login_hint".to_owned(), user.to_owned()),
        ("scope".to_owned(), "openid email offline_access".to_owned()),
        ("audience".to_owned(), "postgres".to_owned()),
    ];
    form.extend(flat_fields(assertion)?);
    Ok(idp.client.post(idp.url("/oauth/token")).form(&form).send().await?)
}

#[tokio::test]
async fn okta_sign_in_issues_tokens_that_refresh() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;

    let options = ok_challenge(&idp, "alice@example.com").await?;
    assert_eq!(options["allowCredentials"].as_array().map(Vec::len), Some(1));
    let assertion = sign(&key, &idp.issuer, &options)?;
    let response = grant(&idp, "alice@example.com", &assertion).await?;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await?;
    let (_, claims) = jwt_parts(tokens["access_token"].as_str().ok_or("no access token")?)?;
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["aud"], "postgres");
    assert_eq!(claims["groups"], json!(["dba"]));

    let refresh = tokens["refresh_token"].as_str().ok_or("no refresh token")?;
    let response = idp
        .client
        .post(idp.url("/oauth/token"))
        .form(&[("grant_type", "refresh_token"), ("client_id", CLIENT_ID), ("refresh_token", refresh)])
        .send()
        .await?;
    assert_eq!(response.status(), 200);

    // The counter was saved: the next tap works too, and base64url fields are read as well.
    let options = ok_challenge(&idp, "alice@example.com").await?;
    let assertion = sign(&key, &idp.issuer, &options)?;
    let mut form = vec![("grant_type", WEBAUTHN_GRANT.to_owned()), ("client_id", CLIENT_ID.to_owned())];
    for name in ["clientDataJSON", "authenticatorData", "signature"] {
        form.push((name, assertion["response"][name].as_str().ok_or("missing")?.to_owned()));
    }
    let response = idp.client.post(idp.url("/oauth/token")).form(&form).send().await?;
    assert_eq!(response.status(), 200);
    Ok(())
}

#[tokio::test]
async fn a_replayed_challenge_is_refused() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    let options = ok_challenge(&idp, "alice@example.com").await?;
    let assertion = sign(&key, &idp.issuer, &options)?;
    assert_eq!(grant(&idp, "alice@example.com", &assertion).await?.status(), 200);

    let (status, error, description) = refusal(grant(&idp, "alice@example.com", &assertion).await?).await?;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    assert_eq!(description, "challenge unknown, expired or already used");
    Ok(())
}

#[tokio::test]
async fn unknown_user_client_and_challenge_hint_are_refused() -> TestResult {
    let (_temp, data) = temp_data()?;
    enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;

    let response = primary_authenticate(&idp, CLIENT_ID, "bob@example.com", WEBAUTHN_GRANT).await?;
    let (status, error, description) = refusal(response).await?;
    assert_eq!((status, error.as_str()), (404, "user_not_found"));
    assert_eq!(description, "no user named bob@example.com");

    let response = primary_authenticate(&idp, "someone-else", "alice@example.com", WEBAUTHN_GRANT).await?;
    assert_eq!(refusal(response).await?.1, "unauthorized_client");

    let otp = "urn:okta:params:oauth:grant-type:otp";
    let (status, error, _) =
        refusal(primary_authenticate(&idp, CLIENT_ID, "alice@example.com", otp).await?).await?;
    assert_eq!((status, error.as_str()), (400, "unsupported_challenge_type"));
    Ok(())
}

#[tokio::test]
async fn a_key_that_is_not_the_users_is_refused() -> TestResult {
    let (_temp, data) = temp_data()?;
    enroll(&data, "alice@example.com", &["dba"])?;
    let mallory_key = enroll(&data, "mallory@example.com", &["dev"])?;
    let idp = TestIdp::start(&data, |_| {})?;

    // Mallory answers Alice's challenge with her own key; no credential id travels, so the
    // signature is what gives her away.
    let mut alice_options = ok_challenge(&idp, "alice@example.com").await?;
    let mallory_options = ok_challenge(&idp, "mallory@example.com").await?;
    alice_options["allowCredentials"] = mallory_options["allowCredentials"].clone();
    let assertion = sign(&mallory_key, &idp.issuer, &alice_options)?;

    let (status, error, description) = refusal(grant(&idp, "alice@example.com", &assertion).await?).await?;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    assert_eq!(description, "security key not registered for alice@example.com");
    Ok(())
}

#[tokio::test]
async fn another_origin_or_user_is_refused() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba"])?;
    enroll(&data, "bob@example.com", &["dev"])?;
    let idp = TestIdp::start(&data, |_| {})?;

    let options = ok_challenge(&idp, "alice@example.com").await?;
    let assertion = sign(&key, "https://localhost:1", &options)?;
    let (status, error, description) = refusal(grant(&idp, "alice@example.com", &assertion).await?).await?;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    assert!(description.starts_with("assertion refused: origin mismatch"), "{description}");

    let options = ok_challenge(&idp, "alice@example.com").await?;
    let assertion = sign(&key, &idp.issuer, &options)?;
    let (_, error, description) = refusal(grant(&idp, "bob@example.com", &assertion).await?).await?;
    assert_eq!(error, "invalid_grant");
    assert_eq!(description, "login_hint is not the user the challenge was issued for");
    Ok(())
}
