//! The demo folder: the one place the demo writes (besides a system folder for the cluster when
//! running as root), so a second run reuses everything and the user's own files stay untouched.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{DemoError, IoContext as _};
use crate::{DEMO_NAME, DEMO_USER};

/// Paths inside the demo folder.
#[derive(Debug, Clone)]
pub struct DemoDir {
    root: PathBuf,
}

impl DemoDir {
    /// The demo folder at `root` (the CLI's `--dir`, else [`DemoDir::default_under`] of the
    /// person's data folder, chosen by the program); created with mode 0700 (it holds a key).
    pub fn open(root: PathBuf) -> Result<DemoDir, DemoError> {
        std::fs::create_dir_all(&root).context_with(|| format!("cannot create {}", root.display()))?;
        // Absolute, so paths written into configs stay right whatever the child's working dir.
        let root = std::fs::canonicalize(&root).context_with(|| format!("cannot open {}", root.display()))?;
        set_mode(&root, 0o700)?;
        Ok(DemoDir { root })
    }

    /// Where the demo lives unless told otherwise: `demo/` in Tapgate's data folder.
    pub fn default_under(data_dir: &Path) -> PathBuf {
        data_dir.join("demo")
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The dev IdP's data folder (CA, users, signing keys, last issuer).
    pub fn idp_data(&self) -> PathBuf {
        self.root.join("idp")
    }

    /// The dev IdP's log (stderr).
    pub fn idp_log(&self) -> PathBuf {
        self.root.join("idp.log")
    }

    /// The demo user's software key.
    pub fn key(&self) -> PathBuf {
        self.root.join("alice.key")
    }

    /// The Tapgate config the demo's forwarder uses.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// The data folder of the demo's engine: its remembered port, history and status file, apart
    /// from the person's own.
    pub fn engine_data(&self) -> PathBuf {
        self.root.join("engine")
    }

    /// The PostgreSQL files (cluster, log, validator module) when the server can reach them here.
    pub fn server_home(&self) -> PathBuf {
        self.root.join("postgres")
    }

    /// The demo CA's certificate: the forwarder's `ca_file` for the server.
    pub fn server_ca(&self) -> PathBuf {
        self.root.join("server-ca.pem")
    }

    /// The processes the last run started, one `name pid` line each, so anyone (the end-to-end
    /// test, a worried user) can check that nothing outlived the demo.
    pub fn pids(&self) -> PathBuf {
        self.root.join("pids")
    }

    /// Records the PIDs of the processes started so far.
    pub(crate) fn write_pids(&self, pids: &[(String, u32)]) -> Result<(), DemoError> {
        let mut text =
            String::from("# Processes started by the last `tapgate demo` run (stopped when it ends).\n");
        for (name, pid) in pids {
            let _ = writeln!(text, "{name} {pid}");
        }
        std::fs::write(self.pids(), text).context_with(|| format!("cannot write {}", self.pids().display()))
    }

    /// Writes the demo config: the dev IdP with the software key, and the demo database through
    /// OAUTHBEARER with verify-full against the demo CA. Rewritten on every run (ports may move).
    pub(crate) fn write_config(&self, issuer: &str, pg_port: u16) -> Result<(), DemoError> {
        let text = format!(
            "# Written by `tapgate demo` on every run; edit your own config, not this one.\n\
             [idp.{DEMO_NAME}]\n\
             issuer = {issuer}\n\
             client_id = \"tapgate\"\n\
             username = {user}\n\
             dialect = \"auth0\"\n\
             authenticator = {authenticator}\n\
             audience = \"postgres\"\n\
             ca_file = {idp_ca}\n\
             \n\
             [db.{DEMO_NAME}]\n\
             idp = \"{DEMO_NAME}\"\n\
             host = \"127.0.0.1\"\n\
             port = {pg_port}\n\
             dbname = \"demo\"\n\
             role = \"app_rw\"\n\
             roles = [\"app_ro\", \"app_rw\"]\n\
             auth = \"oauthbearer\"\n\
             sslmode = \"verify-full\"\n\
             ca_file = {server_ca}\n",
            issuer = toml_string(issuer),
            user = toml_string(DEMO_USER),
            authenticator = toml_string(&format!("soft:{}", self.key().display())),
            idp_ca = toml_string(&self.idp_data().join("ca.pem").display().to_string()),
            server_ca = toml_string(&self.server_ca().display().to_string()),
        );
        std::fs::write(self.config(), text)
            .context_with(|| format!("cannot write {}", self.config().display()))
    }
}

/// A TOML basic string.
pub(crate) fn toml_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<(), DemoError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .context_with(|| format!("cannot set the mode of {}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{DemoDir, toml_string};

    #[test]
    fn toml_strings_escape_quotes_and_backslashes() {
        assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    /// The config the forwarder is pointed at must pass Tapgate's own validation, whatever the
    /// folder is called.
    #[test]
    fn demo_config_is_a_valid_tapgate_config() {
        let parent = tempfile::tempdir().unwrap();
        let dir = DemoDir::open(parent.path().join("a \"quoted\" demo")).unwrap();
        // The files it names are checked when the config is loaded.
        let ca = crate::certs::generate().unwrap().ca_pem;
        std::fs::create_dir(dir.idp_data()).unwrap();
        std::fs::write(dir.idp_data().join("ca.pem"), &ca).unwrap();
        std::fs::write(dir.server_ca(), &ca).unwrap();
        std::fs::write(dir.key(), "").unwrap();
        dir.write_config("https://localhost:8443", 5432).unwrap();
        let config = tapgate_config::Config::load(&dir.config()).unwrap();
        let db = config.db(crate::DEMO_NAME).unwrap();
        assert_eq!(db.port, 5432);
        assert_eq!(db.role, "app_rw");
    }
}
