//! The [`Overview`] the window and the tray show, built from the shell's state and the active
//! engine: one view per IdP (signed in, countdown, last error) and per database (listening,
//! port, open connections, connection strings).

use tapgate_core::dsn::{DsnFormat, connection_string};
use tapgate_desktop_model::{
    AppMode, ConnectionStrings, DatabaseView, DsnFormatView, IdpView, KeyKindView, Overview,
};

use crate::shell::Shell;

impl Shell {
    /// The overview as of now.
    pub async fn overview(&self) -> Overview {
        let active = self.active.read().await.clone();
        let autostart = crate::app::autostart_enabled(&self.app);
        let status = self.status();
        let now_ms = now_ms();
        let mut overview = Overview {
            mode: status.mode.unwrap_or(AppMode::Unconfigured),
            config_path: active
                .as_ref()
                .map(|a| a.config_path())
                .unwrap_or_else(|| self.config_path.clone())
                .display()
                .to_string(),
            config_error: status.config_error.clone(),
            idps: Vec::new(),
            databases: Vec::new(),
            autostart,
            terminal_available: self.terminal_available,
        };
        let Some(active) = active else { return overview };
        let config = active.engine.config();
        for idp in config.idps.values() {
            let session = status.sessions.get(&idp.name).filter(|s| s.expires_at_ms > now_ms);
            overview.idps.push(IdpView {
                name: idp.name.clone(),
                issuer: idp.issuer.clone(),
                username: idp.username.clone().unwrap_or_default(),
                key_kind: match idp.authenticator {
                    tapgate_config::AuthenticatorChoice::Usb => KeyKindView::Usb,
                    tapgate_config::AuthenticatorChoice::Soft(_) => KeyKindView::Soft,
                },
                signed_in: session.is_some(),
                identity: session.map(|s| s.identity.clone()),
                groups: session.map(|s| s.groups.clone()).unwrap_or_default(),
                expires_at_ms: session.map(|s| s.expires_at_ms),
                can_refresh: status.sessions.get(&idp.name).is_some_and(|s| s.can_refresh),
                signing_in: status.signing_in.contains(&idp.name),
                last_error: status.idp_errors.get(&idp.name).cloned(),
            });
        }
        for db in config.dbs.values() {
            let listening = active.forwarders.port(&db.name);
            let port = listening.or_else(|| active.forwarders.stable_port(&db.name).ok());
            overview.databases.push(DatabaseView {
                name: db.name.clone(),
                idp: db.idp.clone(),
                upstream: format!("{}:{}", db.host, db.port),
                dbname: db.dbname.clone(),
                role: db.role.clone(),
                roles: db.allowed_roles(),
                auth: match db.auth {
                    tapgate_config::DbAuth::Password => "password".into(),
                    tapgate_config::DbAuth::OAuthBearer => "oauthbearer".into(),
                },
                local_port: port,
                listening: listening.is_some(),
                open_connections: active.forwarders.open_connections(&db.name) as u32,
                last_error: status.db_errors.get(&db.name).cloned(),
                connection_strings: port.map(|port| ConnectionStrings {
                    uri: connection_string(DsnFormat::Uri, port, &db.dbname, &db.role),
                    keyword: connection_string(DsnFormat::Keyword, port, &db.dbname, &db.role),
                    jdbc: connection_string(DsnFormat::Jdbc, port, &db.dbname, &db.role),
                    psql: connection_string(DsnFormat::Psql, port, &db.dbname, &db.role),
                }),
            });
        }
        overview
    }
}

/// Milliseconds since the Unix epoch on this machine's clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn dsn_format(format: DsnFormatView) -> DsnFormat {
    match format {
        DsnFormatView::Uri => DsnFormat::Uri,
        DsnFormatView::Keyword => DsnFormat::Keyword,
        DsnFormatView::Jdbc => DsnFormat::Jdbc,
        DsnFormatView::Psql => DsnFormat::Psql,
    }
}
