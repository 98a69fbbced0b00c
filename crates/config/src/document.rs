//! `config.toml` as an editable document (toml_edit): the app's settings forms read and change
//! its `[idp.*]` and `[db.*]` tables while comments, key order and untouched tables stay as the
//! person wrote them. Every save is checked by the file loader first, then written atomically.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use toml_edit::{DocumentMut, Item, Key, Table, TableLike};

use crate::forms::{
    DbForm, FieldError, IdpForm, Setting, db_settings, idp_settings, read_db, read_idp, write_setting,
    write_settings,
};
use crate::toml_place::{line_of, place_error};
use crate::{Config, ConfigError};

/// The first lines of a file the app creates.
const NEW_FILE_HEADER: &str = "# Tapgate configuration: [idp.NAME] and [db.NAME] tables, see docs/configuration.md.\n\
                               # The Tapgate app edits this file and keeps your comments.\n\n";

/// The two kinds of table a form edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Idp,
    Db,
}

impl Kind {
    /// The top-level key: `idp` for `[idp.NAME]`.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Kind::Idp => "idp",
            Kind::Db => "db",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Idp => "an IdP",
            Kind::Db => "a database",
        }
    }
}

/// `config.toml` as a toml_edit document: edits keep comments, key order and untouched tables.
///
/// Edits change the document in memory; [`ConfigDocument::save`] checks the whole document with
/// the file loader's rules and writes it only if they pass.
#[derive(Debug, Clone)]
pub struct ConfigDocument {
    pub(crate) path: PathBuf,
    pub(crate) doc: DocumentMut,
    /// The file's text when read or last saved (empty: no file), so a save does not overwrite
    /// changes made meanwhile by something else (an editor).
    on_disk: String,
}

