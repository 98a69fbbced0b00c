//! State survives a restart: same CA, same signing keys, same users, refresh tokens valid.

use std::time::Duration;

use crate::support::{TestIdp, TestResult, enroll, temp_data};

#[tokio::test]
async fn a_restarted_idp_keeps_its_ca_keys_users_and_sessions() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    let tokens = idp.sign_in("alice@example.com", &key).await?;
    let kids = idp.jwks_kids().await?;
    let ca = std::fs::read(data.join("ca.pem"))?;
    let old_client = idp.client.clone();
    let listen = idp.listen;
    let issuer = idp.issuer.clone();
    idp.stop().await?;

    let idp = TestIdp::start(&data, |o| o.listen = listen)?;
    assert_eq!(idp.issuer, issuer);
    assert_eq!(std::fs::read(data.join("ca.pem"))?, ca);
    // A client configured before the restart still trusts the server.
    let response = old_client
        .get(idp.url("/.well-known/openid-configuration"))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    // A pooled connection to the old process may be dead; one retry with a new connection.
    let response = match response {
        Ok(response) => response,
        Err(_) => old_client.get(idp.url("/.well-known/openid-configuration")).send().await?,
    };
    assert_eq!(response.status(), 200);

    assert_eq!(idp.jwks_kids().await?, kids);
    idp.sign_in("alice@example.com", &key).await?;
    let refresh = tokens["refresh_token"].as_str().ok_or("no refresh_token")?;
    let response = idp
        .token(&serde_json::json!({
            "grant_type": "refresh_token",
            "client_id": crate::support::CLIENT_ID,
            "refresh_token": refresh,
        }))
        .await?;
    assert_eq!(response.status(), 200);
    Ok(())
}
