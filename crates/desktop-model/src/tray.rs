//! The tray menu and icon as data: built from an [`Overview`] and the time, turned into a real
//! menu by the shell (`src-tauri/src/tray.rs`), which only mutates labels once the menu exists.
//!
//! Item ids encode their action ([`TrayAction::id`] / [`TrayAction::parse`]), so a click maps
//! back to what to do without a lookup table in the shell.

use crate::countdown::{EXPIRING_SOON_SECS, countdown, seconds_left};
use crate::{AppMode, DatabaseView, DsnFormatView, IdpView, Overview};

/// What a tray click does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrayAction {
    /// Connect when stopped, disconnect when listening.
    ToggleConnection(String),
    Copy(String, DsnFormatView),
    OpenPsql(String),
    /// Sign in when signed out, sign out when signed in.
    ToggleSignIn(String),
    StartDemo,
    OpenWindow,
    ToggleAutostart,
    Quit,
}

impl TrayAction {
    /// The menu item id.
    pub fn id(&self) -> String {
        match self {
            TrayAction::ToggleConnection(db) => format!("connect:{db}"),
            TrayAction::Copy(db, format) => format!("copy-{}:{db}", format_name(*format)),
            TrayAction::OpenPsql(db) => format!("psql:{db}"),
            TrayAction::ToggleSignIn(idp) => format!("sign-in:{idp}"),
            TrayAction::StartDemo => "start-demo".into(),
            TrayAction::OpenWindow => "open".into(),
            TrayAction::ToggleAutostart => "autostart".into(),
            TrayAction::Quit => "quit".into(),
        }
    }

    /// The action of a menu item id; `None` for ids that are not actions (headers).
    pub fn parse(id: &str) -> Option<TrayAction> {
        let simple = match id {
            "start-demo" => Some(TrayAction::StartDemo),
            "open" => Some(TrayAction::OpenWindow),
            "autostart" => Some(TrayAction::ToggleAutostart),
            "quit" => Some(TrayAction::Quit),
            _ => None,
        };
        if simple.is_some() {
            return simple;
        }
        let (verb, name) = id.split_once(':')?;
        let name = name.to_string();
        Some(match verb {
            "connect" => TrayAction::ToggleConnection(name),
            "psql" => TrayAction::OpenPsql(name),
            "sign-in" => TrayAction::ToggleSignIn(name),
            "copy-uri" => TrayAction::Copy(name, DsnFormatView::Uri),
            "copy-keyword" => TrayAction::Copy(name, DsnFormatView::Keyword),
            "copy-jdbc" => TrayAction::Copy(name, DsnFormatView::Jdbc),
            "copy-psql" => TrayAction::Copy(name, DsnFormatView::Psql),
            "copy-tcp" => TrayAction::Copy(name, DsnFormatView::Tcp),
            _ => return None,
        })
    }
}

fn format_name(format: DsnFormatView) -> &'static str {
    match format {
        DsnFormatView::Uri => "uri",
        DsnFormatView::Keyword => "keyword",
        DsnFormatView::Jdbc => "jdbc",
        DsnFormatView::Psql => "psql",
        DsnFormatView::Tcp => "tcp",
    }
}

/// One menu entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrayItem {
    /// A clickable item; `checked` makes it a check item.
    Action {
        id: String,
        label: String,
        enabled: bool,
        checked: Option<bool>,
    },
    /// A submenu.
    Submenu {
        id: String,
        label: String,
        items: Vec<TrayItem>,
    },
    Separator,
}

impl TrayItem {
    fn action(action: TrayAction, label: impl Into<String>, enabled: bool) -> TrayItem {
        TrayItem::Action { id: action.id(), label: label.into(), enabled, checked: None }
    }

    /// The id, for items that have one.
    pub fn id(&self) -> Option<&str> {
        match self {
            TrayItem::Action { id, .. } | TrayItem::Submenu { id, .. } => Some(id),
            TrayItem::Separator => None,
        }
    }

    /// The label, for items that have one.
    pub fn label(&self) -> Option<&str> {
        match self {
            TrayItem::Action { label, .. } | TrayItem::Submenu { label, .. } => Some(label),
            TrayItem::Separator => None,
        }
    }
}

/// The tray icon's state, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayIconState {
    /// A tap is needed or something failed.
    Attention,
    /// A token in use expires in under five minutes.
    Expiring,
    /// At least one forwarder listens.
    Connected,
    Idle,
}

impl TrayIconState {
    /// The icon file in `icons/` (without the size suffix).
    pub fn icon_name(self) -> &'static str {
        match self {
            TrayIconState::Attention => "tray-attention",
            TrayIconState::Expiring => "tray-expiring",
            TrayIconState::Connected => "tray-connected",
            TrayIconState::Idle => "tray-idle",
        }
    }
}

