//! The state the window and the tray show, rebuilt by the shell whenever the engine reports a change.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where the app's configuration comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum AppMode {
    /// The user's config file (or `TAPGATE_CONFIG`).
    Configured,
    /// No config file: the window offers the built-in demo and the settings.
    Unconfigured,
    /// The built-in demo is starting (progress arrives as [`crate::UiEvent::DemoProgress`]).
    StartingDemo,
    /// The built-in demo runs: dev IdP, PostgreSQL 18, a software key.
    Demo,
    /// The config file exists but does not load: `config_error` says why, settings can fix it.
    ConfigError,
}

/// How a person signs in to an IdP: which key signs in Tapgate, or where they sign in instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum KeyKindView {
    /// A FIDO2 security key over USB.
    Usb,
    /// A software key in a file (demo, tests): approved with a button, not a touch.
    Soft,
    /// On the IdP's page in the browser (`flow = "browser"`): the IdP asks for the key there.
    Browser,
    /// With a code confirmed on another device (`flow = "device"`).
    Device,
}

/// Everything the window's main views need, pushed whole on each change (it is small).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    pub mode: AppMode,
    /// The config file in use (or that would be created).
    pub config_path: String,
    /// Why the config file did not load, in the loader's words (file:line, key).
    pub config_error: Option<String>,
    pub idps: Vec<IdpView>,
    pub databases: Vec<DatabaseView>,
    /// Whether Tapgate starts at login.
    pub autostart: bool,
    /// A terminal emulator was found, so "Open psql" can work.
    pub terminal_available: bool,
}

/// One IdP and who is signed in to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IdpView {
    /// The table name, `corp` in `[idp.corp]`.
    pub name: String,
    pub issuer: String,
    pub username: String,
    pub key_kind: KeyKindView,
    /// A token that has not expired is held.
    pub signed_in: bool,
    /// The signed-in person (email), when known.
    pub identity: Option<String>,
    pub groups: Vec<String>,
    /// When the token expires, in Unix milliseconds on this machine's clock (the IdP's expiry
    /// corrected for clock skew), so the UI counts down against `Date.now()`. Still given once
    /// it has passed (with `signed_in` false), so the window can say "expired".
    pub expires_at_ms: Option<i64>,
    /// Renewal without a tap is possible (a refresh token is held).
    pub can_refresh: bool,
    /// A sign-in is under way.
    pub signing_in: bool,
    /// The last sign-in failure, in words a person can act on.
    pub last_error: Option<String>,
}

/// One database and its loopback forwarder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseView {
    /// The table name, `prod` in `[db.prod]`.
    pub name: String,
    /// The IdP whose token it takes.
    pub idp: String,
    /// `host:port` of the real server.
    pub upstream: String,
    pub dbname: String,
    /// The default role.
    pub role: String,
    /// Every role a client may pick by user name, the default first.
    pub roles: Vec<String>,
    /// `password` or `oauthbearer`.
    pub auth: String,
    /// The loopback port (stable: remembered per database), known even while not listening.
    pub local_port: Option<u16>,
    /// The forwarder accepts connections on `127.0.0.1:local_port`.
    pub listening: bool,
    pub open_connections: u32,
    /// The last thing that went wrong, in words a person can act on.
    pub last_error: Option<String>,
    /// Ready-to-paste connection strings, once the port is known.
    pub connection_strings: Option<ConnectionStrings>,
}

/// The connection string formats clients want.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStrings {
    /// `postgresql://role@/app?host=/run/user/1000/tapgate&port=54321` (the socket where there is
    /// one, else `postgresql://role@127.0.0.1:54321/app?sslmode=disable`)
    pub uri: String,
    /// `host=/run/user/1000/tapgate port=54321 dbname=app user=role` (the socket first, as `uri`)
    pub keyword: String,
    /// `jdbc:postgresql://127.0.0.1:54321/app?user=role&sslmode=disable`
    pub jdbc: String,
    /// `psql "host=…"`
    pub psql: String,
    /// The TCP URI, for clients that cannot use the Unix-domain socket the others name.
    pub tcp: String,
}

impl Overview {
    /// The IdP called `name`.
    pub fn idp(&self, name: &str) -> Option<&IdpView> {
        self.idps.iter().find(|i| i.name == name)
    }

    /// The database called `name`.
    pub fn database(&self, name: &str) -> Option<&DatabaseView> {
        self.databases.iter().find(|d| d.name == name)
    }
}
