//! Refusals: the client hears why, and the token never reaches a server that should not get it.

use std::time::Duration;

use tapgate_forward::{Outcome, TokenError};

use crate::support::*;

#[tokio::test]
async fn a_role_outside_roles_gets_the_allowed_list_and_no_server_contact() -> TestResult {
    let harness = Harness::start(Setup::default()).await;
    let mut client = harness.client().await;
    client.ssl_request().await;
    client.startup(&[("user", "postgres"), ("database", "app")]).await;
    let (error, _) = client.error().await;
    assert_eq!(error.code, "28000");
    assert_eq!(
        error.message,
        "Tapgate: role \"postgres\" is not allowed through Tapgate for prod; allowed roles: app_rw, app_ro"
    );
    assert_eq!(error.hint.as_deref(), Some("connect with one of these user names: app_rw, app_ro"));
    assert!(client.closed().await);
    assert_eq!(harness.upstream.log().tcp_connections, 0);
    assert_eq!(
        harness.tokens.calls.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no sign-in for a refused role"
    );
    let closed = harness.recorder.closed(1).await;
    assert_eq!(closed[0].1.outcome, Outcome::Refused);
    Ok(())
}

async fn refused_without_token(auth: ServerAuth) -> (tapgate_pgwire::ErrorReport, Harness) {
    let harness =
        Harness::start(Setup { script: Script { auth, ..Script::default() }, ..Setup::default() }).await;
    let mut client = harness.client().await;
    client.startup(&[("user", "app_rw")]).await;
    let (error, _) = client.error().await;
    assert!(client.closed().await);
    // Give the scripted server its chance to record anything that might have been sent.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(harness.upstream.log().startups.len(), 1);
    assert!(harness.upstream.log().password_messages.is_empty(), "the server never got a PasswordMessage");
    (error, harness)
}

#[tokio::test]
async fn md5_is_explained_and_gets_no_password() -> TestResult {
    let (error, harness) = refused_without_token(ServerAuth::Md5).await;
    assert_eq!(error.code, "28000");
    assert_eq!(
        error.message,
        "Tapgate: the server asked for MD5 password authentication; Tapgate sends tokens only to servers \
         that accept them as a password (auth = \"password\") or via OAuth (auth = \"oauthbearer\")"
    );
    assert!(error.hint.unwrap_or_default().contains("pg_hba.conf"));
    assert_eq!(harness.recorder.closed(1).await[0].1.outcome, Outcome::Refused);
    Ok(())
}

#[tokio::test]
async fn scram_is_explained_and_gets_no_password() -> TestResult {
    let (error, _harness) = refused_without_token(ServerAuth::Scram).await;
    assert!(
        error
            .message
            .starts_with("Tapgate: the server asked for SCRAM password authentication (SCRAM-SHA-256)")
    );
    Ok(())
}

#[tokio::test]
async fn oauth_offered_to_a_password_database_is_explained() -> TestResult {
    let (error, _harness) = refused_without_token(ServerAuth::OAuth { refuse: false }).await;
    assert!(error.message.contains("auth = \"password\""), "{}", error.message);
    assert!(error.hint.unwrap_or_default().contains("auth = \"oauthbearer\""));
    Ok(())
}

#[tokio::test]
async fn a_token_source_error_reaches_the_client_verbatim() -> TestResult {
    let message = "Tapgate: sign-in needed for corp: touch your security key in the Tapgate window or run `tapgate login corp`";
    let harness = Harness::start(Setup {
        tokens: Tokens { result: Err(TokenError::new(message)), ..Tokens::valid() },
        ..Setup::default()
    })
    .await;
    let mut client = harness.client().await;
    client.startup(&[("user", "app_rw")]).await;
    let (error, _) = client.error().await;
    assert_eq!(error.message, message);
    assert_eq!(error.code, "28000");
    assert_eq!(harness.upstream.log().tcp_connections, 0);
    let closed = harness.recorder.closed(1).await;
    assert_eq!(closed[0].1.outcome, Outcome::SignInFailed);
    assert_eq!(closed[0].1.error.as_deref(), Some(message));
    Ok(())
}

#[tokio::test]
async fn a_sign_in_that_takes_too_long_ends_with_an_error_not_a_hang() -> TestResult {
    let harness = Harness::start(Setup {
        tokens: Tokens { delay: Duration::from_secs(3600), ..Tokens::valid() },
        configure: Box::new(|c| c.token_wait = Duration::from_millis(300)),
        ..Setup::default()
    })
    .await;
    let mut client = harness.client().await;
    client.startup(&[("user", "app_rw")]).await;
    let (error, _) = client.error().await;
    assert!(error.message.starts_with("Tapgate: no sign-in for prod within"), "{}", error.message);
    assert_eq!(harness.recorder.closed(1).await[0].1.outcome, Outcome::SignInFailed);
    Ok(())
}

#[tokio::test]
async fn a_client_that_leaves_while_waiting_for_sign_in_is_recorded_as_aborted() -> TestResult {
    let harness = Harness::start(Setup {
        tokens: Tokens { delay: Duration::from_secs(3600), ..Tokens::valid() },
        ..Setup::default()
    })
    .await;
    let mut client = harness.client().await;
    client.startup(&[("user", "app_rw")]).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(client);
    let closed = harness.recorder.closed(1).await;
    assert_eq!(closed[0].1.outcome, Outcome::Aborted);
    assert_eq!(harness.gauge.open(), 0);
    Ok(())
}

#[tokio::test]
async fn a_server_without_tls_never_gets_the_token() -> TestResult {
    let harness = Harness::start(Setup {
        script: Script { ssl_answer: b'N', ..Script::default() },
        ..Setup::default()
    })
    .await;
    let mut client = harness.client().await;
    client.startup(&[("user", "app_rw")]).await;
    let (error, _) = client.error().await;
    assert_eq!(error.code, "08001");
    assert_eq!(
        error.message,
        format!(
            "Tapgate: the server at 127.0.0.1:{} does not offer TLS; Tapgate never sends a token without it",
            harness.upstream.port
        )
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    {
        let log = harness.upstream.log();
        assert_eq!(log.tcp_connections, 1);
        assert!(log.startups.is_empty() && log.password_messages.is_empty(), "nothing after 'N'");
    }
    assert_eq!(harness.recorder.closed(1).await[0].1.outcome, Outcome::TlsError);
    Ok(())
}

#[tokio::test]
async fn an_unreachable_server_is_reported() -> TestResult {
    // A port nobody listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let harness =
        Harness::start(Setup { configure: Box::new(move |c| c.upstream_port = port), ..Setup::default() })
            .await;
    let mut client = harness.client().await;
    client.startup(&[("user", "app_rw")]).await;
    let (error, _) = client.error().await;
    assert_eq!(error.code, "08001");
    assert!(
        error.message.starts_with(&format!("Tapgate: cannot reach the server at 127.0.0.1:{port}")),
        "{}",
        error.message
    );
    assert_eq!(harness.recorder.closed(1).await[0].1.outcome, Outcome::UpstreamUnreachable);
    Ok(())
}
