//! Importing a team config: a file of `[idp.*]` and `[db.*]` tables that a team shares, merged
//! into the person's own `config.toml` document after the file loader has checked the result.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml_edit::{Item, Table, TableLike};

use crate::ConfigError;
use crate::document::{ConfigDocument, Kind, detached_comments, join_comments, prefix_of};
use crate::forms::{Setting, write_setting};

/// Keys of an `[idp.NAME]` table that belong to the person, not the team: a replaced IdP keeps
/// the person's values when the team file leaves them out.
const PERSONAL_IDP_KEYS: &[&str] = &["username", "authenticator"];

/// Stands in for a missing user name while the merged document is checked (never written).
const USERNAME_PLACEHOLDER: &str = "someone@example.com";

/// What an import changed, by table name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ImportSummary {
    /// New `[idp.NAME]` tables.
    pub idps_added: Vec<String>,
    /// `[idp.NAME]` tables the team file replaced.
    pub idps_replaced: Vec<String>,
    /// New `[db.NAME]` tables.
    pub dbs_added: Vec<String>,
    /// `[db.NAME]` tables the team file replaced.
    pub dbs_replaced: Vec<String>,
    /// IdPs that need the person's user name (team files leave it out): saving is refused
    /// (`idp.NAME.username: must not be empty`) until it is filled in.
    pub needs_username: Vec<String>,
}

impl ConfigDocument {
    /// Merges the team config at `team_file` into this document: its `[idp.*]` and `[db.*]`
    /// tables are added, and same-named tables replaced (a replaced IdP keeps the person's
    /// `username` and `authenticator` when the team file has none). Relative file paths in the
    /// team file are made absolute, as they are relative to its folder.
    ///
    /// The merged document is checked with the file loader's rules first (a missing `username`
    /// aside: that is the person's to fill in, see [`ImportSummary::needs_username`]); if it is
    /// refused ([`ConfigError::Rejected`], or the team file's syntax error), this document is
    /// unchanged. Nothing is written: call [`ConfigDocument::save`].
    pub fn import(&mut self, team_file: &Path) -> Result<ImportSummary, ConfigError> {
        let text = std::fs::read_to_string(team_file)
            .map_err(|source| ConfigError::Read { path: team_file.to_path_buf(), source })?;
        let team = ConfigDocument::parse(team_file, &text)?;
        let rebase_to = folder_of(team_file).filter(|dir| Some(dir) != folder_of(&self.path).as_ref());

        let mut merged = self.clone();
        let mut summary = ImportSummary::default();
        let (mut tables, mut other_keys) = (0, 0);
        for (key, item) in team.doc.iter() {
            let kind = match key {
                "idp" if item.is_table_like() => Kind::Idp,
                "db" if item.is_table_like() => Kind::Db,
                // Anything else goes in as it is, for the loader to refuse in its own words.
                _ => {
                    merged.doc.insert(key, item.clone());
                    other_keys += 1;
                    continue;
                }
            };
            for (name, entry) in item.as_table_like().into_iter().flat_map(|t| t.iter()) {
                tables += 1;
                let old = merged.entries(kind).find(|(n, _)| *n == name).map(|(_, old)| old);
                let replaced = old.is_some();
                let entry = match entry.clone().into_table() {
                    Ok(mut table) => {
                        // A replaced table stays where it was, under the comments that were
                        // above it but not about it; a new one goes after the last of its kind.
                        let previous =
                            merged.doc.get(kind.key()).and_then(|s| s.get(name)).and_then(Item::as_table);
                        table.set_position(previous.and_then(Table::position));
                        if let Some((detached, _)) = previous.map(|p| detached_comments(prefix_of(p)))
                            && !detached.is_empty()
                        {
                            let prefix = join_comments(detached, detached_comments(prefix_of(&table)).1);
                            table.decor_mut().set_prefix(prefix);
                        }
                        if let Some(dir) = &rebase_to {
                            rebase_paths(kind, &mut table, dir);
                        }
                        if kind == Kind::Idp {
                            if let Some(old) = old {
                                keep_personal_keys(old, &mut table);
                            }
                            if !table.contains_key("username") {
                                table.insert("username", toml_edit::value(""));
                                summary.needs_username.push(name.to_string());
                            }
                        }
                        Item::Table(table)
                    }
                    // Not a table: the loader says what is wrong with it.
                    Err(other) => other,
                };
                let section = merged
                    .section_mut(kind)
                    .map_err(|e| ConfigError::Rejected { path: team_file.to_path_buf(), errors: vec![e] })?;
                section.insert(name, entry);
                let list = match (kind, replaced) {
                    (Kind::Idp, false) => &mut summary.idps_added,
                    (Kind::Idp, true) => &mut summary.idps_replaced,
                    (Kind::Db, false) => &mut summary.dbs_added,
                    (Kind::Db, true) => &mut summary.dbs_replaced,
                };
                list.push(name.to_string());
            }
        }
        if tables == 0 && other_keys == 0 {
            return Err(ConfigError::NothingToImport { path: team_file.to_path_buf() });
        }

        let mut check = merged.clone();
        for name in &summary.needs_username {
            if let Some(table) = check.entry_mut(Kind::Idp, name) {
                write_setting(table, "username", &Setting::Text(USERNAME_PLACEHOLDER.to_string()));
            }
        }
        check.validate().map_err(|errors| ConfigError::Rejected { path: team_file.to_path_buf(), errors })?;
        self.doc = merged.doc;
        Ok(summary)
    }
}