/// The whole menu for `overview` at `now_ms`.
pub fn menu(overview: &Overview, now_ms: i64) -> Vec<TrayItem> {
    let mut items = Vec::new();
    for db in &overview.databases {
        items.push(database_entry(overview, db, now_ms));
    }
    if matches!(overview.mode, AppMode::Unconfigured) {
        items.push(TrayItem::action(TrayAction::StartDemo, "Start the built-in demo", true));
    }
    if !overview.idps.is_empty() {
        items.push(TrayItem::Separator);
        for idp in &overview.idps {
            let label = if idp.signed_in {
                format!("Sign out of {} ({})", idp.name, idp.identity.as_deref().unwrap_or(&idp.username))
            } else {
                format!("Sign in to {}", idp.name)
            };
            items.push(TrayItem::action(TrayAction::ToggleSignIn(idp.name.clone()), label, !idp.signing_in));
        }
    }
    items.push(TrayItem::Separator);
    items.push(TrayItem::action(TrayAction::OpenWindow, "Open Tapgate", true));
    items.push(TrayItem::Action {
        id: TrayAction::ToggleAutostart.id(),
        label: "Start at login".into(),
        enabled: true,
        checked: Some(overview.autostart),
    });
    items.push(TrayItem::action(TrayAction::Quit, "Quit", true));
    items
}

fn database_entry(overview: &Overview, db: &DatabaseView, now_ms: i64) -> TrayItem {
    let idp = overview.idp(&db.idp);
    let name = &db.name;
    let connect_label = if db.listening { "Disconnect" } else { "Connect" };
    let copy_enabled = db.connection_strings.is_some();
    let items = vec![
        TrayItem::action(TrayAction::ToggleConnection(name.clone()), connect_label, true),
        TrayItem::action(
            TrayAction::Copy(name.clone(), DsnFormatView::Uri),
            "Copy connection string",
            copy_enabled,
        ),
        TrayItem::Submenu {
            id: format!("copy-as:{name}"),
            label: "Copy as".into(),
            items: vec![
                TrayItem::action(
                    TrayAction::Copy(name.clone(), DsnFormatView::Keyword),
                    "Keyword/value",
                    copy_enabled,
                ),
                TrayItem::action(
                    TrayAction::Copy(name.clone(), DsnFormatView::Jdbc),
                    "JDBC URL",
                    copy_enabled,
                ),
                TrayItem::action(
                    TrayAction::Copy(name.clone(), DsnFormatView::Psql),
                    "psql command",
                    copy_enabled,
                ),
                TrayItem::action(
                    TrayAction::Copy(name.clone(), DsnFormatView::Tcp),
                    "TCP URI (GUI clients)",
                    copy_enabled,
                ),
            ],
        },
        TrayItem::action(
            TrayAction::OpenPsql(name.clone()),
            "Open psql in a terminal",
            overview.terminal_available && copy_enabled,
        ),
    ];
    TrayItem::Submenu { id: format!("db:{name}"), label: database_label(db, idp, now_ms), items }
}

/// `"● prod — 12:41 left"`: a status dot, the name, and what matters now.
pub fn database_label(db: &DatabaseView, idp: Option<&IdpView>, now_ms: i64) -> String {
    let left = idp.filter(|i| i.signed_in).and_then(|i| i.expires_at_ms).map(|at| seconds_left(at, now_ms));
    let (dot, status) = if db.last_error.is_some() && !db.listening {
        ("⚠", "needs attention".to_string())
    } else {
        match left {
            None | Some(i64::MIN..=0) => (if db.listening { "◍" } else { "○" }, "signed out".to_string()),
            Some(secs) if secs < EXPIRING_SOON_SECS => ("◐", countdown(secs)),
            Some(_) if db.open_connections > 0 => ("●", connections(db.open_connections)),
            Some(secs) => (if db.listening { "●" } else { "○" }, countdown(secs)),
        }
    };
    format!("{dot} {} — {status}", db.name)
}

fn connections(n: u32) -> String {
    if n == 1 { "1 connection".into() } else { format!("{n} connections") }
}

/// The icon for `overview` at `now_ms`.
/// `prompt_open`: a sign-in prompt waits for the person.
pub fn icon_state(overview: &Overview, prompt_open: bool, now_ms: i64) -> TrayIconState {
    let errors = overview.databases.iter().any(|d| d.last_error.is_some())
        || overview.idps.iter().any(|i| i.last_error.is_some())
        || overview.config_error.is_some();
    if prompt_open || errors {
        return TrayIconState::Attention;
    }
    let listening: Vec<&DatabaseView> = overview.databases.iter().filter(|d| d.listening).collect();
    let expiring = listening.iter().filter_map(|d| overview.idp(&d.idp)).any(|idp| {
        idp.signed_in
            && idp.expires_at_ms.is_some_and(|at| (1..EXPIRING_SOON_SECS).contains(&seconds_left(at, now_ms)))
    });
    if expiring {
        TrayIconState::Expiring
    } else if !listening.is_empty() {
        TrayIconState::Connected
    } else {
        TrayIconState::Idle
    }
}

