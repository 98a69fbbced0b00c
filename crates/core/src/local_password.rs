//! Local passwords (`local_password = true`): a random secret per database between its clients
//! and the forwarder, for clients that refuse to connect without a password.
//!
//! The password is made once, written to the person's `~/.pgpass` (0600; libpq, psycopg,
//! pgAdmin and JDBC's pgpass support read it there) and shown once; Tapgate keeps only its
//! SCRAM-SHA-256 verifier, in `local-passwords.json` in the data folder (0600), which cannot be
//! turned back into the password. It is not the token: the token never reaches a client.
//!
//! The `.pgpass` lines name the TCP port on 127.0.0.1 and localhost and the Unix-domain socket's
//! folder (libpq matches a socket connection by its folder), under a `# tapgate: NAME` comment
//! line by which Tapgate finds and replaces them; every other line is left as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tapgate_config::DbConfig;
use tapgate_pgwire::ScramVerifier;

use crate::CoreError;
use crate::atomic_file::{FileLock, write_atomic};

/// A database's local password as the forwarder needs it.
pub struct LocalPassword {
    /// What the forwarder checks clients against.
    pub verifier: ScramVerifier,
    /// The password, when it was made just now (to be shown once); `None` afterwards.
    pub new_password: Option<SecretString>,
    /// The `.pgpass` file it was written to.
    pub pgpass: PathBuf,
}

/// What `local-passwords.json` keeps per database: no password, only its verifier and where the
/// `.pgpass` lines point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    verifier: String,
    port: u16,
    socket_dir: Option<PathBuf>,
}

/// The store of verifiers and the person's `.pgpass`.
#[derive(Debug, Clone)]
pub struct LocalPasswords {
    store: PathBuf,
    pgpass: PathBuf,
}

impl LocalPasswords {
    pub fn new(data_dir: &Path, pgpass: PathBuf) -> LocalPasswords {
        LocalPasswords { store: data_dir.join("local-passwords.json"), pgpass }
    }

    /// The local password of `db` for a forwarder on `port` (and `socket_dir`): the one made
    /// before when its `.pgpass` lines still point there, else a new one, written to `.pgpass`.
    pub fn for_db(
        &self,
        db: &DbConfig,
        port: u16,
        socket_dir: Option<&Path>,
    ) -> Result<LocalPassword, CoreError> {
        let _lock = FileLock::acquire(&self.store)?;
        let mut entries = self.read();
        if let Some(entry) = entries.get(&db.name)
            && entry.port == port
            && entry.socket_dir.as_deref() == socket_dir
            && let Some(verifier) = ScramVerifier::parse(&entry.verifier)
        {
            return Ok(LocalPassword { verifier, new_password: None, pgpass: self.pgpass.clone() });
        }
        let (password, verifier_text) = one_time_secret();
        let lines = pgpass_lines(port, socket_dir, &password);
        self.replace_pgpass_block(&db.name, &lines)?;
        entries.insert(
            db.name.clone(),
            Entry { verifier: verifier_text.clone(), port, socket_dir: socket_dir.map(Path::to_path_buf) },
        );
        write_atomic(&self.store, &serde_json::to_vec_pretty(&entries).unwrap_or_default())?;
        let verifier = ScramVerifier::parse(&verifier_text)
            .ok_or_else(|| local_file("make", &self.store, "the verifier made does not read back"))?;
        Ok(LocalPassword { verifier, new_password: Some(password), pgpass: self.pgpass.clone() })
    }

    fn read(&self) -> BTreeMap<String, Entry> {
        std::fs::read(&self.store).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    /// Rewrites `.pgpass` with `name`'s block replaced by `lines` (added at the end if new).
    fn replace_pgpass_block(&self, name: &str, lines: &[String]) -> Result<(), CoreError> {
        let old = match std::fs::read_to_string(&self.pgpass) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(CoreError::LocalFile { action: "read", path: self.pgpass.clone(), source: e });
            }
        };
        let marker = format!("# tapgate: {name}");
        let mut kept = Vec::new();
        let mut in_block = false;
        for line in old.lines() {
            if line == marker {
                in_block = true;
                continue;
            }
            // A block is its marker and the lines after it up to a blank line or a comment.
            if in_block && !line.is_empty() && !line.starts_with('#') {
                continue;
            }
            in_block = false;
            kept.push(line.to_owned());
        }
        while kept.last().is_some_and(String::is_empty) {
            kept.pop();
        }
        if !kept.is_empty() {
            kept.push(String::new());
        }
        kept.push(marker);
        kept.extend(lines.iter().cloned());
        let mut text = kept.join("\n");
        text.push('\n');
        // write_atomic makes the file 0600, which libpq requires of .pgpass.
        write_atomic(&self.pgpass, text.as_bytes())
    }
}

