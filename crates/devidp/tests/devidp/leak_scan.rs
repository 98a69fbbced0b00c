//! The browser sign-in handles secrets (the code, the tokens): none of them may appear in
//! the server's log, at any level, or in its data directory.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::browser_sign_in::{REDIRECT_URI, VERIFIER, authorize_url, form, param, redeem, sign_in_in_page};
use crate::support::{CLIENT_ID, TestIdp, TestResult, enroll, temp_data};

const BIN: &str = env!("CARGO_BIN_EXE_tapgate-devidp");

#[tokio::test]
async fn codes_and_tokens_appear_in_no_log_and_no_file() -> TestResult {
    let (temp, data) = temp_data()?;
    let key = enroll(&data, "alice@example.com", &["dba"])?;
    let log_path = temp.path().join("serve.log");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(File::create(&log_path)?)
        .spawn()?;
    let mut issuer = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut issuer)?;
    let idp = TestIdp::external(issuer.trim_end(), &data)?;

    let back = sign_in_in_page(&idp, &authorize_url(&idp, &[])?, "alice@example.com", &key).await?;
    let code = param(&back, "code").ok_or("no code")?;
    let tokens: Value = redeem(&idp, &code, VERIFIER, REDIRECT_URI).await?.json().await?;
    // A replay and a revocation: the refusal and revocation paths log too.
    redeem(&idp, &code, VERIFIER, REDIRECT_URI).await?;
    let refresh = tokens["refresh_token"].as_str().ok_or("no refresh token")?;
    form(&idp, "/oauth/revoke", &[("token", refresh), ("client_id", CLIENT_ID)]).await?;
    drop(idp);

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
    assert!(status.success());
    tokio::task::spawn_blocking(move || child.wait()).await??;

    let mut secrets = vec![code.clone(), refresh.to_owned()];
    for name in ["access_token", "id_token"] {
        secrets.push(tokens[name].as_str().ok_or("no token")?.to_owned());
    }
    let log = std::fs::read_to_string(&log_path)?;
    assert!(log.contains("browser sign-in"), "the sign-in was logged: {log}");
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a secret is in the log");
    }
    scan(&data, &secrets)?;
    Ok(())
}

/// Fails if any file under `dir` holds one of `secrets`.
fn scan(dir: &Path, secrets: &[String]) -> TestResult {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            scan(&path, secrets)?;
            continue;
        }
        let bytes = std::fs::read(&path)?;
        let text = String::from_utf8_lossy(&bytes);
        for secret in secrets {
            assert!(!text.contains(secret.as_str()), "a secret is in {}", path.display());
        }
    }
    Ok(())
}
