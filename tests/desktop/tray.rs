//! The app's tray as a tray host sees it on the session bus: the StatusNotifierItem the process
//! exports (libayatana exports it, and its dbusmenu, even with no tray host) and the menu read
//! with `com.canonical.dbusmenu.GetLayout` into [`MenuEntry`]s, labels as a host shows them.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use zbus::blocking::Connection;
use zbus::message::Message;
use zbus::zvariant::{ObjectPath, Structure, Value};

use super::bus;
use super::wait::poll_until;

/// One dbusmenu item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuEntry {
    /// The dbusmenu item id (for `Event` calls).
    pub id: i32,
    /// The label as a tray host shows it: `__` is `_`, other underscores (mnemonics) are hidden.
    pub label: String,
    /// The label as exported.
    pub raw_label: String,
    pub separator: bool,
    pub enabled: bool,
    pub visible: bool,
    /// `Some(checked)` for check items.
    pub checked: Option<bool>,
    pub children: Vec<MenuEntry>,
}

impl MenuEntry {
    /// This entry and every entry under it, depth first.
    pub fn walk(&self) -> Vec<&MenuEntry> {
        let mut all = vec![self];
        for child in &self.children {
            all.extend(child.walk());
        }
        all
    }
}

/// Where the app's tray lives on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayLocation {
    pub bus_name: String,
    pub item_path: String,
    pub menu_path: String,
}

const ITEM_INTERFACE: &str = "org.kde.StatusNotifierItem";
const MENU_INTERFACE: &str = "com.canonical.dbusmenu";
/// Where libayatana exports its items (one child node per indicator).
const AYATANA_ITEMS: &str = "/org/ayatana/NotificationItem";

/// Reads the tray menu of the process `pid` over D-Bus.
#[derive(Debug, Clone)]
pub struct TrayReader {
    pid: u32,
    bus: Connection,
    found: Arc<Mutex<Option<TrayLocation>>>,
}

impl TrayReader {
    /// A reader with its own connection to the session bus (panics when there is none).
    pub fn new(pid: u32) -> TrayReader {
        TrayReader { pid, bus: bus::connect(), found: Default::default() }
    }