impl ConfigDocument {
    /// Reads the file at `path`. A missing file is an empty document; saving it creates the file
    /// (and its folder) with a short header comment. A file that is not TOML is refused with
    /// the loader's file:line: key message; one that is TOML but breaks other rules loads, so the
    /// app can show and fix it.
    pub fn load(path: &Path) -> Result<ConfigDocument, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => ConfigDocument::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ConfigDocument::parse(path, ""),
            Err(source) => Err(ConfigError::Read { path: path.to_path_buf(), source }),
        }
    }

    /// The document of `text`, taken to be what the file at `path` holds now (relative paths
    /// in it are relative to `path`'s folder, and saving checks the file still holds `text`).
    pub fn parse(path: &Path, text: &str) -> Result<ConfigDocument, ConfigError> {
        let doc = text.parse::<DocumentMut>().map_err(|e| syntax_error(path, text, &e))?;
        Ok(ConfigDocument { path: path.to_path_buf(), doc, on_disk: text.to_string() })
    }

    /// The file this document is saved to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The text [`ConfigDocument::save`] would write.
    pub fn to_toml(&self) -> String {
        let body = self.doc.to_string();
        if self.on_disk.trim().is_empty() && !body.trim_start().starts_with('#') {
            format!("{NEW_FILE_HEADER}{body}")
        } else {
            body
        }
    }

    /// The `[idp.*]` tables as forms, in file order.
    pub fn idps(&self) -> Vec<IdpForm> {
        self.entries(Kind::Idp).map(|(name, table)| read_idp(name, table)).collect()
    }

    /// The `[db.*]` tables as forms, in file order.
    pub fn databases(&self) -> Vec<DbForm> {
        self.entries(Kind::Db).map(|(name, table)| read_db(name, table)).collect()
    }

    /// Adds an IdP, or changes the one the form was opened on, `previous_name` (`None` for a new
    /// one). Only keys whose value changed are rewritten. Renaming also points the databases
    /// that used the old name at the new one. Refused when the name belongs to another IdP.
    pub fn upsert_idp(&mut self, form: &IdpForm, previous_name: Option<&str>) -> Result<(), FieldError> {
        let name = form.name.trim();
        let renamed = self.place(Kind::Idp, name, previous_name)?;
        if let Some(old) = renamed {
            let dbs: Vec<String> =
                self.databases().into_iter().filter(|db| db.idp.trim() == old).map(|db| db.name).collect();
            for db in dbs {
                if let Some(table) = self.entry_mut(Kind::Db, &db) {
                    write_setting(table, "idp", &Setting::Text(name.to_string()));
                }
            }
        }
        self.write_entry(Kind::Idp, name, |table, existed| {
            let before = existed.then(|| idp_settings(&read_idp(name, table)));
            write_settings(table, before.as_deref(), &idp_settings(form));
        })
    }

    /// Adds a database, or changes the one the form was opened on, `previous_name` (`None` for a
    /// new one). Only keys whose value changed are rewritten. Refused when the name belongs to
    /// another database.
    pub fn upsert_db(&mut self, form: &DbForm, previous_name: Option<&str>) -> Result<(), FieldError> {
        let name = form.name.trim();
        self.place(Kind::Db, name, previous_name)?;
        self.write_entry(Kind::Db, name, |table, existed| {
            // The form's role is the table's `user` when the table names it so (`role` and
            // `user` are one key under two names; a table has one of them).
            let user_key = |mut settings: Vec<(&'static str, Setting)>| {
                if table.contains_key("user") {
                    settings.iter_mut().filter(|(key, _)| *key == "role").for_each(|(key, _)| *key = "user");
                }
                settings
            };
            let before = existed.then(|| user_key(db_settings(&read_db(name, table))));
            let after = user_key(db_settings(form));
            write_settings(table, before.as_deref(), &after);
        })
    }

    /// Removes an IdP (and the comments above its table). Refused while a database uses it.
    pub fn remove_idp(&mut self, name: &str) -> Result<(), FieldError> {
        let users: Vec<String> = self
            .databases()
            .into_iter()
            .filter(|db| db.idp.trim() == name)
            .map(|db| format!("[db.{}]", db.name))
            .collect();
        if !users.is_empty() {
            return Err(FieldError {
                table: format!("idp.{name}"),
                field: None,
                message: format!(
                    "still used by {}: remove those databases or point them at another IdP first",
                    users.join(", ")
                ),
            });
        }
        self.remove_entry(Kind::Idp, name);
        Ok(())
    }

    /// Removes a database (and the comments above its table); nothing happens if there is none.
    pub fn remove_db(&mut self, name: &str) {
        self.remove_entry(Kind::Db, name);
    }

    /// Checks the whole document with the file loader's rules ([`crate::validate::parse_all`]):
    /// each refused table gives its first problem, placed on its table and field.
    pub fn validate(&self) -> Result<Config, Vec<FieldError>> {
        crate::validate::parse_all(&self.path, &self.doc.to_string()).map_err(|errors| {
            let tables = self.table_names();
            errors
                .iter()
                .map(|e| match e {
                    ConfigError::Invalid { key, message, .. } => FieldError::at_key(key, message, &tables),
                    other => FieldError { table: String::new(), field: None, message: other.to_string() },
                })
                .collect()
        })
    }

    /// Checks the document ([`ConfigDocument::validate`]; refused: [`ConfigError::Rejected`]),
    /// then writes it atomically: a temporary file in the same folder, given the old file's
    /// permissions, then renamed over it (a symlinked file is written where the link points).
    /// Refused with [`ConfigError::ChangedOnDisk`] if the file changed since it was read.
    pub fn save(&mut self) -> Result<Config, ConfigError> {
        let config =
            self.validate().map_err(|errors| ConfigError::Rejected { path: self.path.clone(), errors })?;
        let now = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(ConfigError::Read { path: self.path.clone(), source }),
        };
        if now != self.on_disk {
            return Err(ConfigError::ChangedOnDisk { path: self.path.clone() });
        }
        let text = self.to_toml();
        write_atomically(&self.path, &text)
            .map_err(|source| ConfigError::Write { path: self.path.clone(), source })?;
        // Keep the header (if one was added) in the document too, so later saves keep it.
        if let Ok(doc) = text.parse::<DocumentMut>() {
            self.doc = doc;
        }
        self.on_disk = text;
        Ok(config)
    }

    /// `idp.corp`, `db.prod`, ...: the names errors are placed on.
    fn table_names(&self) -> Vec<String> {
        [Kind::Idp, Kind::Db]
            .into_iter()
            .flat_map(|kind| self.entries(kind).map(move |(name, _)| format!("{}.{name}", kind.key())))
            .collect()
    }

    /// The tables of one kind, as (name, table), in file order.
    pub(crate) fn entries(&self, kind: Kind) -> impl Iterator<Item = (&str, &dyn TableLike)> {
        self.doc
            .get(kind.key())
            .and_then(Item::as_table_like)
            .into_iter()
            .flat_map(|section| section.iter())
            .filter_map(|(name, item)| Some((name, item.as_table_like()?)))
    }

    pub(crate) fn entry_mut(&mut self, kind: Kind, name: &str) -> Option<&mut dyn TableLike> {
        self.doc.get_mut(kind.key())?.as_table_like_mut()?.get_mut(name)?.as_table_like_mut()
    }

    /// The `[idp]` or `[db]` table that holds the named tables, made when missing (without a
    /// header of its own). One written inline (`idp = { corp = { ... } }`) becomes a table.
    pub(crate) fn section_mut(&mut self, kind: Kind) -> Result<&mut Table, FieldError> {
        let item = self.doc.as_table_mut().entry(kind.key()).or_insert_with(|| {
            let mut section = Table::new();
            section.set_implicit(true);
            Item::Table(section)
        });
        if item.is_inline_table() {
            let inline = std::mem::take(item);
            *item = inline.into_table().map_or(Item::None, Item::Table);
        }
        item.as_table_mut().ok_or_else(|| FieldError {
            table: String::new(),
            field: Some(kind.key().to_string()),
            message: format!("`{}` is not a table in this file: fix it by hand", kind.key()),
        })
    }

    /// Makes room for table `name` of the form opened on `previous`: refuses a name that belongs
    /// to another table, renames `previous` to `name`. Returns the old name if it renamed.
    fn place<'p>(
        &mut self,
        kind: Kind,
        name: &str,
        previous: Option<&'p str>,
    ) -> Result<Option<&'p str>, FieldError> {
        let exists = |doc: &ConfigDocument, n: &str| doc.entries(kind).any(|(e, _)| e == n);
        if previous != Some(name) && exists(self, name) {
            return Err(FieldError {
                table: format!("{}.{name}", kind.key()),
                field: Some("name".to_string()),
                message: format!("there is already {} called `{name}`", kind.label()),
            });
        }
        let Some(old) = previous.filter(|old| *old != name && exists(self, old)) else {
            return Ok(None);
        };
        let section = self.section_mut(kind)?;
        if let Some((key, item)) = section.remove_entry(old) {
            let key = Key::new(name)
                .with_leaf_decor(key.leaf_decor().clone())
                .with_dotted_decor(key.dotted_decor().clone());
            section.insert_formatted(&key, item);
        }
        Ok(Some(old))
    }

    /// Runs `write` on table `name`, made first if missing (`write` is told whether it existed).
    fn write_entry(
        &mut self,
        kind: Kind,
        name: &str,
        write: impl FnOnce(&mut dyn TableLike, bool),
    ) -> Result<(), FieldError> {
        let existed = self.entry_mut(kind, name).is_some();
        if !existed {
            // A new table goes after the last one of its kind (toml_edit places a table without
            // a position after the table before it).
            self.section_mut(kind)?.insert(name, Item::Table(Table::new()));
        }
        match self.entry_mut(kind, name) {
            Some(table) => {
                write(table, existed);
                Ok(())
            }
            None => Err(FieldError {
                table: format!("{}.{name}", kind.key()),
                field: None,
                message: "this entry is not a table in the file: fix it by hand".to_string(),
            }),
        }
    }

    /// Removes table `name` with its own comment; comments above it that a blank line sets
    /// apart (the file's header, notes between tables) move to the table that came next.
    fn remove_entry(&mut self, kind: Kind, name: &str) {
        let Some(section) = self.doc.get_mut(kind.key()).and_then(Item::as_table_like_mut) else {
            return;
        };
        let Some(Item::Table(removed)) = section.remove(name) else {
            return;
        };
        let (detached, _) = detached_comments(prefix_of(&removed));
        if detached.is_empty() {
            return;
        }
        let mut positioned = Vec::new();
        positioned_tables(self.doc.as_table(), &mut Vec::new(), &mut positioned);
        let after = removed.position().unwrap_or(isize::MAX);
        let next = positioned.into_iter().filter(|(p, _)| *p > after).min_by_key(|(p, _)| *p);
        let next = next.and_then(|(_, path)| {
            path.iter().try_fold(self.doc.as_table_mut(), |t, key| t.get_mut(key)?.as_table_mut())
        });
        match next {
            Some(table) => {
                let prefix = join_comments(detached, prefix_of(table));
                table.decor_mut().set_prefix(prefix);
            }
            None => {
                let trailing = self.doc.trailing().as_str().unwrap_or("").to_string();
                self.doc.set_trailing(join_comments(detached, &trailing));
            }
        }
    }
}

