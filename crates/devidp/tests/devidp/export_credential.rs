//! `export-credential`: the JSON a WebDriver virtual authenticator is given must hold the
//! enrolled key. Proven here by doing what that authenticator does (W3C WebAuthn 6.3.3,
//! authenticatorGetAssertion) with the exported PKCS#8 key and signing in through the page.

use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use crate::browser_sign_in::{REDIRECT_URI, VERIFIER, authorize_url, param, post_json, redeem, request_id};
use crate::support::{TestIdp, TestResult, enroll, jwt_parts, temp_data};

const BIN: &str = env!("CARGO_BIN_EXE_tapgate-devidp");

#[tokio::test]
async fn the_exported_private_key_signs_in_through_the_page() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key_file = enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    // A native sign-in first, so the IdP has seen a counter above zero.
    idp.sign_in("alice@example.com", &key_file).await?;

    let output = Command::new(BIN)
        .arg("export-credential")
        .arg("--data")
        .arg(&data)
        .arg("--soft-key")
        .arg(&key_file)
        .output()?;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let exported: Value = serde_json::from_slice(&output.stdout)?;
    let credentials = exported.as_array().ok_or("not an array")?;
    assert_eq!(credentials.len(), 1);
    let credential = &credentials[0];
    assert_eq!(credential["rpId"], "localhost");
    assert_eq!(credential["isResidentCredential"], false);
    let sign_count = credential["signCount"].as_u64().ok_or("no signCount")?;
    assert!(sign_count >= 1, "counter carried over: {sign_count}");
    let users: Value = serde_json::from_str(&std::fs::read_to_string(data.join("users.json"))?)?;
    let sub = uuid::Uuid::parse_str(users["users"][0]["sub"].as_str().ok_or("no sub")?)?;
    assert_eq!(credential["userHandle"], URL_SAFE_NO_PAD.encode(sub.as_bytes()));

    // Play the virtual authenticator with the exported key.
    let pkcs8 = URL_SAFE_NO_PAD.decode(credential["privateKey"].as_str().ok_or("no privateKey")?)?;
    let signing_key = SigningKey::from_pkcs8_der(&pkcs8)?;
    let url = authorize_url(&idp, &[])?;
    let page = idp.client.get(url.as_str()).send().await?.text().await?;
    let request = request_id(&page)?;
    let options: Value = post_json(
        &idp,
        "/authorize/challenge",
        &json!({ "request": request, "username": "alice@example.com" }),
    )
    .await?
    .json()
    .await?;
    let challenge = options["publicKey"]["challenge"].as_str().ok_or("no challenge")?;
    let client_data = serde_json::to_vec(
        &json!({ "type": "webauthn.get", "challenge": challenge, "origin": idp.issuer, "crossOrigin": false }),
    )?;
    let mut authenticator_data = Sha256::digest(b"localhost").to_vec();
    authenticator_data.push(0x05); // user present, user verified
    authenticator_data.extend_from_slice(&u32::try_from(sign_count + 1)?.to_be_bytes());
    let mut signed = authenticator_data.clone();
    signed.extend_from_slice(&Sha256::digest(&client_data));
    let signature: DerSignature = signing_key.sign(&signed);
    let assertion = json!({
        "id": credential["credentialId"],
        "rawId": credential["credentialId"],
        "type": "public-key",
        "response": {
            "clientDataJSON": URL_SAFE_NO_PAD.encode(&client_data),
            "authenticatorData": URL_SAFE_NO_PAD.encode(&authenticator_data),
            "signature": URL_SAFE_NO_PAD.encode(signature.as_bytes()),
            "userHandle": credential["userHandle"],
        },
        "extensions": {},
    });
    let done =
        post_json(&idp, "/authorize/assertion", &json!({ "request": request, "credential": assertion }))
            .await?;
    assert_eq!(done.status(), 200, "{}", done.text().await?);
    let done: Value = done.json().await?;
    let back = Url::parse(done["redirect_to"].as_str().ok_or("no redirect_to")?)?;
    let tokens: Value =
        redeem(&idp, &param(&back, "code").ok_or("no code")?, VERIFIER, REDIRECT_URI).await?.json().await?;
    let (_, claims) = jwt_parts(tokens["access_token"].as_str().ok_or("no access token")?)?;
    assert_eq!(claims["email"], "alice@example.com");
    Ok(())
}

#[test]
fn a_key_not_enrolled_here_is_refused_in_words() -> TestResult {
    let (_temp, data) = temp_data()?;
    let (_other_temp, other_data) = temp_data()?;
    let key_file = enroll(&other_data, "alice@example.com", &["dba"])?;
    std::fs::create_dir_all(&data)?;
    let output = Command::new(BIN)
        .arg("export-credential")
        .arg("--data")
        .arg(&data)
        .arg("--soft-key")
        .arg(&key_file)
        .output()?;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no credential of") && stderr.contains("is enrolled in"), "{stderr}");
    assert!(output.stdout.is_empty());
    Ok(())
}