    /// Finds the tray: the bus names the process owns (well-known `org.kde.StatusNotifierItem-*`
    /// first, unique names last, oldest first), the items under `/org/ayatana/NotificationItem` (or `/StatusNotifierItem`), and
    /// the item's `Menu` property.
    pub fn locate(&self) -> Result<TrayLocation, String> {
        if let Some(found) = self.found.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(found);
        }
        let mut mine = bus::names_of_process(&self.bus, self.pid)?;
        // Unique names (`:1.5`) in the order the connections were made: a toolkit's main
        // connection comes first, and some later ones never answer (each costs a timeout).
        mine.sort_by_key(|n| {
            let unique: Option<Vec<u32>> =
                n.strip_prefix(':').map(|u| u.split('.').filter_map(|p| p.parse().ok()).collect());
            (!n.starts_with(ITEM_INTERFACE), unique.is_some(), unique, n.clone())
        });
        let mut tried = Vec::new();
        for name in &mine {
            let mut items: Vec<String> = bus::child_nodes(&self.bus, name, AYATANA_ITEMS)
                .into_iter()
                .map(|c| format!("{AYATANA_ITEMS}/{c}"))
                .collect();
            items.push("/StatusNotifierItem".into());
            for item in items {
                let menu = bus::property(&self.bus, name, &item, ITEM_INTERFACE, "Menu").and_then(|v| {
                    ObjectPath::try_from(&*v).map(|p| p.to_string()).map_err(|e| format!("Menu: {e}"))
                });
                match menu {
                    Ok(menu) if !menu.is_empty() && menu != "/" => {
                        let location =
                            TrayLocation { bus_name: name.clone(), item_path: item, menu_path: menu };
                        *self.found.lock().unwrap_or_else(|p| p.into_inner()) = Some(location.clone());
                        return Ok(location);
                    }
                    Ok(menu) => tried.push(format!("{name} {item}: Menu is {menu:?}")),
                    Err(e) => tried.push(format!("{name} {item}: {e}")),
                }
            }
        }
        Err(format!(
            "no StatusNotifierItem of process {} on the bus; its names: {mine:?}; tried:\n{}",
            self.pid,
            tried.join("\n")
        ))
    }

    /// The menu's top-level entries (`GetLayout(0, -1, [])`).
    pub fn read(&self) -> Result<Vec<MenuEntry>, String> {
        let location = self.locate()?;
        let no_properties: &[&str] = &[];
        let reply = self
            .bus
            .call_method(
                Some(location.bus_name.as_str()),
                location.menu_path.as_str(),
                Some(MENU_INTERFACE),
                "GetLayout",
                &(0i32, -1i32, no_properties),
            )
            .map_err(|e| format!("GetLayout: {e}"))?;
        Ok(layout_of(&reply)?.children)
    }

    /// Clicks the item `id` as a tray host does (`com.canonical.dbusmenu.Event` "clicked").
    pub fn click(&self, id: i32) -> Result<(), String> {
        let location = self.locate()?;
        self.bus
            .call_method(
                Some(location.bus_name.as_str()),
                location.menu_path.as_str(),
                Some(MENU_INTERFACE),
                "Event",
                &(id, "clicked", Value::from(0i32), 0u32),
            )
            .map(|_| ())
            .map_err(|e| format!("Event({id}, clicked): {e}"))
    }

    /// Reads the menu until `check` accepts it (`Ok`) or `timeout` passes; the `Err` then says
    /// what `check` last objected to and shows the last menu read.
    pub fn poll(
        &self,
        timeout: Duration,
        check: impl Fn(&[MenuEntry]) -> Result<(), String>,
    ) -> Result<Vec<MenuEntry>, String> {
        let mut last = String::new();
        poll_until(timeout, || match self.read() {
            Ok(menu) => match check(&menu) {
                Ok(()) => Some(menu),
                Err(problem) => {
                    last = format!("{problem}\nthe menu:\n{}", format_menu(&menu));
                    None
                }
            },
            Err(e) => {
                last = e;
                None
            }
        })
        .ok_or_else(|| format!("after {timeout:?}: {last}"))
    }

    /// Waits until `check` accepts the menu; panics after `timeout` with what it last saw.
    #[track_caller]
    pub fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&[MenuEntry]) -> Result<(), String>,
    ) -> Vec<MenuEntry> {
        self.poll(timeout, check).unwrap_or_else(|e| panic!("the tray menu {what}: {e}"))
    }
}

/// The root of a `GetLayout` reply: `(u revision, (ia{sv}av) layout)`.
pub fn layout_of(reply: &Message) -> Result<MenuEntry, String> {
    let body = reply.body();
    let fields: Structure<'_> = body.deserialize().map_err(|e| format!("GetLayout reply: {e}"))?;
    match fields.fields() {
        [_revision, root] => parse_layout(root),
        other => Err(format!("GetLayout reply of {} values, not 2", other.len())),
    }
}

/// A value inside any number of variants.
fn unwrapped<'v>(value: &'v Value<'v>) -> &'v Value<'v> {
    match value {
        Value::Value(inner) => unwrapped(inner),
        other => other,
    }
}

/// One `(ia{sv}av)` layout node (dbusmenu `GetLayout`): id, properties, children in variants.
pub fn parse_layout(node: &Value<'_>) -> Result<MenuEntry, String> {
    let Value::Structure(node) = unwrapped(node) else { return Err(format!("not a layout node: {node:?}")) };
    let [id, props, children] = node.fields() else { return Err(format!("not a layout node: {node:?}")) };
    let (Value::I32(id), Value::Dict(props), Value::Array(children)) =
        (unwrapped(id), unwrapped(props), unwrapped(children))
    else {
        return Err(format!("not a layout node: {node:?}"));
    };
    let prop = |key: &str| {
        props
            .iter()
            .find(|(k, _)| matches!(unwrapped(k), Value::Str(s) if s.as_str() == key))
            .map(|(_, v)| unwrapped(v))
    };
    let text = |key: &str| match prop(key) {
        Some(Value::Str(s)) => Some(s.as_str()),
        _ => None,
    };
    let flag = |key: &str| match prop(key) {
        Some(Value::Bool(b)) => Some(*b),
        _ => None,
    };
    let raw_label = text("label").unwrap_or_default().to_string();
    let checked = match text("toggle-type") {
        Some("checkmark") | Some("radio") => Some(matches!(prop("toggle-state"), Some(Value::I32(1)))),
        _ => None,
    };
    Ok(MenuEntry {
        id: *id,
        label: shown_label(&raw_label),
        raw_label,
        separator: text("type") == Some("separator"),
        enabled: flag("enabled").unwrap_or(true),
        visible: flag("visible").unwrap_or(true),
        checked,
        children: children.inner().iter().map(parse_layout).collect::<Result<_, _>>()?,
    })
}