/// The comment lines above a table's header (its decoration before `[`).
pub(crate) fn prefix_of(table: &Table) -> &str {
    table.decor().prefix().and_then(|p| p.as_str()).unwrap_or("")
}

/// Splits the text above a table header into (comments a blank line sets apart from the table,
/// the table's own comment). The first is empty when it holds no comment.
pub(crate) fn detached_comments(prefix: &str) -> (&str, &str) {
    let mut split = 0;
    let mut offset = 0;
    for line in prefix.split_inclusive('\n') {
        offset += line.len();
        if line.ends_with('\n') && line.trim().is_empty() {
            split = offset;
        }
    }
    let (detached, own) = prefix.split_at(split);
    if detached.contains('#') { (detached, own) } else { ("", prefix) }
}

/// `detached` comments put above `rest`, without doubling the blank line between them.
pub(crate) fn join_comments(detached: &str, rest: &str) -> String {
    let rest = if detached.ends_with("\n\n") { rest.strip_prefix('\n').unwrap_or(rest) } else { rest };
    format!("{detached}{rest}")
}

/// (position, key path) of every table with a `[header]` of its own placed by the parser.
fn positioned_tables(table: &Table, path: &mut Vec<String>, out: &mut Vec<(isize, Vec<String>)>) {
    if let (Some(position), false, false) = (table.position(), table.is_implicit(), table.is_dotted())
        && !path.is_empty()
    {
        out.push((position, path.clone()));
    }
    for (key, item) in table.iter() {
        if let Item::Table(child) = item {
            path.push(key.to_string());
            positioned_tables(child, path, out);
            path.pop();
        }
    }
}

