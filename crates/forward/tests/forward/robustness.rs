//! Bad clients and too many clients: each gets an error or is closed; the listener keeps serving.

use std::time::Duration;

use tapgate_forward::Outcome;
use tokio::io::AsyncWriteExt;

use crate::support::*;

async fn still_serves(harness: &Harness) {
    let (_client, welcome) = harness.logged_in("app_rw").await;
    assert!(!welcome.is_empty());
}

#[tokio::test]
async fn garbage_startup_gets_a_protocol_error_and_the_listener_keeps_serving() -> TestResult {
    let harness = Harness::start(Setup::default()).await;
    let mut client = harness.client().await;
    // A plausible length, then a version that is not 3.x.
    client.send(b"\0\0\0\x10\x00\x02\x00\x00user\0x\0\0").await;
    let (error, _) = client.error().await;
    assert_eq!(error.code, "08P01");
    assert_eq!(
        error.message,
        "Tapgate: invalid startup packet from the client: unsupported frontend protocol 2.0: Tapgate speaks protocol 3"
    );
    assert!(client.closed().await);
    still_serves(&harness).await;
    let closed = harness.recorder.closed(1).await;
    assert_eq!(closed[0].1.outcome, Outcome::ProtocolError);
    Ok(())
}

#[tokio::test]
async fn an_oversized_startup_is_refused_at_once() -> TestResult {
    let harness = Harness::start(Setup::default()).await;
    let mut client = harness.client().await;
    client.send(&10_001_i32.to_be_bytes()).await;
    let (error, _) = client.error().await;
    assert!(error.message.contains("above the limit of 10000 bytes"), "{}", error.message);
    still_serves(&harness).await;
    Ok(())
}

#[tokio::test]
async fn malformed_parameters_are_refused() -> TestResult {
    let harness = Harness::start(Setup::default()).await;
    for bad in [
        &b"\0\0\0\x12\0\x03\0\0user\0alice\0x"[..],
        b"\0\0\0\x0d\0\x03\0\0db\0\0\0",
        b"\0\0\0\x0a\x04\xd2\x16\x2fzz",
    ] {
        let mut client = harness.client().await;
        client.send(bad).await;
        let (error, _) = client.error().await;
        assert_eq!(error.code, "08P01", "{bad:?}: {}", error.message);
    }
    still_serves(&harness).await;
    Ok(())
}

#[tokio::test]
async fn a_truncated_startup_is_closed_and_recorded() -> TestResult {
    let harness = Harness::start(Setup::default()).await;
    let mut client = harness.client().await;
    client.send(b"\0\0\0\x20\0\x03\0\0user\0").await;
    client.stream.shutdown().await?;
    assert!(client.closed().await);
    still_serves(&harness).await;
    let closed = harness.recorder.closed(1).await;
    assert_eq!(closed[0].1.outcome, Outcome::ProtocolError);
    Ok(())
}

#[tokio::test]
async fn a_silent_client_is_dropped_after_the_startup_timeout() -> TestResult {
    let harness = Harness::start(Setup {
        configure: Box::new(|c| c.startup_timeout = Duration::from_millis(300)),
        ..Setup::default()
    })
    .await;
    let mut client = harness.client().await;
    assert!(client.closed().await);
    let closed = harness.recorder.closed(1).await;
    assert_eq!(closed[0].1.outcome, Outcome::ProtocolError);
    assert!(closed[0].1.error.clone().unwrap_or_default().contains("no startup packet"));
    Ok(())
}

#[tokio::test]
async fn a_client_that_insists_on_tls_is_told_why_in_the_history() -> TestResult {
    let harness = Harness::start(Setup::default()).await;
    let mut client = harness.client().await;
    client.ssl_request().await;
    drop(client); // what libpq does with sslmode=require after 'N'
    let closed = harness.recorder.closed(1).await;
    assert_eq!(closed[0].1.outcome, Outcome::ProtocolError);
    assert!(closed[0].1.error.clone().unwrap_or_default().contains("sslmode to disable or prefer"));
    Ok(())
}

#[tokio::test]
async fn a_direct_tls_client_is_closed_without_plaintext_noise() -> TestResult {
    let harness = Harness::start(Setup::default()).await;
    let mut client = harness.client().await;
    client.send(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]).await;
    let mut rest = Vec::new();
    tokio::time::timeout(PATIENCE, tokio::io::AsyncReadExt::read_to_end(&mut client.stream, &mut rest))
        .await??;
    assert!(rest.is_empty(), "a TLS client must not get a plaintext ErrorResponse");
    still_serves(&harness).await;
    Ok(())
}

#[tokio::test]
async fn a_port_probe_is_not_recorded() -> TestResult {
    let harness = Harness::start(Setup::default()).await;
    drop(harness.client().await);
    still_serves(&harness).await;
    assert_eq!(harness.recorder.opened_count(), 1, "only the real session");
    Ok(())
}

#[tokio::test]
async fn past_the_limit_a_client_gets_53300() -> TestResult {
    let harness =
        Harness::start(Setup { configure: Box::new(|c| c.max_connections = 2), ..Setup::default() }).await;
    let (_first, _) = harness.logged_in("app_rw").await;
    let (_second, _) = harness.logged_in("app_ro").await;
    assert_eq!(harness.gauge.open(), 2);

    let mut third = harness.client().await;
    third.ssl_request().await;
    third.startup(&[("user", "app_rw")]).await;
    let (error, _) = third.error().await;
    assert_eq!(error.code, "53300");
    assert_eq!(error.message, "too many connections through Tapgate for prod (limit 2)");
    let closed = harness.recorder.closed(1).await;
    assert_eq!(closed[0].1.outcome, Outcome::OverLimit);

    // A slot frees up when a session ends.
    drop(_first);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while harness.gauge.open() > 1 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    still_serves(&harness).await;
    Ok(())
}

#[tokio::test]
async fn many_concurrent_sessions_all_log_in() -> TestResult {
    let harness = Harness::start(Setup::default()).await;
    let mut clients = Vec::new();
    for _ in 0..50 {
        clients.push(harness.client().await);
    }
    for client in &mut clients {
        client.startup(&[("user", "app_rw")]).await;
    }
    for client in &mut clients {
        assert!(!client.until_ready().await.is_empty());
    }
    assert_eq!(harness.gauge.open(), 50);
    Ok(())
}
