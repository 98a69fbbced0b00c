//! The refresh_token grant: rotation, reuse and expiry (wire contract 4b).

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{CLIENT_ID, TestIdp, TestResult, enroll, jwt_parts, refusal, temp_data};

fn refresh_body(token: &str) -> Value {
    json!({ "grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": token })
}

#[tokio::test]
async fn refresh_rotates_and_the_old_token_stops_working() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba", "dev"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    let first = idp.sign_in("alice@example.com", &key).await?;
    let old = first["refresh_token"].as_str().ok_or("no refresh_token")?;

    let response = idp.token(&refresh_body(old)).await?;
    assert_eq!(response.status(), 200);
    let second: Value = response.json().await?;
    let new = second["refresh_token"].as_str().ok_or("no refresh_token")?;
    assert_ne!(new, old);
    let (_, claims) = jwt_parts(second["access_token"].as_str().ok_or("no token")?)?;
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["groups"], json!(["dba", "dev"]));
    // A refresh proves no new sign-in: the method of the key tap carries over.
    assert_eq!(claims["amr"], json!(["swk"]));

    let (status, error, description) = refusal(idp.token(&refresh_body(old)).await?).await?;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    assert_eq!(description, "refresh token unknown or already used");

    // The rotated token works (once).
    assert_eq!(idp.token(&refresh_body(new)).await?.status(), 200);

    // Only digests are stored.
    let stored = std::fs::read_to_string(data.join("refresh-tokens.json"))?;
    assert!(!stored.contains(old) && !stored.contains(new));
    Ok(())
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |o| o.refresh_ttl = Duration::from_secs(1))?;
    let tokens = idp.sign_in("alice@example.com", &key).await?;
    let token = tokens["refresh_token"].as_str().ok_or("no refresh_token")?;
    tokio::time::sleep(Duration::from_millis(2100)).await;

    let (status, error, description) = refusal(idp.token(&refresh_body(token)).await?).await?;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    assert_eq!(description, "refresh token expired");
    Ok(())
}

#[tokio::test]
async fn an_unknown_refresh_token_is_refused() -> TestResult {
    let (_temp, data) = temp_data()?;
    let idp = TestIdp::start(&data, |_| {})?;
    let (status, error, _) = refusal(idp.token(&refresh_body("made-up")).await?).await?;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    Ok(())
}

/// RFC 8707: one sign-in, then an access token per database audience by refresh; the
/// refresh token keeps its own audience, so the next plain refresh is for it again.
#[tokio::test]
async fn a_refresh_can_ask_for_another_audience_and_the_grant_keeps_its_own() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    let first = idp.sign_in("alice@example.com", &key).await?;
    let (_, claims) = jwt_parts(first["access_token"].as_str().ok_or("no token")?)?;
    let own_audience = claims["aud"].clone();
    let token = first["refresh_token"].as_str().ok_or("no refresh_token")?;

    let mut body = refresh_body(token);
    body["audience"] = json!("postgres-test");
    let second: Value = idp.token(&body).await?.json().await?;
    let (_, claims) = jwt_parts(second["access_token"].as_str().ok_or("no token")?)?;
    assert_eq!(claims["aud"], "postgres-test");
    assert_eq!(claims["amr"], json!(["swk"]));

    let mut body = refresh_body(second["refresh_token"].as_str().ok_or("no refresh_token")?);
    body["resource"] = json!("https://db.example.com/prod");
    let third: Value = idp.token(&body).await?.json().await?;
    let (_, claims) = jwt_parts(third["access_token"].as_str().ok_or("no token")?)?;
    assert_eq!(claims["aud"], "https://db.example.com/prod");

    let plain = refresh_body(third["refresh_token"].as_str().ok_or("no refresh_token")?);
    let fourth: Value = idp.token(&plain).await?.json().await?;
    let (_, claims) = jwt_parts(fourth["access_token"].as_str().ok_or("no token")?)?;
    assert_eq!(claims["aud"], own_audience);

    // Two names for two audiences, or a resource that is not a URI, is refused as a target.
    let mut body = refresh_body(fourth["refresh_token"].as_str().ok_or("no refresh_token")?);
    body["audience"] = json!("a");
    body["resource"] = json!("https://b.example/");
    let (status, error, _) = refusal(idp.token(&body).await?).await?;
    assert_eq!((status, error.as_str()), (400, "invalid_target"));
    // ...without using the refresh token up; nor does a scope that was never granted.
    let mut body = plain_of(&fourth)?;
    body["scope"] = json!("openid admin");
    let (status, error, _) = refusal(idp.token(&body).await?).await?;
    assert_eq!((status, error.as_str()), (400, "invalid_scope"));
    assert_eq!(idp.token(&plain_of(&fourth)?).await?.status(), 200);
    Ok(())
}

fn plain_of(tokens: &Value) -> Result<Value, &'static str> {
    Ok(refresh_body(tokens["refresh_token"].as_str().ok_or("no refresh_token")?))
}
