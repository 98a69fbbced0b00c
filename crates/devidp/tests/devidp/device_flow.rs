//! The device authorization grant over real HTTPS (RFC 8628, wire contract 8): the device
//! code, the verification page answered with a soft key, the token endpoint's
//! authorization_pending / slow_down / expired_token / access_denied, and tokens once.

use std::time::Duration;

use serde_json::Value;

use crate::browser_sign_in::{form, post_json, request_id};
use crate::support::{CLIENT_ID, TestIdp, TestResult, enroll, jwt_parts, refusal, sign, temp_data};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A server whose device clients may poll every second.
fn start(data: &std::path::Path, offset: i64) -> TestResult<TestIdp> {
    TestIdp::start(data, |o| {
        o.device_interval = Duration::from_secs(1);
        o.clock_offset_secs = offset;
    })
}

/// POST /oauth/device/code as a client would; returns the answer.
async fn device_code(idp: &TestIdp) -> TestResult<Value> {
    let response = form(
        idp,
        "/oauth/device/code",
        &[("client_id", CLIENT_ID), ("scope", "openid groups offline_access"), ("audience", "postgres")],
    )
    .await?;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers().get("cache-control").map(|v| v.as_bytes()), Some(&b"no-store"[..]));
    Ok(response.json().await?)
}

async fn poll(idp: &TestIdp, device_code: &str) -> TestResult<reqwest::Response> {
    form(
        idp,
        "/oauth/token",
        &[("grant_type", DEVICE_GRANT), ("device_code", device_code), ("client_id", CLIENT_ID)],
    )
    .await
}

/// The OAuth error of a poll that must be refused.
async fn poll_error(idp: &TestIdp, device_code: &str) -> TestResult<(u16, String)> {
    let (status, error, _) = refusal(poll(idp, device_code).await?).await?;
    Ok((status, error))
}

/// Opens the verification page at `url` and approves `typed` with the soft key of `user`.
async fn approve(
    idp: &TestIdp,
    url: &str,
    typed: &str,
    user: &str,
    key: &std::path::Path,
) -> TestResult<Value> {
    let page = idp.client.get(url).send().await?;
    assert_eq!(page.status(), 200);
    let request = request_id(&page.text().await?)?;
    let options = post_json(
        idp,
        "/device/challenge",
        &serde_json::json!({ "request": request, "user_code": typed, "username": user }),
    )
    .await?;
    assert_eq!(options.status(), 200, "challenge");
    let options: Value = options.json().await?;
    let assertion = sign(key, &idp.issuer, &options["publicKey"])?;
    let done = post_json(
        idp,
        "/device/assertion",
        &serde_json::json!({ "request": request, "credential": assertion }),
    )
    .await?;
    assert_eq!(done.status(), 200, "assertion accepted");
    Ok(done.json().await?)
}

