//! What the cloud tests share: the Python venv made by scripts/install-aws-test-tools.sh, and
//! botocore's `generate_db_auth_token` run there at a frozen instant.

#![allow(dead_code)] // each test binary uses its own part
#![allow(clippy::panic)] // a test that cannot run says why

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret as _, SecretString};
use tapgate_cloud::AwsCredentials;

/// `<workspace>/.cache/aws-venv`.
pub fn venv() -> PathBuf {
    let workspace =
        Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).expect("crates/cloud is two levels down");
    workspace.join(".cache/aws-venv")
}

/// A program of the venv; panics with the way to install it when it is not there.
pub fn venv_program(name: &str) -> PathBuf {
    let program = venv().join("bin").join(name);
    assert!(
        program.is_file(),
        "{} is missing: run scripts/install-aws-test-tools.sh (make test does)",
        program.display()
    );
    program
}

/// One RDS auth token to make with botocore.
pub struct TokenCase<'a> {
    pub credentials: &'a AwsCredentials,
    pub region: &'a str,
    pub host: &'a str,
    pub port: u16,
    pub user: &'a str,
    pub at: SystemTime,
}

/// Runs botocore's `RDS.Client.generate_db_auth_token` for each case, with the clock botocore's
/// SigV4 signer reads (`botocore.auth.get_current_datetime`) patched to the case's instant, the
/// way botocore's own signer tests freeze time. The script checks that the token carries that
/// instant, so a moved patch point fails loudly instead of comparing against another time.
///
/// Inputs go through stdin, not arguments (a secret key in argv is visible to other users), and
/// the AWS config files and environment are kept out of botocore's reach.
pub fn botocore_tokens(cases: &[TokenCase<'_>]) -> Vec<String> {
    let python = venv_program("python");
    let input: Vec<serde_json::Value> = cases
        .iter()
        .map(|case| {
            let seconds = case.at.duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
            let token = case.credentials.session_token.expose_secret();
            serde_json::json!({
                "access_key_id": case.credentials.access_key_id,
                "secret_access_key": case.credentials.secret_access_key.expose_secret(),
                "session_token": if token.is_empty() { None } else { Some(token) },
                "region": case.region,
                "host": case.host,
                "port": case.port,
                "user": case.user,
                "unix_seconds": seconds,
            })
        })
        .collect();
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(BOTOCORE_SCRIPT)
        .env_clear()
        .env("HOME", scratch.path())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot run {}: {err}", python.display()));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(serde_json::to_string(&input).expect("json").as_bytes())
        .expect("write to python");
    let output = child.wait_with_output().expect("python output");
    assert!(
        output.status.success(),
        "botocore failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let tokens: Vec<String> = serde_json::from_slice(&output.stdout).expect("botocore's tokens as JSON");
    assert_eq!(tokens.len(), cases.len());
    tokens
}

/// The botocore side of the comparison (shared with the RDS end-to-end test).
const BOTOCORE_SCRIPT: &str = include_str!("../botocore_rds_token.py");

/// The token as a plain string for comparison (tests only).
pub fn exposed(token: &SecretString) -> String {
    token.expose_secret().to_string()
}
