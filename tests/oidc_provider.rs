//! oidc-provider (npm), an OpenID Provider nobody here wrote, for end-to-end tests of the real
//! `tapgate` against a third-party IdP: `tests/oidc-provider/server.js` in node, over HTTPS with
//! a certificate made for the run. Its development sign-in pages accept any login and password.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use base64::Engine as _;
use rcgen::PublicKeyData as _;
use sha2::Digest as _;
use tempfile::TempDir;

/// The audience oidc-provider puts in access tokens for Tapgate (a resource indicator is an
/// absolute URI, RFC 8707 §2).
pub const AUDIENCE: &str = "https://postgres.tapgate.test";

/// oidc-provider in a node process, stopped when dropped.
pub struct OidcProvider {
    child: Child,
    pub issuer: String,
    /// Its certificate (self-signed): what clients and the database side trust.
    pub ca: PathBuf,
    /// Base64 SHA-256 of its key (for Chromium's `--ignore-certificate-errors-spki-list`).
    pub spki_sha256: String,
    _dir: TempDir,
}

impl OidcProvider {
    pub fn start() -> OidcProvider {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc-provider");
        assert!(
            fixture.join("node_modules/oidc-provider/package.json").is_file(),
            "oidc-provider is not installed: run `npm ci` in tests/oidc-provider (make test does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        crate::pg::chown_to_postgres(dir.path());
        crate::pg::chown_to_postgres(&cert);
        let spki = sha2::Sha256::digest(made.signing_key.subject_public_key_info());
        let spki_sha256 = base64::engine::general_purpose::STANDARD.encode(spki);

        let mut child = Command::new("node")
            .arg("server.js")
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .current_dir(&fixture)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start node (Node.js 20 is installed by the toolchain)");
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        // Keep reading: node dies of EPIPE when it writes to a pipe nobody reads.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let ready: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("oidc-provider did not start: {line:?}"));
        let issuer = ready["issuer"].as_str().unwrap().to_string();
        OidcProvider { child, issuer, ca: cert, spki_sha256, _dir: dir }
    }

    /// What its token endpoint answers to the refresh grant with `refresh_token`.
    pub fn try_refresh(&self, refresh_token: &str) -> (u16, String) {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(&self.ca).unwrap()).unwrap();
        let client = reqwest::blocking::Client::builder().add_root_certificate(ca).build().unwrap();
        let response = client
            .post(format!("{}/token", self.issuer))
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", "tapgate"),
                ("refresh_token", refresh_token),
            ])
            .send()
            .unwrap();
        (response.status().as_u16(), response.text().unwrap_or_default())
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