/// A TOML syntax error placed as the loader places it (file:line: key: message).
fn syntax_error(path: &Path, text: &str, error: &toml_edit::TomlError) -> ConfigError {
    let (offset, key, message) = match toml::from_str::<toml::Table>(text) {
        Err(e) => place_error(text, &e),
        // The two parsers agree on TOML; should they not, toml_edit's own words will do.
        Ok(_) => {
            (error.span().map_or(0, |s| s.start), "(file)".to_string(), error.message().trim().to_string())
        }
    };
    ConfigError::Invalid { path: path.to_path_buf(), line: line_of(text, offset), key, message }
}

/// Writes `text` to `path` so that a reader sees the old file or the new one, never half of one:
/// a temporary file next to it, flushed, then renamed over it. The old file's permissions are
/// kept; a symlink is followed, so the file it points to is replaced and the link stays.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let target = match std::fs::canonicalize(path) {
        Ok(target) => target,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => path.to_path_buf(),
        Err(e) => return Err(e),
    };
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let permissions = std::fs::metadata(&target).ok().map(|m| m.permissions());
    let file_name = target.file_name().map_or_else(|| "config.toml".into(), |n| n.to_string_lossy());
    let temp = dir.join(format!(
        ".{file_name}.{}-{}.tmp",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp)?;
        file.write_all(text.as_bytes())?;
        if let Some(permissions) = permissions {
            file.set_permissions(permissions)?;
        }
        file.sync_all()?;
        std::fs::rename(&temp, &target)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written?;
    // The rename itself is durable once the folder is flushed (not possible on Windows).
    #[cfg(unix)]
    if let Ok(folder) = std::fs::File::open(&dir) {
        let _ = folder.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMENTED: &str = r#"# My Tapgate setup.
# Ask Bob before changing the IdP.

[idp.corp]
# The company IdP.
issuer = "https://login.example.com/"   # trailing slash matters
client_id = "tapgate"
username = "alice@example.com"
audience = "postgres"

# Production: read-write by default.
[db.prod]
idp = "corp"
host = "db.internal"     # behind the VPN
port = 5433
dbname = "app"
role = "app_rw"
roles = [
    "app_ro",   # for reports
    "app_rw",
]

[db.reports]
idp = "corp"
host = "reports.internal"
dbname = "reports"
role = "reader"
# end of file
"#;

    fn idp(name: &str) -> IdpForm {
        IdpForm {
            name: name.to_string(),
            issuer: "https://login.example.com".to_string(),
            client_id: "tapgate".to_string(),
            username: "alice@example.com".to_string(),
            dialect: None,
            authenticator: "usb".to_string(),
            rp_origin: None,
            audience: None,
            scopes: Vec::new(),
            ca_file: None,
        }
    }

    fn db(name: &str, idp: &str) -> DbForm {
        DbForm {
            name: name.to_string(),
            idp: idp.to_string(),
            host: "db.internal".to_string(),
            port: None,
            dbname: "app".to_string(),
            role: "app_rw".to_string(),
            roles: Vec::new(),
            auth: None,
            sslmode: None,
            sslnegotiation: None,
            ca_file: None,
            local_port: None,
            max_connections: None,
        }
    }

    /// A document of `text` saved in a fresh folder as `config.toml`.
    fn on_disk(text: &str) -> (tempfile::TempDir, PathBuf, ConfigDocument) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).expect("write");
        let doc = ConfigDocument::load(&path).expect("load");
        (dir, path, doc)
    }

    fn form_of<T>(forms: &[T], name: impl Fn(&T) -> bool) -> &T {
        forms.iter().find(|f| name(f)).expect("form")
    }

    #[test]
    fn editing_one_field_keeps_every_comment_and_other_table() {
        let (_dir, path, mut doc) = on_disk(COMMENTED);
        let mut prod = form_of(&doc.databases(), |d| d.name == "prod").clone();
        assert_eq!(prod.port, Some(5433));
        assert_eq!(prod.roles, vec!["app_ro", "app_rw"]);
        prod.host = "db2.internal".to_string();
        doc.upsert_db(&prod, Some("prod")).expect("upsert");
        doc.save().expect("save");

        let expected = COMMENTED.replace("host = \"db.internal\"", "host = \"db2.internal\"");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), expected);
        assert_eq!(Config::load(&path).expect("loads").db("prod").expect("prod").host, "db2.internal");
    }

    #[test]
    fn saving_unchanged_forms_changes_nothing() {
        let text = format!(
            "{COMMENTED}\n[db.explicit]\nidp = \"corp\"\nhost='h'\nport = 5432\ndbname = \"d\"\nrole = \"r\"\nsslmode = \"verify-full\"\n"
        );
        let (_dir, _path, mut doc) = on_disk(&text);
        for form in doc.idps() {
            doc.upsert_idp(&form, Some(&form.name)).expect("idp");
        }
        for form in doc.databases() {
            doc.upsert_db(&form, Some(&form.name)).expect("db");
        }
        assert_eq!(doc.to_toml(), text);
    }

    #[test]
    fn none_and_default_values_remove_their_keys() {
        let (_dir, _path, mut doc) = on_disk(COMMENTED);
        let mut prod = form_of(&doc.databases(), |d| d.name == "prod").clone();
        prod.port = Some(5432);
        prod.roles = Vec::new();
        prod.sslmode = Some("require".to_string());
        doc.upsert_db(&prod, Some("prod")).expect("upsert");
        let mut corp = doc.idps()[0].clone();
        corp.audience = Some("  ".to_string());
        doc.upsert_idp(&corp, Some("corp")).expect("upsert");

        let text = doc.to_toml();
        assert!(!text.contains("port = ") && !text.contains("roles") && !text.contains("audience"), "{text}");
        assert!(text.contains("role = \"app_rw\"\nsslmode = \"require\"\n\n[db.reports]"), "{text}");
        assert!(text.contains("# Production: read-write by default.\n[db.prod]"), "{text}");
    }

    #[test]
    fn a_missing_file_gets_an_idp_and_a_database_the_loader_reads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tapgate").join("config.toml");
        let mut doc = ConfigDocument::load(&path).expect("missing is empty");
        assert!(doc.idps().is_empty() && doc.databases().is_empty());

        doc.upsert_idp(&idp("corp"), None).expect("idp");
        let mut prod = db("prod", "corp");
        prod.port = Some(6432);
        prod.roles = vec!["app_ro".to_string(), "app_rw".to_string()];
        doc.upsert_db(&prod, None).expect("db");
        doc.save().expect("save");

        let text = std::fs::read_to_string(&path).expect("written");
        assert!(text.starts_with("# Tapgate configuration"), "{text}");
        assert!(!text.contains("[idp]") && !text.contains("[db]"), "{text}");
        let config = Config::load(&path).expect("the loader reads it");
        assert_eq!(config.idp(None).expect("corp").issuer, "https://login.example.com");
        let loaded = config.db("prod").expect("prod");
        assert_eq!((loaded.port, loaded.allowed_roles()), (6432, vec!["app_rw".into(), "app_ro".into()]));

        // A second save keeps the header and reads back the same forms.
        let mut again = ConfigDocument::load(&path).expect("load");
        assert_eq!(again.databases(), vec![prod]);
        again
            .upsert_idp(&IdpForm { audience: Some("postgres".into()), ..idp("corp") }, Some("corp"))
            .expect("idp");
        again.save().expect("save");
        assert!(std::fs::read_to_string(&path).expect("read").starts_with("# Tapgate configuration"));
    }

    #[test]
    fn a_new_idp_goes_after_the_other_idps() {
        let (_dir, _path, mut doc) = on_disk(COMMENTED);
        doc.upsert_idp(&idp("staff"), None).expect("idp");
        let text = doc.to_toml();
        let (staff, prod) = (text.find("[idp.staff]"), text.find("[db.prod]"));
        assert!(staff.is_some() && staff < prod, "{text}");
        doc.validate().expect("valid");
    }

    #[test]
    fn renaming_an_idp_moves_its_databases_along() {
        let (_dir, path, mut doc) = on_disk(COMMENTED);
        let corp = IdpForm { name: "work".to_string(), ..doc.idps()[0].clone() };
        doc.upsert_idp(&corp, Some("corp")).expect("rename");
        doc.save().expect("save");

        let text = std::fs::read_to_string(&path).expect("read");
        let expected =
            COMMENTED.replace("[idp.corp]", "[idp.work]").replace("idp = \"corp\"", "idp = \"work\"");
        assert_eq!(text, expected);
        let config = Config::load(&path).expect("loads");
        assert_eq!(config.db("reports").expect("reports").idp, "work");
    }

    #[test]
    fn a_table_naming_its_user_keeps_user_when_edited_in_the_form() {
        let text = COMMENTED.replacen("role = ", "user = ", 1);
        let (_dir, path, mut doc) = on_disk(&text);
        // The first `role = ` of the file, now `user = `, is the first database's.
        let first =
            text[text.find("[db.").expect("a database") + 4..].split(']').next().expect("name").to_string();
        let mut form = doc.databases().into_iter().find(|d| d.name == first).expect("the first database");
        let name = form.name.clone();
        assert!(!form.role.is_empty(), "the form shows the user as the role");
        form.role = "{email}".to_string();
        doc.upsert_db(&form, Some(&name)).expect("edit");
        doc.save().expect("save");
        let saved = std::fs::read_to_string(&path).expect("read");
        assert!(saved.contains("user = \"{email}\""), "{saved}");
        assert_eq!(saved.matches("user = ").count(), 1, "{saved}");
        let config = Config::load(&path).expect("loads: no table has both role and user");
        assert!(config.dbs.values().any(|db| db.user_template.is_some()));
    }

    #[test]
    fn renaming_a_database_keeps_its_place() {
        let (_dir, _path, mut doc) = on_disk(COMMENTED);
        let prod = DbForm {
            name: "production".to_string(),
            ..form_of(&doc.databases(), |d| d.name == "prod").clone()
        };
        doc.upsert_db(&prod, Some("prod")).expect("rename");
        assert_eq!(doc.to_toml(), COMMENTED.replace("[db.prod]", "[db.production]"));
    }

    #[test]
    fn a_name_that_is_taken_is_refused() {
        let (_dir, _path, mut doc) = on_disk(COMMENTED);
        let reports = DbForm { name: "reports".to_string(), ..db("prod", "corp") };
        let err = doc.upsert_db(&reports, Some("prod")).expect_err("taken");
        assert_eq!((err.table.as_str(), err.field.as_deref()), ("db.reports", Some("name")));
        let err = doc.upsert_idp(&idp("corp"), None).expect_err("taken");
        assert!(err.message.contains("already an IdP called `corp`"), "{err}");
        assert_eq!(doc.to_toml(), COMMENTED);
    }

    #[test]
    fn an_idp_in_use_is_not_removed() {
        let (_dir, _path, mut doc) = on_disk(COMMENTED);
        let err = doc.remove_idp("corp").expect_err("in use");
        assert_eq!((err.table.as_str(), err.field.as_deref()), ("idp.corp", None));
        assert!(err.message.contains("[db.prod], [db.reports]"), "{err}");
        assert_eq!(doc.to_toml(), COMMENTED);

        doc.remove_db("prod");
        doc.remove_db("reports");
        doc.remove_idp("corp").expect("unused now");
        let text = doc.to_toml();
        assert!(!text.contains("[idp.corp]") && !text.contains("Production"), "{text}");
        assert!(text.starts_with("# My Tapgate setup."), "{text}");
    }

    #[test]
    fn removing_the_first_table_keeps_the_file_header() {
        let text = "# Team databases.\n\n# A is old.\n[db.a]\nidp = \"corp\"\n\n[db.b]\nidp = \"corp\"\n";
        let (_dir, _path, mut doc) = on_disk(text);
        doc.remove_db("a");
        assert_eq!(doc.to_toml(), "# Team databases.\n\n[db.b]\nidp = \"corp\"\n");
    }

    #[test]
    fn problems_are_placed_on_their_table_and_field() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        let mut doc = ConfigDocument::load(&path).expect("empty");
        doc.upsert_idp(&IdpForm { issuer: "http://login.example.com".into(), ..idp("corp") }, None)
            .expect("idp");
        doc.upsert_idp(&idp("good"), None).expect("idp");
        doc.upsert_db(&db("orphan", "okta"), None).expect("db");
        doc.upsert_db(&DbForm { port: Some(0), ..db("badport", "good") }, None).expect("db");
        doc.upsert_db(&DbForm { sslmode: Some("disable".into()), ..db("plain", "good") }, None).expect("db");
        // The IdP with the bad issuer is declared, so its databases are not also "unknown".
        doc.upsert_db(&db("oncorp", "corp"), None).expect("db");

        let errors = doc.validate().expect_err("refused");
        let placed: Vec<(&str, Option<&str>)> =
            errors.iter().map(|e| (e.table.as_str(), e.field.as_deref())).collect();
        assert_eq!(
            placed,
            vec![
                ("idp.corp", Some("issuer")),
                ("db.badport", Some("port")),
                ("db.orphan", Some("idp")),
                ("db.plain", Some("sslmode")),
            ]
        );
        // The loader's own words, for the same file.
        let loader = crate::validate::parse(&path, &doc.to_toml()).expect_err("refused").to_string();
        assert!(loader.ends_with(&errors[0].message), "{loader} vs {}", errors[0].message);
        assert!(errors[0].message.contains("must be an https URL"), "{}", errors[0]);
        assert!(errors[1].message.contains("0 is not a port"), "{}", errors[1]);
        assert!(errors[2].message.contains("no [idp.okta] table"), "{}", errors[2]);
        assert!(errors[3].message.contains("without TLS"), "{}", errors[3]);

        let refused = doc.save().expect_err("refused");
        assert!(matches!(refused, ConfigError::Rejected { .. }), "{refused:?}");
        assert_eq!(refused.field_errors(), errors);
        assert!(!path.exists(), "nothing is written when refused");
    }

    #[test]
    fn a_bad_table_name_is_placed_on_the_name_field() {
        let (_dir, _path, mut doc) = on_disk(COMMENTED);
        doc.upsert_idp(&idp("my idp"), None).expect("idp");
        let errors = doc.validate().expect_err("refused");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((errors[0].table.as_str(), errors[0].field.as_deref()), ("idp.my idp", Some("name")));
    }

    #[test]
    fn a_file_that_is_not_toml_is_refused_with_its_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[idp.corp]\nissuer = \n").expect("write");
        let err = ConfigDocument::load(&path).expect_err("syntax").to_string();
        assert!(err.starts_with(&format!("{}:2:", path.display())), "{err}");
    }

    #[test]
    fn a_change_made_elsewhere_is_not_overwritten() {
        let (_dir, path, mut doc) = on_disk(COMMENTED);
        std::fs::write(&path, format!("{COMMENTED}# edited by hand\n")).expect("write");
        doc.remove_db("reports");
        assert!(matches!(doc.save(), Err(ConfigError::ChangedOnDisk { .. })));
        assert!(std::fs::read_to_string(&path).expect("read").ends_with("# edited by hand\n"));
    }

    #[cfg(unix)]
    #[test]
    fn saving_keeps_the_file_mode_and_leaves_no_temporary_file() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, path, mut doc) = on_disk(COMMENTED);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        doc.remove_db("reports");
        doc.save().expect("save");
        let mode = std::fs::metadata(&path).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let names: Vec<_> =
            std::fs::read_dir(dir.path()).expect("dir").flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("config.toml")]);
    }

    #[cfg(unix)]
    #[test]
    fn saving_through_a_symlink_replaces_its_target() {
        let (dir, target, _) = on_disk(COMMENTED);
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let mut doc = ConfigDocument::load(&link).expect("load");
        doc.remove_db("reports");
        doc.save().expect("save");
        assert!(std::fs::symlink_metadata(&link).expect("link").file_type().is_symlink());
        assert!(!std::fs::read_to_string(&target).expect("read").contains("[db.reports]"));
    }
}