/// A fresh random password and its SCRAM-SHA-256 verifier (PostgreSQL's text form).
pub fn one_time_secret() -> (SecretString, String) {
    let password = tapgate_pgwire::scram_server::random_password();
    let verifier = tapgate_pgwire::scram_server::make_verifier(&password);
    (SecretString::from(password), verifier)
}

/// The `.pgpass` lines for a forwarder: any database, any user, on its TCP port and its socket.
fn pgpass_lines(port: u16, socket_dir: Option<&Path>, password: &SecretString) -> Vec<String> {
    let secret = pgpass_field(password.expose_secret());
    let mut hosts = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    if let Some(folder) = socket_dir {
        hosts.push(pgpass_field(&folder.to_string_lossy()));
    }
    hosts.into_iter().map(|host| format!("{host}:{port}:*:*:{secret}")).collect()
}

/// A `.pgpass` field: `:` and `\` escaped with `\`.
fn pgpass_field(value: &str) -> String {
    value.replace('\\', "\\\\").replace(':', "\\:")
}

fn local_file(action: &'static str, path: &Path, why: &str) -> CoreError {
    CoreError::LocalFile { action, path: path.to_path_buf(), source: std::io::Error::other(why.to_owned()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(name: &str) -> DbConfig {
        let text = format!(
            "[idp.corp]\nissuer = \"https://idp.example.com\"\nclient_id = \"tapgate\"\nusername = \"a@example.com\"\n\
             [db.{name}]\nidp = \"corp\"\nhost = \"db.example.com\"\ndbname = \"app\"\nrole = \"app\"\nlocal_password = true\n"
        );
        let config = tapgate_config::validate::parse(Path::new("config.toml"), &text).expect("config");
        config.db(name).expect("db").clone()
    }

    #[test]
    fn a_password_is_made_once_written_to_pgpass_and_kept_only_as_a_verifier() -> Result<(), CoreError> {
        let home = tempfile::tempdir().expect("tempdir");
        let pgpass = home.path().join(".pgpass");
        std::fs::write(&pgpass, "# mine\nother.example.com:5432:*:bob:hunter2\n").expect("write");
        let passwords = LocalPasswords::new(&home.path().join("data"), pgpass.clone());
        let socket = home.path().join("run");

        let first = passwords.for_db(&db("prod"), 54321, Some(&socket))?;
        let password = first.new_password.expect("made now").expose_secret().to_owned();
        let text = std::fs::read_to_string(&pgpass).expect("pgpass");
        assert!(text.starts_with("# mine\nother.example.com:5432:*:bob:hunter2\n"), "kept: {text}");
        assert!(text.contains(&format!("127.0.0.1:54321:*:*:{password}\n")), "{text}");
        assert!(text.contains(&format!("{}:54321:*:*:{password}\n", socket.display())), "{text}");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&pgpass).expect("meta").permissions().mode() & 0o777, 0o600);
        let store = std::fs::read_to_string(home.path().join("data/local-passwords.json")).expect("store");
        assert!(!store.contains(&password), "only the verifier is stored");

        // Next start: the same password, not shown again.
        let again = passwords.for_db(&db("prod"), 54321, Some(&socket))?;
        assert!(again.new_password.is_none());
        assert_eq!(again.verifier, first.verifier);

        // Another port: a new password replaces the block, once.
        let moved = passwords.for_db(&db("prod"), 54322, Some(&socket))?;
        let new = moved.new_password.expect("made now").expose_secret().to_owned();
        let text = std::fs::read_to_string(&pgpass).expect("pgpass");
        assert!(!text.contains(&password) && text.contains(&new), "{text}");
        assert_eq!(text.matches("# tapgate: prod").count(), 1, "{text}");
        assert!(text.contains("other.example.com:5432:*:bob:hunter2"), "{text}");
        Ok(())
    }

    #[test]
    fn pgpass_fields_escape_colons_and_backslashes() {
        assert_eq!(pgpass_field(r"C:\run"), r"C\:\\run");
    }
}
