//! Discovery, JWKS and the JSON 404/405 answers (wire contract 1, 2, 5).

use serde_json::Value;

use crate::support::{TestIdp, TestResult, temp_data};

#[tokio::test]
async fn discovery_document_names_the_endpoints_and_grants() -> TestResult {
    let (_temp, data) = temp_data()?;
    let idp = TestIdp::start(&data, |_| {})?;
    let doc = idp.get_json("/.well-known/openid-configuration").await?;
    let issuer = idp.issuer.as_str();

    assert!(issuer.starts_with("https://localhost:") && !issuer.ends_with('/'));
    assert_eq!(doc["issuer"], issuer);
    assert_eq!(doc["authorization_endpoint"], format!("{issuer}/authorize"));
    assert_eq!(doc["token_endpoint"], format!("{issuer}/oauth/token"));
    assert_eq!(doc["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(doc["subject_types_supported"], serde_json::json!(["public"]));
    assert_eq!(doc["id_token_signing_alg_values_supported"], serde_json::json!(["ES256"]));
    let grants: Vec<&str> = doc["grant_types_supported"]
        .as_array()
        .ok_or("no grants")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(grants.contains(&"refresh_token"));
    assert!(grants.contains(&"urn:okta:params:oauth:grant-type:webauthn"));
    assert!(doc["scopes_supported"].is_array());
    assert!(doc["claims_supported"].as_array().ok_or("no claims")?.contains(&"groups".into()));

    // The issuer file matches, byte for byte (no newline to trip a client).
    assert_eq!(std::fs::read_to_string(data.join("issuer"))?, issuer);
    Ok(())
}

#[tokio::test]
async fn jwks_publishes_an_es256_key() -> TestResult {
    let (_temp, data) = temp_data()?;
    let idp = TestIdp::start(&data, |_| {})?;
    let jwks = idp.get_json("/.well-known/jwks.json").await?;
    let keys = jwks["keys"].as_array().ok_or("no keys")?;
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["alg"], "ES256");
    for member in ["x", "y", "kid"] {
        assert!(key[member].as_str().is_some_and(|v| !v.is_empty()), "{member}");
    }
    Ok(())
}

#[tokio::test]
async fn unknown_paths_and_methods_get_json_errors() -> TestResult {
    let (_temp, data) = temp_data()?;
    let idp = TestIdp::start(&data, |_| {})?;

    let missing = idp.client.get(idp.url("/nope")).send().await?;
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await?;
    assert_eq!(body["error"], "not_found");

    let wrong_method = idp.client.get(idp.url("/oauth/token")).send().await?;
    assert_eq!(wrong_method.status(), 405);
    let body: Value = wrong_method.json().await?;
    assert!(body["error"].is_string());

    // Without client_id and redirect_uri there is nowhere to redirect: an error page.
    let authorize = idp.client.get(idp.url("/authorize")).send().await?;
    assert_eq!(authorize.status(), 400);
    Ok(())
}
