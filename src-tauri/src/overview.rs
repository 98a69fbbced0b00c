//! The [`Overview`] the window and the tray show: the shell gathers the facts from its state and
//! the active engine; `tapgate_desktop_model::overview::build` decides what they look like.

use std::collections::HashMap;

use tapgate_core::dsn::{DsnFormat, Endpoint, connection_string};
use tapgate_desktop_model::overview::{ForwarderFacts, OverviewFacts, build};
use tapgate_desktop_model::{AppMode, ConnectionStrings, DsnFormatView, Overview};

use crate::shell::Shell;

impl Shell {
    /// The overview as of now: the facts from the shell and the active engine, turned into views
    /// by [`build`].
    pub async fn overview(&self) -> Overview {
        let active = self.active.read().await.clone();
        let autostart = crate::app::autostart_enabled(&self.app);
        let status = self.status();
        let config_path =
            active.as_ref().map(|a| a.config_path()).unwrap_or_else(|| self.config_path.clone());
        let forwarders: HashMap<String, ForwarderFacts> = active
            .iter()
            .flat_map(|active| {
                active.engine.config().dbs.keys().map(|name| {
                    let facts = ForwarderFacts {
                        listening_port: active.forwarders.port(name),
                        stable_port: active.forwarders.stable_port(name).ok(),
                        open_connections: u32::try_from(active.forwarders.open_connections(name))
                            .unwrap_or(u32::MAX),
                    };
                    (name.clone(), facts)
                })
            })
            .collect();
        let facts = OverviewFacts {
            mode: status.mode.unwrap_or(AppMode::Unconfigured),
            config_path: config_path.display().to_string(),
            config_error: status.config_error.clone(),
            config: active.as_ref().map(|a| a.engine.config()),
            sessions: &status.sessions,
            signing_in: &status.signing_in,
            idp_errors: &status.idp_errors,
            db_errors: &status.db_errors,
            forwarders: &forwarders,
            autostart,
            terminal_available: self.terminal_available,
            now_ms: now_ms(),
        };
        build(&facts, |db, role, port| {
            let socket_dir = active.as_ref().and_then(|a| a.engine.socket_dir(db));
            let at = Endpoint { port, socket_dir: socket_dir.as_deref() };
            ConnectionStrings {
                uri: connection_string(DsnFormat::Uri, at, &db.dbname, role),
                keyword: connection_string(DsnFormat::Keyword, at, &db.dbname, role),
                jdbc: connection_string(DsnFormat::Jdbc, at, &db.dbname, role),
                psql: connection_string(DsnFormat::Psql, at, &db.dbname, role),
                tcp: connection_string(DsnFormat::Uri, Endpoint::tcp(port), &db.dbname, role),
            }
        })
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
        // The TCP form is the URI without the socket: see `Shell::connection_string`.
        DsnFormatView::Tcp => DsnFormat::Uri,
    }
}
