//! Graceful shutdown: stop accepting, let sessions finish within the grace, then close them.

use std::time::{Duration, Instant};

use tapgate_forward::Outcome;

use crate::support::*;

#[tokio::test]
async fn shutdown_stops_accepting_and_closes_sessions_after_the_grace() -> TestResult {
    let harness = Harness::start(Setup {
        configure: Box::new(|c| c.shutdown_grace = Duration::from_millis(400)),
        ..Setup::default()
    })
    .await;
    let (mut session, _) = harness.logged_in("app_rw").await;

    let started = Instant::now();
    harness.shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(tokio::net::TcpStream::connect(harness.addr).await.is_err(), "no longer accepting");
    // During the grace the session still works.
    let message = framed(b'd', b"still here");
    assert_eq!(session.echo(&message).await, message);

    let run = tokio::time::timeout(PATIENCE, harness.run).await??;
    assert!(run.is_ok());
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(400), "waited for the grace ({took:?})");
    assert!(took < Duration::from_secs(3), "then closed what was left ({took:?})");
    assert!(session.closed().await);
    let closed = harness.recorder.closed(1).await;
    assert_eq!(closed[0].1.outcome, Outcome::Ok);
    assert!(closed[0].1.error.clone().unwrap_or_default().contains("grace"));
    Ok(())
}

#[tokio::test]
async fn shutdown_returns_as_soon_as_the_last_session_ends() -> TestResult {
    let harness = Harness::start(Setup {
        configure: Box::new(|c| c.shutdown_grace = Duration::from_secs(30)),
        ..Setup::default()
    })
    .await;
    let (session, _) = harness.logged_in("app_rw").await;
    harness.shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    drop(session);
    tokio::time::timeout(PATIENCE, harness.run).await???;
    assert!(started.elapsed() < Duration::from_secs(5));
    Ok(())
}

#[tokio::test]
async fn a_login_waiting_for_sign_in_is_told_about_the_shutdown() -> TestResult {
    let harness = Harness::start(Setup {
        tokens: Tokens { delay: Duration::from_secs(3600), ..Tokens::valid() },
        configure: Box::new(|c| c.shutdown_grace = Duration::from_millis(200)),
        ..Setup::default()
    })
    .await;
    let mut client = harness.client().await;
    client.startup(&[("user", "app_rw")]).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    harness.shutdown.cancel();
    let (error, _) = client.error().await;
    assert_eq!(error.code, "57P01");
    tokio::time::timeout(PATIENCE, harness.run).await???;
    assert_eq!(harness.recorder.closed(1).await[0].1.outcome, Outcome::Aborted);
    Ok(())
}