/// The menu's shape: the ids in order. When it is unchanged, labels are updated in place.
pub fn shape(items: &[TrayItem]) -> Vec<String> {
    let mut ids = Vec::new();
    fn walk(items: &[TrayItem], ids: &mut Vec<String>) {
        for item in items {
            match item {
                TrayItem::Separator => ids.push("-".into()),
                TrayItem::Action { id, .. } => ids.push(id.clone()),
                TrayItem::Submenu { id, items, .. } => {
                    ids.push(format!("{id}["));
                    walk(items, ids);
                    ids.push("]".into());
                }
            }
        }
    }
    walk(items, &mut ids);
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConnectionStrings, KeyKindView};

    const NOW: i64 = 1_795_780_800_000;

    fn overview(listening: bool, open: u32, expires_in_secs: Option<i64>) -> Overview {
        Overview {
            mode: AppMode::Configured,
            config_path: "/c.toml".into(),
            config_error: None,
            idps: vec![IdpView {
                name: "corp".into(),
                issuer: "https://idp".into(),
                username: "alice@example.com".into(),
                key_kind: KeyKindView::Usb,
                signed_in: expires_in_secs.is_some(),
                identity: expires_in_secs.map(|_| "alice@example.com".into()),
                groups: vec![],
                expires_at_ms: expires_in_secs.map(|s| NOW + s * 1000),
                can_refresh: true,
                signing_in: false,
                last_error: None,
            }],
            databases: vec![DatabaseView {
                name: "prod".into(),
                idp: "corp".into(),
                upstream: "db:5432".into(),
                dbname: "app".into(),
                role: "app_ro".into(),
                roles: vec!["app_ro".into()],
                auth: "password".into(),
                local_port: Some(54321),
                listening,
                open_connections: open,
                last_error: None,
                connection_strings: Some(ConnectionStrings {
                    uri: "u".into(),
                    keyword: "k".into(),
                    jdbc: "j".into(),
                    psql: "p".into(),
                    tcp: "t".into(),
                }),
            }],
            autostart: false,
            terminal_available: true,
        }
    }

    fn label(o: &Overview) -> String {
        database_label(&o.databases[0], o.idps.first(), NOW)
    }

    #[test]
    fn database_label_says_what_matters_now() {
        assert_eq!(label(&overview(true, 0, Some(761))), "● prod — 12:41 left");
        assert_eq!(label(&overview(false, 0, None)), "○ prod — signed out");
        assert_eq!(label(&overview(true, 2, Some(3000))), "● prod — 2 connections");
        // Expiring soon beats the connection count.
        assert_eq!(label(&overview(true, 2, Some(200))), "◐ prod — 3:20 left");
        let mut failed = overview(false, 0, None);
        failed.databases[0].last_error = Some("port in use".into());
        assert_eq!(label(&failed), "⚠ prod — needs attention");
    }

    #[test]
    fn icon_follows_the_most_urgent_state() {
        assert_eq!(icon_state(&overview(false, 0, None), false, NOW), TrayIconState::Idle);
        assert_eq!(icon_state(&overview(true, 0, Some(900)), false, NOW), TrayIconState::Connected);
        assert_eq!(icon_state(&overview(true, 0, Some(120)), false, NOW), TrayIconState::Expiring);
        assert_eq!(icon_state(&overview(true, 0, Some(900)), true, NOW), TrayIconState::Attention);
    }

    #[test]
    fn menu_has_database_idp_and_app_entries_whose_ids_round_trip() {
        let o = overview(true, 1, Some(900));
        let items = menu(&o, NOW);
        let labels: Vec<&str> = items.iter().filter_map(TrayItem::label).collect();
        assert_eq!(
            labels,
            [
                "● prod — 1 connection",
                "Sign out of corp (alice@example.com)",
                "Open Tapgate",
                "Start at login",
                "Quit"
            ]
        );
        let TrayItem::Submenu { items: db_items, .. } = &items[0] else { unreachable!("first is prod") };
        let db_labels: Vec<&str> = db_items.iter().filter_map(TrayItem::label).collect();
        assert_eq!(db_labels, ["Disconnect", "Copy connection string", "Copy as", "Open psql in a terminal"]);
        for id in shape(&items) {
            if let Some(action) = TrayAction::parse(&id) {
                assert_eq!(action.id(), id);
            }
        }
        assert_eq!(
            TrayAction::parse("copy-jdbc:prod"),
            Some(TrayAction::Copy("prod".into(), DsnFormatView::Jdbc))
        );
        assert_eq!(TrayAction::parse("db:prod"), None);
    }

    #[test]
    fn shape_ignores_labels_so_countdowns_update_in_place() {
        let a = menu(&overview(true, 0, Some(900)), NOW);
        let b = menu(&overview(false, 0, None), NOW);
        assert_ne!(a, b);
        assert_eq!(shape(&a), shape(&b));
    }
}