/// A dbusmenu label as shown: `__` is a literal underscore, any other underscore marks a
/// mnemonic and is not displayed (dbusmenu spec, property `label`).
pub fn shown_label(raw: &str) -> String {
    let mut shown = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '_' {
            if chars.peek() == Some(&'_') {
                chars.next();
                shown.push('_');
            }
        } else {
            shown.push(c);
        }
    }
    shown
}

/// The menu as indented text, for failure messages.
pub fn format_menu(menu: &[MenuEntry]) -> String {
    fn walk(entries: &[MenuEntry], depth: usize, out: &mut String) {
        for e in entries {
            let label = if e.separator { "----".to_string() } else { e.label.clone() };
            let flags = format!(
                "{}{}",
                if e.enabled { "" } else { " (disabled)" },
                match e.checked {
                    Some(true) => " [x]",
                    Some(false) => " [ ]",
                    None => "",
                }
            );
            out.push_str(&format!("{}{label}{flags}\n", "  ".repeat(depth)));
            walk(&e.children, depth + 1, out);
        }
    }
    let mut out = String::new();
    walk(menu, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use zbus::zvariant::DynamicTuple;

    use super::*;

    #[test]
    fn dbusmenu_labels_hide_mnemonics_and_keep_doubled_underscores() {
        assert_eq!(
            shown_label("Sign out of corp1__2 (alice@example.com)"),
            "Sign out of corp1_2 (alice@example.com)"
        );
        assert_eq!(shown_label("_Quit"), "Quit");
        assert_eq!(shown_label("● prod — 12:41 left"), "● prod — 12:41 left");
    }

    /// A layout node as an app sends it: `(ia{sv}av)`, the children each in a variant.
    fn node(
        id: i32,
        props: Vec<(&'static str, Value<'static>)>,
        children: Vec<Value<'static>>,
    ) -> Value<'static> {
        let props: HashMap<&str, Value<'_>> = props.into_iter().collect();
        Value::from(Structure::from((id, props, children)))
    }

    #[test]
    fn a_get_layout_reply_becomes_nested_entries() {
        let root = node(
            0,
            vec![("children-display", Value::from("submenu"))],
            vec![
                node(
                    1,
                    vec![
                        ("label", Value::from("● prod — 1 connection")),
                        ("children-display", Value::from("submenu")),
                    ],
                    vec![node(2, vec![("label", Value::from("Disconnect"))], vec![])],
                ),
                node(3, vec![("type", Value::from("separator"))], vec![]),
                node(
                    4,
                    vec![
                        ("label", Value::from("Start at login")),
                        ("toggle-type", Value::from("checkmark")),
                        ("toggle-state", Value::from(0i32)),
                        ("enabled", Value::from(false)),
                    ],
                    vec![],
                ),
            ],
        );
        let Value::Structure(root) = root else { unreachable!() };
        // Through the wire format, as the reply arrives.
        let reply = Message::method_call("/MenuBar", "GetLayout")
            .unwrap()
            .build(&DynamicTuple((7u32, root)))
            .unwrap();
        let menu = layout_of(&reply).unwrap().children;
        assert_eq!(menu.len(), 3);
        assert_eq!(menu[0].label, "● prod — 1 connection");
        assert_eq!(menu[0].children[0].label, "Disconnect");
        assert_eq!(menu[0].children[0].id, 2);
        assert!(menu[1].separator);
        assert_eq!(menu[2].checked, Some(false));
        assert!(!menu[2].enabled);
        assert_eq!(
            format_menu(&menu),
            "● prod — 1 connection\n  Disconnect\n----\nStart at login (disabled) [ ]\n"
        );
    }
}