/// The absolute folder of `file`.
fn folder_of(file: &Path) -> Option<PathBuf> {
    std::path::absolute(file).ok()?.parent().map(Path::to_path_buf)
}

/// Copies the person's `username` and `authenticator` from the table being replaced when the
/// team's table has none.
fn keep_personal_keys(old: &dyn TableLike, team: &mut Table) {
    for key in PERSONAL_IDP_KEYS {
        if let (false, Some(value)) = (team.contains_key(key), old.get(key).and_then(Item::as_value)) {
            team.insert(key, Item::Value(value.clone()));
        }
    }
}

/// Makes the team file's relative paths (`ca_file`, `authenticator = "soft:PATH"`) absolute,
/// resolved against its folder `dir`, so they still name the same files in another folder.
fn rebase_paths(kind: Kind, table: &mut Table, dir: &Path) {
    let relative = |path: &str| {
        let path = path.trim();
        (!path.is_empty() && !path.starts_with("~/") && Path::new(path).is_relative())
            .then(|| dir.join(path).to_string_lossy().into_owned())
    };
    let ca_file = table.get("ca_file").and_then(Item::as_str).and_then(relative);
    if let Some(path) = ca_file {
        write_setting(table, "ca_file", &Setting::Text(path));
    }
    if kind == Kind::Idp {
        let key_file = table
            .get("authenticator")
            .and_then(Item::as_str)
            .and_then(|a| a.trim().strip_prefix("soft:"))
            .and_then(relative);
        if let Some(path) = key_file {
            write_setting(table, "authenticator", &Setting::Text(format!("soft:{path}")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;
    use crate::forms::IdpForm;

    const MINE: &str = r#"# Alice's Tapgate config.

[idp.corp]
issuer = "https://old-login.example.com"
client_id = "tapgate"
username = "alice@example.com"   # me

[db.prod]
idp = "corp"
host = "old-db.internal"
dbname = "app"
role = "app_rw"

# My own sandbox: not the team's business.
[db.sandbox]
idp = "corp"
host = "localhost"
dbname = "scratch"
role = "alice"
"#;

    const TEAM: &str = r#"# Shared by the data team.

[idp.corp]
issuer = "https://login.example.com"
client_id = "tapgate-v2"
audience = "postgres"

[db.prod]
idp = "corp"
host = "db.internal"
dbname = "app"
role = "app_ro"
roles = ["app_ro", "app_rw"]

# Read replica for reports.
[db.reports]
idp = "corp"
host = "reports.internal"
dbname = "reports"
role = "reader"
ca_file = "team-ca.pem"
"#;

    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    struct Setup {
        _dir: tempfile::TempDir,
        config: PathBuf,
        team: PathBuf,
    }

    /// My config in `home/`, the team file and its CA in `team/`.
    fn setup(mine: &str, team: &str) -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let (home, shared) = (dir.path().join("home"), dir.path().join("team"));
        std::fs::create_dir_all(&home).expect("mkdir");
        std::fs::create_dir_all(&shared).expect("mkdir");
        std::fs::write(shared.join("team-ca.pem"), CERT).expect("write");
        std::fs::write(home.join("config.toml"), mine).expect("write");
        std::fs::write(shared.join("team.toml"), team).expect("write");
        Setup { config: home.join("config.toml"), team: shared.join("team.toml"), _dir: dir }
    }

    #[test]
    fn a_team_config_adds_and_replaces_tables() {
        let s = setup(MINE, TEAM);
        let mut doc = ConfigDocument::load(&s.config).expect("load");
        let summary = doc.import(&s.team).expect("import");
        assert_eq!(
            summary,
            ImportSummary {
                idps_added: vec![],
                idps_replaced: vec!["corp".into()],
                dbs_added: vec!["reports".into()],
                dbs_replaced: vec!["prod".into()],
                needs_username: vec![],
            }
        );
        doc.save().expect("save");

        let config = Config::load(&s.config).expect("the loader reads it");
        let corp = config.idp(Some("corp")).expect("corp");
        assert_eq!(
            (corp.issuer.as_str(), corp.client_id.as_str()),
            ("https://login.example.com", "tapgate-v2")
        );
        assert_eq!(corp.username.as_deref(), Some("alice@example.com"), "my user name is kept");
        assert_eq!(config.db("prod").expect("prod").host, "db.internal");
        let reports = config.db("reports").expect("reports");
        assert_eq!(reports.ca_file.as_deref(), Some(s.team.with_file_name("team-ca.pem").as_path()));
        assert_eq!(config.db("sandbox").expect("sandbox").host, "localhost");

        let text = std::fs::read_to_string(&s.config).expect("read");
        assert!(text.starts_with("# Alice's Tapgate config.\n\n[idp.corp]\n"), "{text}");
        assert!(text.contains("# My own sandbox: not the team's business.\n[db.sandbox]"), "{text}");
        assert!(text.contains("# Read replica for reports.\n[db.reports]"), "{text}");
        let (prod, sandbox) = (text.find("[db.prod]"), text.find("[db.sandbox]"));
        assert!(prod < sandbox, "a replaced table keeps its place:\n{text}");
    }

    #[test]
    fn a_bad_team_config_changes_nothing() {
        let bad = TEAM.replace("role = \"reader\"", "role = \"reader\"\nsslmode = \"disable\"");
        let s = setup(MINE, &bad);
        let mut doc = ConfigDocument::load(&s.config).expect("load");
        let err = doc.import(&s.team).expect_err("refused");
        assert!(matches!(&err, ConfigError::Rejected { path, .. } if *path == s.team), "{err:?}");
        let errors = err.field_errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((errors[0].table.as_str(), errors[0].field.as_deref()), ("db.reports", Some("sslmode")));
        assert_eq!(doc.to_toml(), MINE);

        std::fs::write(&s.team, "[db.reports]\nhost = \n").expect("write");
        let err = doc.import(&s.team).expect_err("syntax").to_string();
        assert!(err.starts_with(&format!("{}:2:", s.team.display())), "{err}");
        std::fs::write(&s.team, "colour = \"blue\"\n").expect("write");
        let err = doc.import(&s.team).expect_err("unknown key");
        assert!(err.to_string().contains("unknown field `colour`"), "{err}");
        std::fs::write(&s.team, "# nothing here\n").expect("write");
        assert!(matches!(doc.import(&s.team), Err(ConfigError::NothingToImport { .. })));
        assert_eq!(doc.to_toml(), MINE);
        assert_eq!(std::fs::read_to_string(&s.config).expect("read"), MINE);
    }

    #[test]
    fn a_new_idp_from_the_team_asks_for_my_user_name() {
        let s = setup("", TEAM);
        let mut doc = ConfigDocument::load(&s.config).expect("load");
        let summary = doc.import(&s.team).expect("import");
        assert_eq!(summary.idps_added, vec!["corp"]);
        assert_eq!(summary.needs_username, vec!["corp"]);

        let err = doc.save().expect_err("no user name yet");
        let fields = err.field_errors();
        assert_eq!(fields.len(), 1, "{fields:?}");
        assert_eq!((fields[0].table.as_str(), fields[0].field.as_deref()), ("idp.corp", Some("username")));

        let corp = IdpForm { username: "bob@example.com".into(), ..doc.idps()[0].clone() };
        doc.upsert_idp(&corp, Some("corp")).expect("upsert");
        doc.save().expect("save");
        let config = Config::load(&s.config).expect("loads");
        assert_eq!(config.idp(Some("corp")).expect("corp").username.as_deref(), Some("bob@example.com"));
    }
}
