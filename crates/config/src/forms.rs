//! What the app's settings forms edit: an IdP or a database as typed, read from a `toml_edit`
//! table and written back key by key, so keys a form did not change keep their formatting and
//! comments. Checking is not done here: the document runs the file loader (`validate.rs`).

use std::fmt;

use serde::{Deserialize, Serialize};
use toml_edit::{Array, Item, TableLike, Value};

use crate::resolved::{DEFAULT_MAX_CONNECTIONS, DEFAULT_SCOPES, Dialect};
use crate::validate::is_valid_name;

/// What the loader assumes for keys a table leaves out (`validate.rs` applies the same ones;
/// `defaults_agree_with_the_loader` below keeps the two in step). A form value equal to its
/// default is written by leaving the key out.
const DEFAULT_PORT: u16 = 5432;
const DEFAULT_AUTHENTICATOR: &str = "usb";
const DEFAULT_AUTH: &str = "password";
const DEFAULT_SSLMODE: &str = "verify-full";
const DEFAULT_SSLNEGOTIATION: &str = "postgres";

/// An `[idp.NAME]` table as the app's IdP form shows it: values as typed, defaults filled in
/// where a key is left out. Empty optional strings mean "leave the key out".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct IdpForm {
    /// The table name, `corp` in `[idp.corp]`.
    pub name: String,
    /// OIDC issuer URL (https).
    pub issuer: String,
    /// OAuth client id registered for Tapgate.
    pub client_id: String,
    /// The person's user name at the IdP (login hint).
    pub username: String,
    /// Passkey sign-in API; `None` is `auth0`.
    pub dialect: Option<String>,
    /// `usb` (the default) or `soft:/path/to/key-file`.
    pub authenticator: String,
    /// WebAuthn origin; `None` is the issuer's origin.
    pub rp_origin: Option<String>,
    /// Audience to ask for.
    pub audience: Option<String>,
    /// OAuth scopes; the defaults when the file names none. Empty means the defaults.
    pub scopes: Vec<String>,
    /// Extra PEM trust root for the IdP's TLS.
    pub ca_file: Option<String>,
}

/// A `[db.NAME]` table as the app's database form shows it. `None` means "leave the key out"
/// (the loader's default applies); so does an empty string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DbForm {
    /// The table name, `prod` in `[db.prod]`.
    pub name: String,
    /// The `[idp.NAME]` whose tokens the server accepts.
    pub idp: String,
    /// Upstream host name or IP address.
    pub host: String,
    /// Upstream port; `None` is 5432.
    pub port: Option<u16>,
    /// Default database.
    pub dbname: String,
    /// Default role.
    pub role: String,
    /// Roles a client may pick by its user name.
    pub roles: Vec<String>,
    /// `password` (default) or `oauthbearer`.
    pub auth: Option<String>,
    /// `verify-full` (default), `verify-ca` or `require`.
    pub sslmode: Option<String>,
    /// `postgres` (default) or `direct`.
    pub sslnegotiation: Option<String>,
    /// Extra PEM trust root for the server's certificate.
    pub ca_file: Option<String>,
    /// Fixed loopback port; `None` is chosen once and remembered.
    pub local_port: Option<u16>,
    /// Most client connections at once; `None` is 100.
    pub max_connections: Option<u32>,
}

/// One problem, addressed to a form field so the UI can show it next to that field. The message
/// is the file loader's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FieldError {
    /// `idp.corp`, `db.prod`, or empty for the file as a whole.
    pub table: String,
    /// The key within the table (`issuer`); `name` for the table's name; `None` for the whole table.
    pub field: Option<String>,
    pub message: String,
}

