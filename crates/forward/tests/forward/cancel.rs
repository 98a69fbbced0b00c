//! CancelRequest forwarding: the right key reaches the server over TLS; any other is dropped.

use std::time::Duration;

use bytes::BytesMut;
use tapgate_forward::Outcome;
use tapgate_pgwire::{CancelKey, CancelRequest};

use crate::support::*;

fn cancel_packet(process_id: i32, key: &[u8]) -> BytesMut {
    let request = CancelRequest { process_id, secret_key: CancelKey::new(key.to_vec()).expect("key") };
    let mut buf = BytesMut::new();
    tapgate_pgwire::frontend::cancel_request(&request, &mut buf).expect("encode");
    buf
}

#[tokio::test]
async fn a_cancel_with_the_right_key_reaches_the_server_over_tls() -> TestResult {
    let harness = Harness::start(Setup::default()).await;
    let (_session, _) = harness.logged_in("app_ro").await;
    let (pid, key) = harness.upstream.log().keys[0];

    let mut canceller = harness.client().await;
    canceller.ssl_request().await; // libpq 17 does this for cancels too
    canceller.send(&cancel_packet(pid, &key)).await;
    assert!(canceller.closed().await);

    let closed = harness.recorder.closed(1).await;
    assert_eq!(closed[0].1.outcome, Outcome::Cancelled);
    assert_eq!(closed[0].0.role.as_deref(), Some("app_ro"));
    let log = harness.upstream.log();
    assert_eq!(
        log.cancels.len(),
        1,
        "received once, inside TLS (the scripted server reads nothing in plaintext)"
    );
    assert_eq!(log.cancels[0].process_id, pid);
    assert_eq!(log.cancels[0].secret_key.as_bytes(), key);
    assert_eq!(log.tls_sessions, 2);
    Ok(())
}

#[tokio::test]
async fn a_cancel_with_a_wrong_key_or_for_a_closed_session_goes_nowhere() -> TestResult {
    let harness = Harness::start(Setup::default()).await;
    let (session, _) = harness.logged_in("app_rw").await;
    let (pid, key) = harness.upstream.log().keys[0];

    let mut wrong_key = key;
    wrong_key[0] ^= 0xff;
    for packet in [
        cancel_packet(pid, &wrong_key),
        cancel_packet(pid + 1, &key),
        cancel_packet(pid, &[key, key].concat()),
    ] {
        let mut canceller = harness.client().await;
        canceller.send(&packet).await;
        assert!(canceller.closed().await);
    }
    drop(session);
    harness.recorder.closed(1).await;
    let mut late = harness.client().await;
    late.send(&cancel_packet(pid, &key)).await;
    assert!(late.closed().await);

    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = harness.upstream.log();
    assert!(log.cancels.is_empty(), "no cancel reached the server");
    assert_eq!(log.tcp_connections, 1, "only the session's own connection");
    assert_eq!(harness.recorder.opened_count(), 1, "dropped cancels are not recorded");
    Ok(())
}

#[tokio::test]
async fn each_session_is_cancelled_by_its_own_key_only() -> TestResult {
    let harness = Harness::start(Setup::default()).await;
    let (_a, _) = harness.logged_in("app_rw").await;
    let (_b, _) = harness.logged_in("app_rw").await;
    let keys = harness.upstream.log().keys.clone();
    assert_ne!(keys[0], keys[1]);

    let mut canceller = harness.client().await;
    canceller.send(&cancel_packet(keys[1].0, &keys[1].1)).await;
    assert!(canceller.closed().await);
    harness.recorder.closed(1).await;
    let log = harness.upstream.log();
    assert_eq!(log.cancels.len(), 1);
    assert_eq!(log.cancels[0].process_id, keys[1].0);
    Ok(())
}
