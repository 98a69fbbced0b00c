//! The `tapgate-devidp` binary: issuer on the first stdout line, clean exit on SIGTERM,
//! readable refusals, enroll and users.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::support::{CLIENT_ID, TestResult, WEBAUTHN_GRANT, enroll, https_client, refusal, sign, temp_data};

const BIN: &str = env!("CARGO_BIN_EXE_tapgate-devidp");

#[tokio::test]
async fn serve_prints_the_issuer_first_and_stops_cleanly_on_sigterm() -> TestResult {
    let (_temp, data) = temp_data()?;
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut first_line = String::new();
    BufReader::new(stdout).read_line(&mut first_line)?;
    let issuer = first_line.trim_end();
    assert!(issuer.starts_with("https://localhost:"), "{first_line:?}");
    assert_ne!(issuer, "https://localhost:0");

    let client = https_client(&data, false)?;
    let doc: serde_json::Value =
        client.get(format!("{issuer}/.well-known/openid-configuration")).send().await?.json().await?;
    assert_eq!(doc["issuer"], issuer);
    drop(client);

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait()).await??;
    assert!(exit.success(), "exit status {exit:?}");
    Ok(())
}

#[test]
fn a_non_loopback_address_is_refused() -> TestResult {
    let (_temp, data) = temp_data()?;
    let output =
        Command::new(BIN).args(["serve", "--listen", "0.0.0.0:8443", "--data"]).arg(&data).output()?;
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr)?;
    assert!(stderr.contains("refusing to listen on 0.0.0.0:8443"), "{stderr}");
    Ok(())
}

#[test]
fn a_port_in_use_is_reported_plainly() -> TestResult {
    let (_temp, data) = temp_data()?;
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = taken.local_addr()?;
    let output =
        Command::new(BIN).args(["serve", "--listen", &addr.to_string(), "--data"]).arg(&data).output()?;
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr)?;
    assert!(stderr.contains(&format!("cannot listen on {addr}: address in use")), "{stderr}");
    Ok(())
}

#[test]
fn a_data_dir_that_cannot_be_created_is_reported() -> TestResult {
    let temp = tempfile::tempdir()?;
    let file = temp.path().join("plain-file");
    std::fs::write(&file, "x")?;
    let output = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(file.join("data"))
        .output()?;
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr)?;
    assert!(stderr.contains("cannot use data directory"), "{stderr}");
    Ok(())
}

#[test]
fn enroll_and_users_print_summaries_without_secrets() -> TestResult {
    let (temp, data) = temp_data()?;
    let key = temp.path().join("bob.key");
    let output = Command::new(BIN)
        .args(["enroll", "--user", "bob@example.com", "--groups", "dev,ops", "--data"])
        .arg(&data)
        .arg("--soft-key")
        .arg(&key)
        .output()?;
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout)?;
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("bob@example.com"), "{stdout}");
    assert!(stdout.contains("dev,ops"), "{stdout}");
    assert!(stdout.contains(&key.display().to_string()), "{stdout}");
    assert!(key.exists());

    let output = Command::new(BIN).arg("users").arg("--data").arg(&data).output()?;
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout)?;
    assert!(stdout.contains("bob@example.com"), "{stdout}");
    assert!(stdout.contains("groups=dev,ops"), "{stdout}");
    assert!(stdout.contains("1 key"), "{stdout}");

    let output = Command::new(BIN).arg("rotate-key").arg("--data").arg(&data).output()?;
    assert!(output.status.success(), "{output:?}");
    Ok(())
}

#[test]
fn enroll_needs_a_key_choice() -> TestResult {
    let (_temp, data) = temp_data()?;
    let output =
        Command::new(BIN).args(["enroll", "--user", "bob@example.com", "--data"]).arg(&data).output()?;
    assert!(!output.status.success());
    Ok(())
}

#[tokio::test]
async fn the_log_has_one_line_per_token_and_no_token_in_it() -> TestResult {
    let (temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba"])?;
    let log_path = temp.path().join("stderr.log");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path)?)
        .spawn()?;
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut first_line)?;
    let issuer = first_line.trim_end().to_owned();
    let client = https_client(&data, false)?;

    let challenge: Value = client
        .post(format!("{issuer}/passkey/challenge"))
        .json(&json!({ "client_id": CLIENT_ID, "username": "alice@example.com" }))
        .send()
        .await?
        .json()
        .await?;
    let assertion = sign(&key, &issuer, &challenge["authn_params_public_key"])?;
    let grant = json!({
        "grant_type": WEBAUTHN_GRANT,
        "client_id": CLIENT_ID,
        "auth_session": challenge["auth_session"],
        "scope": "openid",
        "authn_response": assertion,
    });
    let tokens: Value =
        client.post(format!("{issuer}/oauth/token")).json(&grant).send().await?.json().await?;
    // The same auth_session again: refused, and logged as such.
    let replay = client.post(format!("{issuer}/oauth/token")).json(&grant).send().await?;
    assert_eq!(refusal(replay).await?.0, 403);
    drop(client);

    Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
    let exit = tokio::task::spawn_blocking(move || child.wait()).await??;
    assert!(exit.success());

    let log = std::fs::read_to_string(&log_path)?;
    let issued: Vec<&str> = log.lines().filter(|l| l.contains("token issued")).collect();
    let refused: Vec<&str> = log.lines().filter(|l| l.contains("token refused")).collect();
    assert_eq!((issued.len(), refused.len()), (1, 1), "{log}");
    assert!(issued[0].contains("alice@example.com") && issued[0].contains("kid="), "{log}");
    assert!(refused[0].contains("auth_session unknown or expired"), "{log}");
    for secret in ["access_token", "id_token", "refresh_token"] {
        let value = tokens[secret].as_str().ok_or("missing token")?;
        assert!(!log.contains(value), "{secret} leaked into the log");
    }
    Ok(())
}