impl FieldError {
    /// A problem the loader reported for the dotted `key` (`idp.corp.issuer`). `tables` are the
    /// document's table names (`idp.corp`), which settle keys whose table name has dots in it.
    pub fn at_key(key: &str, message: &str, tables: &[String]) -> FieldError {
        let known = tables
            .iter()
            .filter(|t| key == t.as_str() || key.strip_prefix(t.as_str()).is_some_and(|r| r.starts_with('.')))
            .max_by_key(|t| t.len())
            .map(|t| (t.clone(), key[t.len()..].strip_prefix('.').map(str::to_string)));
        let (table, mut field) = known.unwrap_or_else(|| split_key(key));
        // The loader names a table it refuses for its name by the table alone.
        let bad_name = table.split_once('.').is_some_and(|(_, name)| !is_valid_name(name));
        if field.is_none() && bad_name {
            field = Some("name".to_string());
        }
        FieldError { table, field, message: message.to_string() }
    }
}

/// `idp.corp.issuer` -> (`idp.corp`, `issuer`); keys outside `[idp.*]`/`[db.*]` belong to the file.
fn split_key(key: &str) -> (String, Option<String>) {
    for kind in ["idp", "db"] {
        if let Some(rest) = key.strip_prefix(kind).and_then(|r| r.strip_prefix('.')) {
            return match rest.split_once('.') {
                Some((name, field)) => (format!("{kind}.{name}"), Some(field.to_string())),
                None => (format!("{kind}.{rest}"), None),
            };
        }
    }
    match key {
        "" | "(file)" => (String::new(), None),
        other => (String::new(), Some(other.to_string())),
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.table.as_str(), &self.field) {
            ("", None) => f.write_str(&self.message),
            ("", Some(field)) => write!(f, "{field}: {}", self.message),
            (table, None) => write!(f, "{table}: {}", self.message),
            (table, Some(field)) => write!(f, "{table}.{field}: {}", self.message),
        }
    }
}

/// What one key of a table should hold, normalised so that equal settings mean the same file:
/// trimmed, empty dropped, defaults left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Setting {
    /// Leave the key out (the loader's default applies).
    Absent,
    Text(String),
    Number(i64),
    List(Vec<String>),
}

/// A required key: always written, even empty, so the loader says what is wrong with it.
fn required(text: &str) -> Setting {
    Setting::Text(text.trim().to_string())
}

fn optional(text: Option<&str>, default: Option<&str>) -> Setting {
    match text.map(str::trim) {
        None | Some("") => Setting::Absent,
        Some(t) if Some(t) == default => Setting::Absent,
        Some(t) => Setting::Text(t.to_string()),
    }
}

fn number(value: Option<i64>, default: Option<i64>) -> Setting {
    match value {
        None => Setting::Absent,
        Some(n) if Some(n) == default => Setting::Absent,
        Some(n) => Setting::Number(n),
    }
}

fn list(items: &[String], default: &[&str]) -> Setting {
    let items: Vec<String> =
        items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).map(str::to_string).collect();
    if items.is_empty() || items == default { Setting::Absent } else { Setting::List(items) }
}

/// The keys of an `[idp.NAME]` table, in the order of docs/configuration.md.
pub(crate) fn idp_settings(form: &IdpForm) -> Vec<(&'static str, Setting)> {
    vec![
        ("issuer", required(&form.issuer)),
        ("client_id", required(&form.client_id)),
        ("username", required(&form.username)),
        ("dialect", optional(form.dialect.as_deref(), Some(Dialect::Auth0.as_str()))),
        ("authenticator", optional(Some(&form.authenticator), Some(DEFAULT_AUTHENTICATOR))),
        ("rp_origin", optional(form.rp_origin.as_deref(), None)),
        ("audience", optional(form.audience.as_deref(), None)),
        ("scopes", list(&form.scopes, DEFAULT_SCOPES)),
        ("ca_file", optional(form.ca_file.as_deref(), None)),
    ]
}

