//! The demo folder: the one place the demo writes (besides a system folder for the cluster when
//! running as root), so a second run reuses everything and the user's own files stay untouched.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The demo user (enrolled with a software key).
pub const DEMO_USER: &str = "alice@example.com";
/// The demo user's group; the validator maps it to both demo roles.
pub const DEMO_GROUP: &str = "dba";
/// The IdP and database name in the demo config.
pub const DEMO_NAME: &str = "demo";

/// Paths inside the demo folder.
#[derive(Debug, Clone)]
pub struct DemoDir {
    root: PathBuf,
}

impl DemoDir {
    /// `--dir`, else `demo/` in Tapgate's data folder; created with mode 0700 (it holds a key).
    pub fn open(explicit: Option<PathBuf>) -> anyhow::Result<DemoDir> {
        let root = match explicit {
            Some(dir) => dir,
            None => tapgate_config::data_dir()?.join("demo"),
        };
        std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
        // Absolute, so paths written into configs stay right whatever the child's working dir.
        let root = std::fs::canonicalize(&root).with_context(|| format!("cannot open {}", root.display()))?;
        set_mode(&root, 0o700)?;
        Ok(DemoDir { root })
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

    /// `TAPGATE_DATA_DIR` of the demo's forwarder: its remembered port, history and status file,
    /// apart from the user's.
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
    pub fn write_pids(&self, pids: &[(&str, u32)]) -> anyhow::Result<()> {
        let mut text =
            String::from("# Processes started by the last `tapgate demo` run (stopped when it ends).\n");
        for (name, pid) in pids {
            let _ = writeln!(text, "{name} {pid}");
        }
        std::fs::write(self.pids(), text).with_context(|| format!("cannot write {}", self.pids().display()))
    }

    /// Writes the demo config: the dev IdP with the software key, and the demo database through
    /// OAUTHBEARER with verify-full against the demo CA. Rewritten on every run (ports may move).
    pub fn write_config(&self, issuer: &str, pg_port: u16, server_ca: &Path) -> anyhow::Result<()> {
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
            server_ca = toml_string(&server_ca.display().to_string()),
        );
        std::fs::write(self.config(), text)
            .with_context(|| format!("cannot write {}", self.config().display()))
    }
}

/// A TOML basic string.
pub fn toml_string(value: &str) -> String {
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

pub fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::toml_string;

    #[test]
    fn toml_strings_escape_quotes_and_backslashes() {
        assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
