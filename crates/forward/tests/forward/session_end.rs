//! Sessions end when access ends: at the token's expiry plus the grace (a NOTICE a minute
//! before, then a FATAL), not while a renewed sign-in is in hand, and at once when the
//! forwarder is told to close them (a sign-out). Time is a manual clock the test moves.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tapgate_clock::{Clock, ManualClock, SharedClock};
use tapgate_forward::{Outcome, SessionLimit};

use crate::support::*;

/// A harness whose clock is `clock` and whose token expires a minute from its start.
async fn expiring_session(clock: Arc<ManualClock>, grace: Duration) -> (Harness, SystemTime) {
    let expires_at = clock.now() + Duration::from_secs(60);
    let harness = Harness::start(Setup {
        tokens: Tokens::expiring(expires_at),
        configure: Box::new(move |c| {
            c.clock = clock as SharedClock;
            c.session_limit = SessionLimit::Token { grace };
        }),
        ..Setup::default()
    })
    .await;
    (harness, expires_at)
}

#[tokio::test]
async fn a_session_gets_a_notice_then_is_closed_after_the_grace() -> TestResult {
    let clock = ManualClock::starting_now();
    let (harness, _) = expiring_session(clock.clone(), Duration::from_secs(120)).await;
    let (mut session, _) = harness.logged_in("app_rw").await;
    let message = framed(b'd', b"before the end");
    assert_eq!(session.echo(&message).await, message);

    // Expiry + grace - 1 minute: the notice.
    clock.advance(Duration::from_secs(60 + 120 - 60));
    let notice = session.next().await.expect("a notice");
    assert_eq!(notice.tag(), b'N', "a NoticeResponse");
    let notice = notice.report().expect("readable");
    assert!(notice.message.contains("run out") && notice.message.contains(IDENTITY), "{notice:?}");
    // Still usable meanwhile.
    assert_eq!(session.echo(&message).await, message);

    clock.advance(Duration::from_secs(61));
    let (fatal, _) = session.error().await;
    assert_eq!(fatal.code, "57P01", "{fatal:?}");
    assert!(fatal.message.contains("ran out"), "{fatal:?}");
    assert!(session.closed().await, "the forwarder closed the connection");
    let closed = harness.recorder.closed(1).await;
    assert_eq!(closed[0].1.outcome, Outcome::Ok);
    assert!(closed[0].1.error.clone().unwrap_or_default().contains("ran out"), "{:?}", closed[0].1);
    Ok(())
}

#[tokio::test]
async fn a_renewed_sign_in_lets_the_session_carry_on() -> TestResult {
    let clock = ManualClock::starting_now();
    let (harness, expires_at) = expiring_session(clock.clone(), Duration::from_secs(120)).await;
    *harness.tokens.renewed.lock().expect("renewed") = Some(expires_at + Duration::from_secs(3600));
    let (mut session, _) = harness.logged_in("app_rw").await;

    // Well past the first token's end: no notice, no close; the session still echoes.
    clock.advance(Duration::from_secs(60 + 120 + 60));
    let message = framed(b'd', b"still mine");
    harness.tokens.wait_for_renewal_checks(1).await;
    assert_eq!(session.echo(&message).await, message, "nothing but the echo came back");
    assert_eq!(harness.gauge.open(), 1);

    // The renewed sign-in runs out too, with no further renewal: now the session ends.
    *harness.tokens.renewed.lock().expect("renewed") = None;
    clock.advance(Duration::from_secs(3600));
    let (fatal, notices) = session.error().await;
    assert_eq!(fatal.code, "57P01", "{fatal:?}");
    assert_eq!(notices.len(), 1, "the notice came first: {notices:?}");
    Ok(())
}

#[tokio::test]
async fn session_limit_none_keeps_sessions_open() -> TestResult {
    let clock = ManualClock::starting_now();
    let expires_at = clock.now() + Duration::from_secs(60);
    let harness = Harness::start(Setup {
        tokens: Tokens::expiring(expires_at),
        configure: Box::new({
            let clock = clock.clone();
            move |c| {
                c.clock = clock as SharedClock;
                c.session_limit = SessionLimit::None;
            }
        }),
        ..Setup::default()
    })
    .await;
    let (mut session, _) = harness.logged_in("app_rw").await;
    clock.advance(Duration::from_secs(24 * 3600));
    // No watch runs at all under `none`: nobody even asks whether the sign-in was renewed.
    let message = framed(b'd', b"no limit");
    assert_eq!(session.echo(&message).await, message);
    assert_eq!(harness.tokens.renewal_checks.load(std::sync::atomic::Ordering::SeqCst), 0);
    Ok(())
}

#[tokio::test]
async fn close_now_ends_sessions_at_once_and_says_why() -> TestResult {
    let harness = Harness::start(Setup {
        configure: Box::new(|c| c.shutdown_grace = Duration::from_secs(30)),
        ..Setup::default()
    })
    .await;
    let (mut session, _) = harness.logged_in("app_rw").await;
    harness.stop.close_now("closed this session: you signed out of corp");
    let (fatal, _) = session.error().await;
    assert!(fatal.message.contains("signed out of corp"), "{fatal:?}");
    assert!(session.closed().await);
    // No 30-second grace: the forwarder is done.
    tokio::time::timeout(PATIENCE, harness.run).await???;
    let closed = harness.recorder.closed(1).await;
    assert!(closed[0].1.error.clone().unwrap_or_default().contains("signed out of corp"));
    Ok(())
}

#[tokio::test]
async fn the_unix_socket_serves_the_person_and_is_removed_at_shutdown() -> TestResult {
    let folder = tempfile::tempdir()?;
    let socket_dir = folder.path().join("run");
    let harness = Harness::start(Setup {
        configure: Box::new({
            let socket_dir = socket_dir.clone();
            move |c| c.socket_dir = Some(socket_dir)
        }),
        ..Setup::default()
    })
    .await;
    let path = harness.socket.clone().expect("a socket");
    assert_eq!(path, socket_dir.join(format!(".s.PGSQL.{}", harness.addr.port())));

    let mut client = Client::connect_unix(&path).await;
    client.startup(&[("user", "app_rw"), ("database", "app")]).await;
    client.until_ready().await;
    let message = framed(b'd', b"over the socket");
    assert_eq!(client.echo(&message).await, message);
    drop(client);
    let closed = harness.recorder.closed(1).await;
    assert_eq!(closed[0].0.peer, tapgate_forward::ClientAddr::Unix);
    assert_eq!(closed[0].1.outcome, Outcome::Ok);

    harness.shutdown.cancel();
    tokio::time::timeout(PATIENCE, harness.run).await???;
    assert!(!path.exists(), "the socket file went with the forwarder");
    Ok(())
}
