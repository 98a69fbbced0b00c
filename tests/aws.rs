//! Third-party AWS for the RDS end-to-end test: moto's STS server over HTTPS (from the venv
//! `scripts/install-aws-test-tools.sh` makes), the credentials it handed out (read back from its
//! `/moto-api/data.json`), and botocore's `generate_db_auth_token` as the reference token.

use std::io::Write as _;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair};

/// How long moto may take to start (it imports much of botocore).
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);

/// `<workspace>/.cache/aws-venv/bin/NAME`; panics with the way to install it when missing.
pub fn venv_program(name: &str) -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the workspace");
    let program = workspace.join(".cache/aws-venv/bin").join(name);
    assert!(
        program.is_file(),
        "{} is missing: run scripts/install-aws-test-tools.sh (make test does)",
        program.display()
    );
    program
}

/// moto's server, killed on drop.
pub struct Moto {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Moto {
    /// Starts moto over HTTPS with a certificate for 127.0.0.1 from a CA of its own
    /// ([`Moto::ca`]), and waits until it answers.
    pub fn start() -> Moto {
        let program = venv_program("moto_server");
        let dir = tempfile::tempdir().expect("tempdir");
        let (ca, cert, key) = tls();
        for (file, text) in [("ca.pem", ca), ("server.pem", cert), ("server.key", key)] {
            std::fs::write(dir.path().join(file), text).expect("write tls");
        }
        let port =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind").local_addr().expect("addr").port();
        let log = std::fs::File::create(dir.path().join("moto.log")).expect("log");
        let child = Command::new(&program)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--ssl-cert")
            .arg(dir.path().join("server.pem"))
            .arg("--ssl-key")
            .arg(dir.path().join("server.key"))
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let mut moto = Moto { child, port, dir };
        let started = Instant::now();
        while moto.data().is_none() {
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited ({status}):\n{}", moto.log());
            }
            assert!(
                started.elapsed() < STARTUP_DEADLINE,
                "moto did not answer within {STARTUP_DEADLINE:?}:\n{}",
                moto.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        moto
    }

    /// The STS endpoint, `https://127.0.0.1:PORT/`.
    pub fn endpoint(&self) -> String {
        format!("https://127.0.0.1:{}/", self.port)
    }

    /// The CA of moto's certificate (PEM file).
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("moto.log")).unwrap_or_default()
    }

    /// moto's state (`/moto-api/data.json`), `None` until it answers.
    fn data(&self) -> Option<serde_json::Value> {
        let ca = std::fs::read(self.ca()).ok()?;
        let client = reqwest::blocking::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).ok()?)
            .timeout(Duration::from_secs(10))
            .build()
            .ok()?;
        client.get(format!("{}moto-api/data.json", self.endpoint())).send().ok()?.json().ok()
    }

    /// The credentials STS handed out (AssumeRoleWithWebIdentity), oldest first.
    pub fn assumed_roles(&self) -> Vec<serde_json::Value> {
        let data = self.data().expect("moto answers");
        data["sts"]["AssumedRole"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA, and a certificate + key for 127.0.0.1 and localhost from it (PEM texts).
fn tls() -> (String, String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    let mut ca_name = DistinguishedName::new();
    ca_name.push(DnType::CommonName, "Tapgate test STS CA");
    ca_params.distinguished_name = ca_name;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let ca_key = KeyPair::generate().expect("key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca_params, ca_key);
    let params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).expect("params");
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, &issuer).expect("cert");
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

/// One RDS auth token as botocore makes it.
pub struct RdsTokenCase<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: &'a str,
    pub region: &'a str,
    pub host: &'a str,
    pub port: u16,
    pub user: &'a str,
    pub unix_seconds: u64,
}

/// botocore's token for `case` (crates/cloud/tests/botocore_rds_token.py, inputs on stdin).
pub fn botocore_rds_token(case: &RdsTokenCase<'_>) -> String {
    let python = venv_program("python");
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(include_str!("../crates/cloud/tests/botocore_rds_token.py"))
        .env_clear()
        .env("HOME", scratch.path())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let input = serde_json::json!([{
        "access_key_id": case.access_key_id, "secret_access_key": case.secret_access_key,
        "session_token": case.session_token, "region": case.region, "host": case.host,
        "port": case.port, "user": case.user, "unix_seconds": case.unix_seconds,
    }]);
    child.stdin.take().expect("stdin").write_all(input.to_string().as_bytes()).expect("write");
    let output = child.wait_with_output().expect("python");
    assert!(output.status.success(), "botocore: {}", String::from_utf8_lossy(&output.stderr));
    let tokens: Vec<String> = serde_json::from_slice(&output.stdout).expect("tokens");
    tokens.into_iter().next().expect("one token")
}
