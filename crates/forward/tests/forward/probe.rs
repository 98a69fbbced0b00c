//! `probe` (for `tapgate doctor`): TCP, TLS and the server's first authentication request,
//! against the scripted server; no password message ever reaches it.

use std::time::Duration;

use tapgate_forward::{ProbeStep, probe};
use tapgate_pgwire::ServerAuthRequest;

use crate::support::*;

const WAIT: Duration = Duration::from_secs(5);

/// The scripted server with `auth`, and a config for it (trusting its CA unless `trust_ca` is
/// false); the folder holding the CA file lives as long as the returned guard.
async fn server(
    auth: ServerAuth,
    trust_ca: bool,
) -> (Upstream, tapgate_forward::ForwarderConfig, tempfile::TempDir) {
    let pki = TestPki::new(&["localhost", "127.0.0.1"]);
    let upstream = Upstream::start(Script { auth, ..Script::default() }, pki.server_config(false)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).expect("write ca");
    let config = base_config(upstream.port, trust_ca.then_some(ca_file));
    (upstream, config, dir)
}

#[tokio::test]
async fn a_password_server_is_asked_and_never_answered() -> TestResult {
    let (upstream, config, _dir) = server(ServerAuth::Cleartext, true).await;
    let found = probe(&config, "app_rw", WAIT).await.map_err(|f| f.error)?;
    assert_eq!(found.auth, ServerAuthRequest::Password);
    assert!(found.tls_version.starts_with("TLS 1."), "{}", found.tls_version);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = upstream.log();
    assert_eq!(log.tls_sessions, 1);
    assert_eq!(
        log.startups[0],
        [
            ("user".to_owned(), "app_rw".to_owned()),
            ("database".to_owned(), "app".to_owned()),
            ("application_name".to_owned(), "tapgate doctor".to_owned())
        ]
    );
    assert!(log.password_messages.is_empty(), "nothing answered the request");
    Ok(())
}

#[tokio::test]
async fn sasl_mechanisms_are_reported() -> TestResult {
    let (_upstream, config, _dir) = server(ServerAuth::OAuth { refuse: false }, true).await;
    assert!(probe(&config, "app_rw", WAIT).await.map_err(|f| f.error)?.auth.offers_oauth());
    let (_upstream, config, _dir) = server(ServerAuth::Scram, true).await;
    assert_eq!(
        probe(&config, "app_rw", WAIT).await.map_err(|f| f.error)?.auth,
        ServerAuthRequest::Sasl { mechanisms: vec!["SCRAM-SHA-256".into()] }
    );
    Ok(())
}

#[tokio::test]
async fn an_untrusted_certificate_stops_at_tls_with_the_forwarders_words() -> TestResult {
    let (upstream, config, _dir) = server(ServerAuth::Cleartext, false).await;
    let failure = probe(&config, "app_rw", WAIT).await.expect_err("untrusted");
    assert_eq!(failure.step, ProbeStep::Tls);
    assert!(failure.error.to_string().contains("not signed by a CA Tapgate trusts"), "{}", failure.error);
    assert!(upstream.log().startups.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_closed_port_stops_at_reach() -> TestResult {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    drop(listener);
    let failure = probe(&base_config(port, None), "app_rw", WAIT).await.expect_err("closed");
    assert_eq!(failure.step, ProbeStep::Reach);
    assert!(failure.error.to_string().starts_with(&format!("cannot reach the server at 127.0.0.1:{port}: ")));
    Ok(())
}
