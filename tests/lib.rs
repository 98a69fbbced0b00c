//! Harness for Tapgate's end-to-end tests: real binaries, a real dev IdP over HTTPS, software
//! keys and, under `scripts/with-keyring.sh`, a real Secret Service keyring.
//!
//! # Layout
//! - [`bin`]: where the built binaries are (`make test` builds them first).
//! - [`DevIdp`]: a `tapgate-devidp serve` process on a free loopback port with its own data dir.
//! - [`Person`]: a user's home, config file and the `tapgate` commands they run, with every
//!   transcript kept so tests can assert no token ever leaked into output.
//! - [`desktop`]: the desktop app under Xvfb, driven through WebDriver, its tray read over D-Bus.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tempfile::TempDir;

pub mod aws;
pub mod browser;
pub mod desktop;
pub mod fault_proxy;
pub mod oidc_provider;
pub mod pg;
pub mod pg18;

/// The built binary `name`, from `TAPGATE_BIN_DIR` or the workspace's `target/debug`.
pub fn bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("TAPGATE_BIN_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
        target.join("debug")
    });
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --bins` first (`make test` does)",
        path.display()
    );
    path
}

/// The token policy of every `verify.toml` the tests write for the dev IdP: what its tokens
/// from a software key carry (`amr: ["swk"]`, `azp`/`client_id: "tapgate"`, `typ: at+jwt`,
/// `email_verified: true`), so every login runs the real policy checks. A real deployment
/// requires `hwk` (docs/server-setup.md); the tests' keys are software keys.
pub const DEV_IDP_POLICY: &str = "require_amr = [\"swk\"]\nallowed_clients = [\"tapgate\"]\n\
                                  max_token_lifetime = \"1h\"\nrequire_typ = \"at+jwt\"\n";

/// Options for [`DevIdp::start`].
#[derive(Debug, Default, Clone)]
pub struct DevIdpOptions {
    pub token_ttl: Option<&'static str>,
    pub refresh_ttl: Option<&'static str>,
    pub clock_offset: Option<i64>,
    /// A [`TestClock`] the IdP shares with the people under test.
    pub clock_file: Option<PathBuf>,
}

/// Time as the programs under test see it: the dev IdP (`--clock-file`) and the test build of
/// `tapgate` (`TAPGATE_TEST_CLOCK_FILE`) add the seconds this file holds to the system clock, so
/// a test lets a token expire by moving this clock instead of waiting. PostgreSQL and the
/// verifiers keep real time.
pub struct TestClock {
    dir: TempDir,
}

impl TestClock {
    pub fn new() -> TestClock {
        TestClock { dir: tempfile::tempdir().unwrap() }
    }

    /// The file the programs read.
    pub fn file(&self) -> PathBuf {
        self.dir.path().join("shift-seconds")
    }

    /// Moves the programs' clock `seconds` forward (negative: back), for every program at once.
    pub fn advance(&self, seconds: i64) {
        let now: i64 = std::fs::read_to_string(self.file()).map_or(0, |t| t.trim().parse().unwrap());
        // Written whole and renamed into place, so no reader sees an empty file.
        let next = self.dir.path().join("next");
        std::fs::write(&next, (now + seconds).to_string()).unwrap();
        std::fs::rename(next, self.file()).unwrap();
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

/// A running dev IdP; killed when dropped.
pub struct DevIdp {
    child: Child,
    pub issuer: String,
    pub data: TempDir,
    log: PathBuf,
}

impl DevIdp {
    pub fn start(options: DevIdpOptions) -> DevIdp {
        let data = tempfile::tempdir().unwrap();
        let log = data.path().join("devidp.log");
        let mut cmd = Command::new(bin("tapgate-devidp"));
        cmd.arg("serve").arg("--data").arg(data.path()).args(["--listen", "127.0.0.1:0"]);
        if let Some(ttl) = options.token_ttl {
            cmd.args(["--token-ttl", ttl]);
        }
        if let Some(ttl) = options.refresh_ttl {
            cmd.args(["--refresh-ttl", ttl]);
        }
        if let Some(offset) = options.clock_offset {
            cmd.arg("--clock-offset").arg(offset.to_string());
        }
        if let Some(file) = &options.clock_file {
            cmd.arg("--clock-file").arg(file);
        }
        let log_file = std::fs::File::create(&log).unwrap();
        let mut child = cmd.stdout(Stdio::piped()).stderr(log_file).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let issuer = line.trim().to_string();
        assert!(
            issuer.starts_with("https://localhost:"),
            "tapgate-devidp did not print its issuer (got {issuer:?}); log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        DevIdp { child, issuer, data, log }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.issuer.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// The CA certificate clients must trust.
    pub fn ca(&self) -> PathBuf {
        self.data.path().join("ca.pem")
    }

    /// Enrolls `user` with a new software key saved at `key`.
    pub fn enroll(&self, user: &str, groups: &str, key: &Path) {
        let out = Command::new(bin("tapgate-devidp"))
            .arg("enroll")
            .arg("--data")
            .arg(self.data.path())
            .args(["--user", user, "--groups", groups, "--soft-key"])
            .arg(key)
            .output()
            .unwrap();
        assert!(out.status.success(), "enroll failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Runs `tapgate-devidp rotate-key` on this IdP's data.
    pub fn rotate_key(&self) {
        let out = Command::new(bin("tapgate-devidp"))
            .arg("rotate-key")
            .arg("--data")
            .arg(self.data.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "rotate-key failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// What the token endpoint answers to the refresh grant with `refresh_token` (as a client
    /// holding a copy of it would): the status code and the body.
    pub fn try_refresh(&self, refresh_token: &str) -> (u16, String) {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(self.ca()).unwrap()).unwrap();
        let client = reqwest::blocking::Client::builder().add_root_certificate(ca).build().unwrap();
        let response = client
            .post(format!("{}/oauth/token", self.issuer))
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", "tapgate"),
                ("refresh_token", refresh_token),
            ])
            .send()
            .unwrap();
        (response.status().as_u16(), response.text().unwrap_or_default())
    }

    /// The `kid`s the JWKS endpoint publishes now.
    pub fn jwks_kids(&self) -> Vec<String> {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(self.ca()).unwrap()).unwrap();
        let client = reqwest::blocking::Client::builder().add_root_certificate(ca).build().unwrap();
        let jwks: serde_json::Value =
            client.get(format!("{}/.well-known/jwks.json", self.issuer)).send().unwrap().json().unwrap();
        jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect()
    }

    /// Everything the IdP logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl DevIdp {
    /// Stops the IdP now (it is down from here on, e.g. in the middle of a sign-in).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DevIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The result of one `tapgate` command.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// Panics with the transcript unless the command succeeded.
    #[track_caller]
    pub fn expect_ok(&self) -> &Run {
        assert!(
            self.ok(),
            "tapgate failed ({:?}):\nstdout: {}\nstderr: {}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Panics unless the command failed with exit 1 and one line on stderr; returns that line.
    #[track_caller]
    pub fn expect_one_line_failure(&self) -> String {
        assert_eq!(self.code, Some(1), "expected exit 1:\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let errors: Vec<&&str> =
            lines.iter().filter(|l| l.starts_with("tapgate: ") && !l.contains("keyring")).collect();
        assert_eq!(errors.len(), 1, "expected one error line, got:\n{}", self.stderr);
        errors[0].to_string()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// A person using Tapgate: a home directory, a config file, and the commands they ran.
pub struct Person {
    pub home: TempDir,
    pub idp_name: String,
    pub config: PathBuf,
    pub key: PathBuf,
    env: Vec<(String, String)>,
    transcripts: Mutex<Vec<String>>,
}

impl Person {
    /// A person with a fresh home and a key file path (not yet enrolled) inside it.
    pub fn new() -> Person {
        let home = tempfile::tempdir().unwrap();
        // Each person gets their own IdP name: the keyring is shared by all tests of a run.
        let idp_name = format!("corp{}_{}", std::process::id(), NEXT_ID.fetch_add(1, Ordering::SeqCst));
        let config = home.path().join(".config/tapgate/config.toml");
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        let key = home.path().join("alice.key");
        // History, remembered ports and status files of this person only.
        let data = home.path().join("data").display().to_string();
        let env = vec![("TAPGATE_DATA_DIR".to_string(), data)];
        Person { home, idp_name, config, key, env, transcripts: Mutex::default() }
    }

    /// Writes a config for `idp` with `username`, this person's soft key, the IdP's CA,
    /// and `extra` lines appended to the table.
    pub fn configure(&self, idp: &DevIdp, username: &str, extra: &str) {
        // A copy of the CA, so the config stays valid after the IdP (and its data dir) is gone.
        let ca = self.home.path().join("idp-ca.pem");
        std::fs::copy(idp.ca(), &ca).unwrap();
        let text = format!(
            "[idp.{name}]\nissuer = \"{issuer}\"\nclient_id = \"tapgate\"\nusername = \"{username}\"\n\
             dialect = \"auth0\"\nauthenticator = \"soft:{key}\"\naudience = \"postgres\"\n\
             ca_file = \"{ca}\"\n{extra}\n",
            name = self.idp_name,
            issuer = idp.issuer,
            key = self.key.display(),
            ca = ca.display(),
        );
        self.write_config(&text);
    }

    /// Appends `text` (e.g. a `[db.NAME]` table) to the config file.
    pub fn append_config(&self, text: &str) {
        let mut config = std::fs::read_to_string(&self.config).unwrap();
        config.push('\n');
        config.push_str(text);
        std::fs::write(&self.config, config).unwrap();
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(&self.config, text).unwrap();
    }

    /// Tapgate's runtime folder for this person (status files, locks, the forwarders' sockets):
    /// `run` in the data folder, as with `TAPGATE_DATA_DIR`.
    pub fn runtime_dir(&self) -> PathBuf {
        self.home.path().join("data").join("run")
    }

    /// Runs every later command on `clock` (the test build of `tapgate` reads its file).
    pub fn use_clock(&mut self, clock: &TestClock) {
        self.set_env("TAPGATE_TEST_CLOCK_FILE", &clock.file().display().to_string());
    }

    /// Sets an environment variable for every later command.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.push((key.to_string(), value.to_string()));
    }

    /// `tapgate ARGS` as this person would run it: their home, their config (TAPGATE_CONFIG).
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin("tapgate"));
        cmd.args(args)
            .env("TAPGATE_CONFIG", &self.config)
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join(".config"))
            .env_remove("TAPGATE_LOG")
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `tapgate ARGS` as this person and waits for it.
    pub fn tapgate(&self, args: &[&str]) -> Run {
        let out: Output = self.command(args).output().unwrap();
        let run = Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        let mut transcripts = self.transcripts.lock().unwrap();
        // `tapgate token` prints the token on stdout by design; everything else is kept for leak checks.
        if args.first() != Some(&"token") {
            transcripts.push(run.stdout.clone());
        }
        transcripts.push(run.stderr.clone());
        run
    }

    /// Starts `tapgate ARGS` in the background (e.g. `connect`), its output in files.
    pub fn spawn(&self, args: &[&str]) -> Background {
        let out = tempfile::NamedTempFile::new().unwrap();
        let err = tempfile::NamedTempFile::new().unwrap();
        let child =
            self.command(args).stdout(out.reopen().unwrap()).stderr(err.reopen().unwrap()).spawn().unwrap();
        Background { child: Some(child), stdout: out, stderr: err }
    }

    /// `tapgate connect DB` in the background, once it listens; returns it and its port.
    pub fn connect(&self, db: &str) -> (Background, u16) {
        let mut connect = self.spawn(&["connect", db]);
        let line = connect.wait_for_stdout(&format!("{db} ready on 127.0.0.1:"), Duration::from_secs(60));
        let port = line.rsplit(':').next().unwrap().trim().parse().unwrap();
        (connect, port)
    }

    /// Keeps `text` (output of a background command) for the leak checks of [`Person::transcripts`].
    pub fn keep_transcript(&self, text: String) {
        self.transcripts.lock().unwrap().push(text);
    }

    /// `tapgate token` for this person's IdP, asserting success.
    pub fn token(&self) -> String {
        let run = self.tapgate(&["token", &self.idp_name]);
        run.expect_ok();
        run.stdout.trim().to_string()
    }

    /// Every stdout/stderr this person saw, except the stdout of `tapgate token`.
    pub fn transcripts(&self) -> String {
        self.transcripts.lock().unwrap().join("\n")
    }

    /// Replaces the key file with junk (still readable, so the config loads) so that any
    /// attempt to tap fails; returns the real key's bytes for [`Person::restore_key`].
    pub fn break_key(&self) -> Vec<u8> {
        let real = std::fs::read(&self.key).unwrap();
        std::fs::write(&self.key, b"not a key").unwrap();
        real
    }

    pub fn restore_key(&self, real: &[u8]) {
        std::fs::write(&self.key, real).unwrap();
    }
}

impl Default for Person {
    fn default() -> Self {
        Person::new()
    }
}

/// A `tapgate` process running in the background; interrupted (SIGINT) and reaped on drop.
pub struct Background {
    child: Option<Child>,
    stdout: tempfile::NamedTempFile,
    stderr: tempfile::NamedTempFile,
}

impl Background {
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.stdout.path()).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Waits until stdout has a line containing `text`; panics with the output after `timeout`.
    #[track_caller]
    pub fn wait_for_stdout(&mut self, text: &str, timeout: Duration) -> String {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(line) = self.stdout().lines().find(|l| l.contains(text)) {
                return line.to_string();
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!(
                    "tapgate exited ({status}) before printing {text:?}:\nstdout: {}\nstderr: {}",
                    self.stdout(),
                    self.stderr()
                );
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {text:?} within {timeout:?}:\nstdout: {}\nstderr: {}",
                self.stdout(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for it to exit by itself; its exit code. Panics (after killing it) at `timeout`.
    #[track_caller]
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let child = self.child.take()?;
        self.reap(child, timeout, &format!("did not finish within {timeout:?}"))
    }

    /// Sends SIGINT (Ctrl-C) and waits up to `timeout` for the exit; returns the exit code.
    #[track_caller]
    pub fn interrupt(&mut self, timeout: Duration) -> Option<i32> {
        let child = self.child.take()?;
        signal(child.id(), "INT");
        self.reap(child, timeout, &format!("did not stop within {timeout:?} of SIGINT"))
    }

    /// Waits up to `timeout` for `child` to exit; kills it and panics saying `failure` if not.
    #[track_caller]
    fn reap(&self, mut child: Child, timeout: Duration, failure: &str) -> Option<i32> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("tapgate {failure}:\nstderr: {}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(child.id(), "INT");
            std::thread::sleep(Duration::from_millis(200));
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends signal `name` (e.g. "INT") to `pid` with kill(1).
pub fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status();
}

/// The JSON entry the Secret Service holds for `idp`, read with libsecret's own tool.
pub fn keyring_entry(idp: &str) -> Option<String> {
    let user = format!("idp:{idp}");
    let out = std::process::Command::new("secret-tool")
        .args(["lookup", "service", "tapgate", "username", &user])
        .output()
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned()).filter(|s| !s.is_empty())
}

/// What `token_endpoint` (trusting `ca`) answers to the refresh grant with `refresh_token`, as
/// client `tapgate`: the status code and the body.
pub fn refresh_grant(token_endpoint: &str, ca: &Path, refresh_token: &str) -> (u16, String) {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    let client = reqwest::blocking::Client::builder().add_root_certificate(ca).build().unwrap();
    let response = client
        .post(token_endpoint)
        .form(&[("grant_type", "refresh_token"), ("client_id", "tapgate"), ("refresh_token", refresh_token)])
        .send()
        .unwrap();
    (response.status().as_u16(), response.text().unwrap_or_default())
}

/// Makes the verifiers' JWKS cache file at `path` look `seconds` older (its last fetch and last
/// fetch attempt), as if that time had passed on the server: how a test reaches the end of the
/// refetch rate limit without waiting for it. The file keeps its owner and is replaced whole.
pub fn age_jwks_cache(path: &Path, seconds: u64) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).unwrap();
    let mut cache: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for field in ["fetched_at", "attempted_at"] {
        let at = cache[field].as_u64().unwrap_or_else(|| panic!("no {field} in the JWKS cache: {cache}"));
        cache[field] = (at - seconds).into();
    }
    let next = path.with_extension("aged");
    std::fs::write(&next, cache.to_string()).unwrap();
    std::os::unix::fs::chown(&next, Some(meta.uid()), Some(meta.gid())).unwrap();
    std::fs::set_permissions(&next, meta.permissions()).unwrap();
    std::fs::rename(next, path).unwrap();
}

pub fn jwt_kid(jwt: &str) -> String {
    jwt_part(jwt, 0)["kid"].as_str().unwrap_or_default().to_string()
}

/// The claims of a JWT (no verification: tests read what the IdP issued).
pub fn jwt_claims(jwt: &str) -> serde_json::Value {
    jwt_part(jwt, 1)
}

fn jwt_part(jwt: &str, index: usize) -> serde_json::Value {
    use base64::Engine as _;
    let part = jwt.split('.').nth(index).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Files under `dir` (recursively) whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                found.push(path);
            }
        }
    }
    found
}
