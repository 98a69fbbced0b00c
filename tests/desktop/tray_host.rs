//! A tray host on the display (`trayer`, an XEmbed system tray), so the tray icon is drawn and
//! its menu opens on a click as on a desktop. Without an SNI watcher libayatana shows the icon
//! through XEmbed; the dbusmenu export that [`super::TrayReader`] reads is there either way.
#![allow(clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::display::Display;
use super::processes::Helper;
use super::wait::wait_until;
use crate::pg::run_with_timeout;

/// Where the tray host puts the app's icon: `trayer` docked top right, 120 x 32 px, one icon at
/// its right end.
const TRAY_ICON_AT: (u32, u32) = (1262, 16);
/// The first entry of the tray menu once it is open (the first database).
const TRAY_FIRST_ENTRY_AT: (u32, u32) = (1180, 48);
/// How long a menu may take to open or close after a click or a hover.
const MENU_WAIT: Duration = Duration::from_secs(10);

/// `trayer` on a display; stopped on drop.
pub(crate) struct TrayHost {
    trayer: Helper,
}

impl TrayHost {
    pub(crate) fn start(display: &Display, logs: &Path) -> TrayHost {
        let mut cmd = Command::new("trayer");
        cmd.args(["--edge", "top", "--align", "right", "--widthtype", "pixel", "--width", "120"])
            .args(["--height", "32", "--tint", "0x2b2f36", "--transparent", "true", "--alpha", "0"])
            .env("DISPLAY", display.name());
        TrayHost { trayer: Helper::spawn_logged("trayer", &mut cmd, logs.join("trayer.log")) }
    }

    /// Clicks the tray icon, opens the first entry's submenu, and saves the screen to `path`
    /// with both menus open; closes them again. Returns how many pixels the open menus changed
    /// on screen (zero means no menu appeared).
    #[track_caller]
    pub(crate) fn screenshot_menu(&self, display: &Display, path: &Path) -> u64 {
        let before = path.with_extension("before.png");
        display.screenshot(&before);
        let menus_open = |count: usize| {
            wait_until(
                &format!("{count} open menu(s) on the screen"),
                MENU_WAIT,
                || (display.open_menus() == count).then_some(()),
                || format!("{} open\ntrayer log:\n{}", display.open_menus(), self.trayer.log()),
            )
        };
        let (x, y) = TRAY_ICON_AT;
        display.xdotool(&["mousemove", &x.to_string(), &y.to_string(), "click", "1"]);
        menus_open(1);
        let (x, y) = TRAY_FIRST_ENTRY_AT;
        display.xdotool(&["mousemove", &x.to_string(), &y.to_string()]);
        // GTK opens the submenu after a short hover delay, as a second menu window.
        menus_open(2);
        display.screenshot(path);
        display.xdotool(&["key", "Escape", "key", "Escape"]);
        menus_open(0);
        let compare = run_with_timeout(
            Command::new("compare").args(["-metric", "AE"]).arg(&before).arg(path).arg("null:"),
            Duration::from_secs(30),
        );
        let _ = std::fs::remove_file(&before);
        // `compare` prints the count of differing pixels on stderr (exit 1 when they differ).
        compare.stderr.split_whitespace().next().and_then(|n| n.parse::<f64>().ok()).unwrap_or(0.0) as u64
    }

    pub(crate) fn processes(&self) -> Vec<u32> {
        self.trayer.family()
    }
}
