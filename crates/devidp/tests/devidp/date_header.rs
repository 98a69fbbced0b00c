//! The `Date` header comes from the IdP clock, exactly once, over HTTP/2 and HTTP/1.1.

use std::time::{Duration, SystemTime};

use crate::support::{TestIdp, TestResult, enroll, https_client, jwt_parts, temp_data};

const OFFSET: i64 = 3 * 3600;

fn seconds_between(a: SystemTime, b: SystemTime) -> i64 {
    match a.duration_since(b) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

#[tokio::test]
async fn date_header_is_single_and_shifted_by_the_clock_offset() -> TestResult {
    let (_temp, data) = temp_data()?;
    let idp = TestIdp::start(&data, |o| o.clock_offset_secs = OFFSET)?;

    for (client, version) in [
        (https_client(&data, false)?, reqwest::Version::HTTP_2),
        (https_client(&data, true)?, reqwest::Version::HTTP_11),
    ] {
        for path in ["/.well-known/openid-configuration", "/no-such-path"] {
            let response = client.get(idp.url(path)).send().await?;
            assert_eq!(response.version(), version);
            let dates: Vec<_> = response.headers().get_all("date").iter().collect();
            assert_eq!(dates.len(), 1, "{version:?} {path}: {dates:?}");
            let date = httpdate::parse_http_date(dates[0].to_str()?)?;
            let skew = seconds_between(date, SystemTime::now());
            assert!((skew - OFFSET).abs() <= 5, "{version:?} {path}: skew {skew}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn clock_offset_shifts_token_times() -> TestResult {
    let (_temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba"])?;
    let idp = TestIdp::start(&data, |o| o.clock_offset_secs = -OFFSET)?;
    let tokens = idp.sign_in("alice@example.com", &key).await?;
    let (_, claims) = jwt_parts(tokens["access_token"].as_str().ok_or("no token")?)?;
    let iat = claims["iat"].as_i64().ok_or("no iat")?;
    let now =
        SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs() as i64;
    assert!((now - OFFSET - iat).abs() <= 5, "iat {iat}, now {now}");
    Ok(())
}
