//! The tray icon and its menu, drawn from `tapgate_desktop_model::tray` items.
//!
//! The menu is built once per shape (the set of item ids); later draws only change labels,
//! enabled states and check marks in place. On Linux (libayatana) replacing a menu that is
//! already exported is unreliable, and in-place updates keep D-Bus traffic small.
//!
//! A submenu's own label cannot be changed in place on GTK (muda 0.20 wraps it in a box that
//! `set_text` does not reach), so a database entry whose label changed ("prod — 12:41 left") is
//! swapped for a freshly built submenu at the same position.

use std::collections::HashMap;
use std::sync::Mutex;

use tapgate_desktop_model::tray::{TrayIconState, TrayItem, shape};
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, MenuItemKind, PredefinedMenuItem, Submenu};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Wry};

/// The tray icon's id.
pub const TRAY_ID: &str = "tapgate";

/// The tray icon and what is drawn in it.
pub struct Tray {
    icon: TrayIcon,
    drawn: Mutex<Drawn>,
}

#[derive(Default)]
struct Drawn {
    menu: Option<Menu<Wry>>,
    shape: Vec<String>,
    items: HashMap<String, MenuItemKind<Wry>>,
    labels: HashMap<String, (String, bool, Option<bool>)>,
    icon: Option<TrayIconState>,
}

fn icon_image(state: TrayIconState) -> Image<'static> {
    let bytes: &'static [u8] = match state {
        TrayIconState::Attention => include_bytes!("../../icons/tray-attention-32.png"),
        TrayIconState::Expiring => include_bytes!("../../icons/tray-expiring-32.png"),
        TrayIconState::Connected => include_bytes!("../../icons/tray-connected-32.png"),
        TrayIconState::Idle => include_bytes!("../../icons/tray-idle-32.png"),
    };
    // The icons are checked in and decoded at every start: a broken one is a build defect.
    Image::from_bytes(bytes).unwrap_or_else(|_| Image::new(&[0, 0, 0, 0], 1, 1))
}

impl Tray {
    /// The tray icon with a minimal menu until the first draw.
    pub fn create(app: &AppHandle) -> tauri::Result<Tray> {
        let open = MenuItem::with_id(app, "open", "Open Tapgate", true, None::<&str>)?;
        let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
        let menu = Menu::with_items(app, &[&open, &quit])?;
        let icon = TrayIconBuilder::with_id(TRAY_ID)
            .icon(icon_image(TrayIconState::Idle))
            .tooltip("Tapgate")
            .title("Tapgate")
            .menu(&menu)
            .on_menu_event(|app, event| crate::app::on_tray_item(app, event.id().as_ref()))
            .build(app)?;
        Ok(Tray { icon, drawn: Mutex::default() })
    }

    /// Shows `items` and the icon for `state`.
    pub fn draw(&self, app: &AppHandle, items: &[TrayItem], state: TrayIconState) {
        let mut drawn = self.drawn.lock().unwrap_or_else(|p| p.into_inner());
        let new_shape = shape(items);
        if drawn.shape != new_shape {
            match build_menu(app, items) {
                Ok((menu, by_id)) => {
                    let menu_handle = menu.clone();
                    if let Err(e) = self.icon.set_menu(Some(menu)) {
                        tracing::warn!("cannot set the tray menu: {e}");
                        return;
                    }
                    drawn.items = by_id;
                    drawn.menu = Some(menu_handle);
                    drawn.shape = new_shape;
                    drawn.labels.clear();
                    remember(items, &mut drawn.labels);
                }
                Err(e) => tracing::warn!("cannot build the tray menu: {e}"),
            }
        } else {
            replace_relabelled_submenus(app, items, &mut drawn);
            update_in_place(items, &mut drawn);
        }
        if drawn.icon != Some(state) {
            if let Err(e) = self.icon.set_icon(Some(icon_image(state))) {
                tracing::warn!("cannot set the tray icon: {e}");
            }
            drawn.icon = Some(state);
        }
    }
}

fn remember(items: &[TrayItem], labels: &mut HashMap<String, (String, bool, Option<bool>)>) {
    for item in items {
        match item {
            TrayItem::Action { id, label, enabled, checked } => {
                labels.insert(id.clone(), (label.clone(), *enabled, *checked));
            }
            TrayItem::Submenu { id, label, items } => {
                labels.insert(id.clone(), (label.clone(), true, None));
                remember(items, labels);
            }
            TrayItem::Separator => {}
        }
    }
}