#[tokio::test]
async fn a_device_signs_in_once_after_the_person_approves_with_a_key() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba", "dev"])?;
    let idp = start(&data, 0)?;

    let doc = idp.get_json("/.well-known/openid-configuration").await?;
    assert_eq!(doc["device_authorization_endpoint"], idp.url("/oauth/device/code"));
    assert!(doc["grant_types_supported"].as_array().ok_or("no grants")?.contains(&DEVICE_GRANT.into()));

    let answer = device_code(&idp).await?;
    let user_code = answer["user_code"].as_str().ok_or("no user_code")?.to_owned();
    let device = answer["device_code"].as_str().ok_or("no device_code")?.to_owned();
    assert_eq!(user_code.len(), 9);
    assert_eq!(user_code.as_bytes()[4], b'-');
    assert!(
        user_code.chars().filter(|c| *c != '-').all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c)),
        "{user_code}"
    );
    assert_eq!(answer["verification_uri"], idp.url("/device"));
    let complete = answer["verification_uri_complete"].as_str().ok_or("no complete URI")?;
    assert_eq!(complete, format!("{}?user_code={user_code}", idp.url("/device")));
    assert_eq!(answer["expires_in"], 600);
    assert_eq!(answer["interval"], 1);

    // Nobody has answered yet; polling again at once is too soon.
    assert_eq!(poll_error(&idp, &device).await?, (400, "authorization_pending".to_owned()));
    assert_eq!(poll_error(&idp, &device).await?, (400, "slow_down".to_owned()));

    // The complete URI prefills the code; the person may type it in lower case without the dash.
    let page = idp.client.get(complete).send().await?.text().await?;
    assert!(page.contains(&format!(r#"value="{user_code}""#)), "prefilled");
    assert!(page.contains(r#"data-endpoint="/device""#));
    let typed = user_code.replace('-', "").to_lowercase();
    let done = approve(&idp, &idp.url("/device"), &typed, "alice@example.com", &key).await?;
    assert!(done["message"].as_str().ok_or("no message")?.starts_with("Signed in."), "{done}");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let response = poll(&idp, &device).await?;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await?;
    let (_, access) = jwt_parts(tokens["access_token"].as_str().ok_or("no access token")?)?;
    assert_eq!(access["aud"], "postgres");
    assert_eq!(access["email"], "alice@example.com");
    assert_eq!(access["groups"], serde_json::json!(["dba", "dev"]));
    let (_, id) = jwt_parts(tokens["id_token"].as_str().ok_or("no id token")?)?;
    assert_eq!(id["aud"], CLIENT_ID);
    assert!(id.get("nonce").is_none());
    assert!(tokens["refresh_token"].is_string());

    // Single use.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(poll_error(&idp, &device).await?, (400, "invalid_grant".to_owned()));
    let stored = std::fs::read_to_string(data.join("device-codes.json"))?;
    assert!(
        !stored.contains(&device) && !stored.contains(&user_code) && !stored.contains(&typed.to_uppercase())
    );
    Ok(())
}

#[tokio::test]
async fn deny_on_the_page_is_access_denied_for_the_device() -> TestResult {
    let (_temp, data) = temp_data()?;
    enroll(&data, "alice@example.com", &["dba"])?;
    let idp = start(&data, 0)?;
    let answer = device_code(&idp).await?;
    let user_code = answer["user_code"].as_str().ok_or("no user_code")?;
    let device = answer["device_code"].as_str().ok_or("no device_code")?;

    let page = idp.client.get(idp.url("/device")).send().await?.text().await?;
    let request = request_id(&page)?;
    // A mistyped code denies nothing.
    let wrong = post_json(
        &idp,
        "/device/cancel",
        &serde_json::json!({ "request": request, "user_code": "BCDF-GHJ" }),
    )
    .await?;
    let (status, error, _) = refusal(wrong).await?;
    assert_eq!((status, error.as_str()), (400, "invalid_user_code"));
    let denied =
        post_json(&idp, "/device/cancel", &serde_json::json!({ "request": request, "user_code": user_code }))
            .await?;
    assert_eq!(denied.status(), 200);
    let denied: Value = denied.json().await?;
    assert!(denied["message"].as_str().ok_or("no message")?.starts_with("Denied."));

    assert_eq!(poll_error(&idp, device).await?, (400, "access_denied".to_owned()));
    Ok(())
}

#[tokio::test]
async fn a_device_code_expires_after_ten_minutes_on_the_idp_clock() -> TestResult {
    let (_temp, data) = temp_data()?;
    enroll(&data, "alice@example.com", &["dba"])?;
    let idp = start(&data, 0)?;
    let answer = device_code(&idp).await?;
    let user_code = answer["user_code"].as_str().ok_or("no user_code")?;
    let device = answer["device_code"].as_str().ok_or("no device_code")?;
    assert_eq!(poll_error(&idp, device).await?, (400, "authorization_pending".to_owned()));

    // A second server on the same data directory, its clock ten minutes ahead.
    let later = start(&data, 600)?;
    assert_eq!(poll_error(&later, device).await?, (400, "expired_token".to_owned()));
    let page = later.client.get(later.url("/device")).send().await?.text().await?;
    let request = request_id(&page)?;
    let challenge = post_json(
        &later,
        "/device/challenge",
        &serde_json::json!({ "request": request, "user_code": user_code, "username": "alice@example.com" }),
    )
    .await?;
    let (status, error, _) = refusal(challenge).await?;
    assert_eq!((status, error.as_str()), (400, "invalid_user_code"), "an expired code cannot be approved");
    Ok(())
}