/// The keys of a `[db.NAME]` table, in the order of docs/configuration.md.
pub(crate) fn db_settings(form: &DbForm) -> Vec<(&'static str, Setting)> {
    let default_max = i64::try_from(DEFAULT_MAX_CONNECTIONS).ok();
    vec![
        ("idp", required(&form.idp)),
        ("host", required(&form.host)),
        ("port", number(form.port.map(i64::from), Some(i64::from(DEFAULT_PORT)))),
        ("dbname", required(&form.dbname)),
        ("role", required(&form.role)),
        ("roles", list(&form.roles, &[])),
        ("auth", optional(form.auth.as_deref(), Some(DEFAULT_AUTH))),
        ("sslmode", optional(form.sslmode.as_deref(), Some(DEFAULT_SSLMODE))),
        ("sslnegotiation", optional(form.sslnegotiation.as_deref(), Some(DEFAULT_SSLNEGOTIATION))),
        ("ca_file", optional(form.ca_file.as_deref(), None)),
        ("local_port", number(form.local_port.map(i64::from), None)),
        ("max_connections", number(form.max_connections.map(i64::from), default_max)),
    ]
}

/// Writes `after` into `table`, touching only keys whose setting differs from `before` (all of
/// them for a new table, `before` = `None`). A changed value keeps the old one's surrounding
/// spaces and trailing comment; a key whose setting becomes [`Setting::Absent`] is removed.
pub(crate) fn write_settings(
    table: &mut dyn TableLike,
    before: Option<&[(&'static str, Setting)]>,
    after: &[(&'static str, Setting)],
) {
    for (key, setting) in after {
        let old = before.and_then(|b| b.iter().find(|(k, _)| k == key)).map(|(_, s)| s);
        if old == Some(setting) || (old.is_none() && *setting == Setting::Absent) {
            continue;
        }
        write_setting(table, key, setting);
    }
}

/// Sets one key, keeping the decoration (spaces, trailing comment) of the value it replaces.
pub(crate) fn write_setting(table: &mut dyn TableLike, key: &str, setting: &Setting) {
    let mut value = match setting {
        Setting::Absent => {
            table.remove(key);
            return;
        }
        Setting::Text(text) => Value::from(text.as_str()),
        Setting::Number(n) => Value::from(*n),
        Setting::List(items) => Value::Array(items.iter().map(String::as_str).collect::<Array>()),
    };
    match table.get_mut(key) {
        Some(item) => {
            if let Some(old) = item.as_value() {
                *value.decor_mut() = old.decor().clone();
            }
            *item = Item::Value(value);
        }
        None => {
            table.insert(key, Item::Value(value));
        }
    }
}

fn text(table: &dyn TableLike, key: &str) -> Option<String> {
    table.get(key).and_then(Item::as_str).map(str::to_string)
}

fn integer<T: TryFrom<i64>>(table: &dyn TableLike, key: &str) -> Option<T> {
    table.get(key).and_then(Item::as_integer).and_then(|n| T::try_from(n).ok())
}

fn texts(table: &dyn TableLike, key: &str) -> Option<Vec<String>> {
    let array = table.get(key)?.as_array()?;
    Some(array.iter().filter_map(Value::as_str).map(str::to_string).collect())
}

/// The IdP form of table `name`. Values of the wrong type read as left out; the loader reports them.
pub(crate) fn read_idp(name: &str, table: &dyn TableLike) -> IdpForm {
    IdpForm {
        name: name.to_string(),
        issuer: text(table, "issuer").unwrap_or_default(),
        client_id: text(table, "client_id").unwrap_or_default(),
        username: text(table, "username").unwrap_or_default(),
        dialect: text(table, "dialect"),
        authenticator: text(table, "authenticator").unwrap_or_else(|| DEFAULT_AUTHENTICATOR.to_string()),
        rp_origin: text(table, "rp_origin"),
        audience: text(table, "audience"),
        scopes: texts(table, "scopes")
            .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()),
        ca_file: text(table, "ca_file"),
    }
}

/// The database form of table `name`.
pub(crate) fn read_db(name: &str, table: &dyn TableLike) -> DbForm {
    DbForm {
        name: name.to_string(),
        idp: text(table, "idp").unwrap_or_default(),
        host: text(table, "host").unwrap_or_default(),
        port: integer(table, "port"),
        dbname: text(table, "dbname").unwrap_or_default(),
        // `user` is `role` under the name templates read best with (`user = "{email}"`).
        role: text(table, "role").or_else(|| text(table, "user")).unwrap_or_default(),
        roles: texts(table, "roles").unwrap_or_default(),
        auth: text(table, "auth"),
        sslmode: text(table, "sslmode"),
        sslnegotiation: text(table, "sslnegotiation"),
        ca_file: text(table, "ca_file"),
        local_port: integer(table, "local_port"),
        max_connections: integer(table, "max_connections"),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::resolved::{DbAuth, SslMode, SslNegotiation};

    #[test]
    fn defaults_agree_with_the_loader() {
        // Written explicitly, each default must resolve as if left out.
        let text = format!(
            "[idp.corp]\nissuer = \"https://idp.example.com\"\nclient_id = \"c\"\nusername = \"u\"\n\
             authenticator = \"{DEFAULT_AUTHENTICATOR}\"\n\
             [db.prod]\nidp = \"corp\"\nhost = \"h\"\ndbname = \"d\"\nrole = \"r\"\nport = {DEFAULT_PORT}\n\
             auth = \"{DEFAULT_AUTH}\"\nsslmode = \"{DEFAULT_SSLMODE}\"\nsslnegotiation = \"{DEFAULT_SSLNEGOTIATION}\"\n\
             [db.bare]\nidp = \"corp\"\nhost = \"h\"\ndbname = \"d\"\nrole = \"r\"\n"
        );
        let config = crate::validate::parse(Path::new("/tmp/config.toml"), &text).expect("valid");
        let explicit = config.db("prod").expect("prod");
        let bare = config.db("bare").expect("bare");
        assert_eq!((explicit.port, explicit.auth), (bare.port, bare.auth));
        assert_eq!(
            (explicit.sslmode, explicit.sslnegotiation),
            (SslMode::VerifyFull, SslNegotiation::Postgres)
        );
        assert_eq!(bare.auth, DbAuth::Password);
        assert_eq!(bare.max_connections, DEFAULT_MAX_CONNECTIONS);
        let idp = config.idp(Some("corp")).expect("corp");
        assert_eq!(idp.authenticator, crate::AuthenticatorChoice::Usb);
    }

    #[test]
    fn keys_are_placed_on_their_table_and_field() {
        let placed = FieldError::at_key("idp.corp.issuer", "bad", &[]);
        assert_eq!((placed.table.as_str(), placed.field.as_deref()), ("idp.corp", Some("issuer")));
        let placed = FieldError::at_key("db.a.b.port", "bad", &["db.a.b".to_string()]);
        assert_eq!((placed.table.as_str(), placed.field.as_deref()), ("db.a.b", Some("port")));
        let placed = FieldError::at_key("idp.a b", "names may use", &["idp.a b".to_string()]);
        assert_eq!((placed.table.as_str(), placed.field.as_deref()), ("idp.a b", Some("name")));
        let placed = FieldError::at_key("colour", "unknown field `colour`", &[]);
        assert_eq!((placed.table.as_str(), placed.field.as_deref()), ("", Some("colour")));
        assert_eq!(placed.to_string(), "colour: unknown field `colour`");
    }

    #[test]
    fn settings_leave_defaults_and_blanks_out() {
        let form = DbForm {
            name: "prod".into(),
            idp: " corp ".into(),
            host: "h".into(),
            port: Some(5432),
            dbname: "d".into(),
            role: "r".into(),
            roles: vec![" ".into()],
            auth: Some("password".into()),
            sslmode: Some("".into()),
            sslnegotiation: None,
            ca_file: Some("  ".into()),
            local_port: None,
            max_connections: Some(100),
        };
        let written: Vec<_> = db_settings(&form).into_iter().filter(|(_, s)| *s != Setting::Absent).collect();
        assert_eq!(
            written,
            vec![
                ("idp", Setting::Text("corp".into())),
                ("host", Setting::Text("h".into())),
                ("dbname", Setting::Text("d".into())),
                ("role", Setting::Text("r".into())),
            ]
        );
    }
}