/// Swaps each top-level submenu whose label changed for a new one at the same position.
fn replace_relabelled_submenus(app: &AppHandle, items: &[TrayItem], drawn: &mut Drawn) {
    let Some(menu) = drawn.menu.clone() else { return };
    for (position, item) in items.iter().enumerate() {
        let TrayItem::Submenu { id, label, .. } = item else { continue };
        if drawn.labels.get(id).map(|(old, _, _)| old) == Some(label) {
            continue;
        }
        let mut by_id = HashMap::new();
        let swapped = build_items(app, std::slice::from_ref(item), &mut by_id).and_then(|built| {
            // Exactly one entry was built, for `item`.
            for new in &built {
                menu.remove_at(position)?;
                menu.insert(new, position)?;
            }
            Ok(())
        });
        match swapped {
            Ok(()) => {
                drawn.items.extend(by_id);
                remember(std::slice::from_ref(item), &mut drawn.labels);
            }
            Err(e) => tracing::warn!("cannot update tray entry {id}: {e}"),
        }
    }
}

fn update_in_place(items: &[TrayItem], drawn: &mut Drawn) {
    for item in items {
        let (id, label, enabled, checked) = match item {
            TrayItem::Action { id, label, enabled, checked } => (id, label, *enabled, *checked),
            TrayItem::Submenu { id, label, items } => {
                update_in_place(items, drawn);
                (id, label, true, None)
            }
            TrayItem::Separator => continue,
        };
        let wanted = (label.clone(), enabled, checked);
        if drawn.labels.get(id) == Some(&wanted) {
            continue;
        }
        if let Some(kind) = drawn.items.get(id) {
            let result = match kind {
                MenuItemKind::MenuItem(i) => i.set_text(label).and_then(|()| i.set_enabled(enabled)),
                MenuItemKind::Submenu(s) => s.set_text(label),
                MenuItemKind::Check(c) => c
                    .set_text(label)
                    .and_then(|()| c.set_enabled(enabled))
                    .and_then(|()| c.set_checked(checked.unwrap_or(false))),
                _ => Ok(()),
            };
            if let Err(e) = result {
                tracing::warn!("cannot update tray item {id}: {e}");
            }
        }
        drawn.labels.insert(id.clone(), wanted);
    }
}

type Built = (Menu<Wry>, HashMap<String, MenuItemKind<Wry>>);

fn build_menu(app: &AppHandle, items: &[TrayItem]) -> tauri::Result<Built> {
    let mut by_id = HashMap::new();
    let built = build_items(app, items, &mut by_id)?;
    let refs: Vec<&dyn IsMenuItem<Wry>> = built.iter().map(|k| k as &dyn IsMenuItem<Wry>).collect();
    Ok((Menu::with_items(app, &refs)?, by_id))
}

fn build_items(
    app: &AppHandle,
    items: &[TrayItem],
    by_id: &mut HashMap<String, MenuItemKind<Wry>>,
) -> tauri::Result<Vec<MenuItemKind<Wry>>> {
    let mut built = Vec::new();
    for item in items {
        let kind = match item {
            TrayItem::Separator => MenuItemKind::Predefined(PredefinedMenuItem::separator(app)?),
            TrayItem::Action { id, label, enabled, checked: None } => {
                MenuItemKind::MenuItem(MenuItem::with_id(app, id, label, *enabled, None::<&str>)?)
            }
            TrayItem::Action { id, label, enabled, checked: Some(checked) } => {
                MenuItemKind::Check(CheckMenuItem::with_id(app, id, label, *enabled, *checked, None::<&str>)?)
            }
            TrayItem::Submenu { id, label, items } => {
                let children = build_items(app, items, by_id)?;
                let refs: Vec<&dyn IsMenuItem<Wry>> =
                    children.iter().map(|k| k as &dyn IsMenuItem<Wry>).collect();
                MenuItemKind::Submenu(Submenu::with_id_and_items(app, id, label, true, &refs)?)
            }
        };
        if let Some(id) = item.id() {
            by_id.insert(id.to_string(), kind.clone());
        }
        built.push(kind);
    }
    Ok(built)
}
