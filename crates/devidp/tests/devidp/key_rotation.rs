//! `rotate-key` while the server runs: both keys published, new tokens use the new one.

use std::time::Duration;

use crate::support::{TestIdp, TestResult, enroll, jwt_parts, temp_data};

fn kid_of(tokens: &serde_json::Value) -> TestResult<String> {
    let (header, _) = jwt_parts(tokens["access_token"].as_str().ok_or("no token")?)?;
    Ok(header["kid"].as_str().ok_or("no kid")?.to_owned())
}

#[tokio::test]
async fn rotated_key_signs_new_tokens_and_old_key_stays_published() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |_| {})?;
    let before = idp.sign_in("alice@example.com", &key).await?;
    let old_kid = kid_of(&before)?;
    assert_eq!(idp.jwks_kids().await?, vec![old_kid.clone()]);

    let dir = tapgate_devidp::DataDir::existing(&data)?;
    let rotated = tapgate_devidp::rotate_key(&dir)?;
    assert_eq!(rotated.retired_kid.as_deref(), Some(old_kid.as_str()));

    let kids = idp.jwks_kids().await?;
    assert_eq!(kids, vec![rotated.new_kid.clone(), old_kid.clone()]);
    let after = idp.sign_in("alice@example.com", &key).await?;
    assert_eq!(kid_of(&after)?, rotated.new_kid);
    Ok(())
}

#[tokio::test]
async fn a_retired_key_drops_out_once_its_tokens_have_expired() -> TestResult {
    let (_temp, data) = temp_data()?;
    let idp = TestIdp::start(&data, |o| o.token_ttl = Duration::from_secs(1))?;
    let old_kid = idp.jwks_kids().await?;
    let dir = tapgate_devidp::DataDir::existing(&data)?;
    let rotated = tapgate_devidp::rotate_key(&dir)?;
    assert_eq!(idp.jwks_kids().await?.len(), 2);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let kids = idp.jwks_kids().await?;
    assert_eq!(kids, vec![rotated.new_kid]);
    assert!(!kids.contains(&old_kid[0]));
    Ok(())
}
