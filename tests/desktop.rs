//! The desktop app (`tapgate-desktop`) driven as a person would use it: a real X server, a real
//! notification daemon, the window through WebDriver (tauri-driver in front of WebKitWebDriver)
//! and the tray menu read over D-Bus. Needs a session bus: run under `scripts/with-keyring.sh`,
//! as `make test` does.
//!
//! # Layout
//! - `display.rs`: [`Display`], Xvfb on a display number it picks itself (`-displayfd`);
//!   full-screen screenshots (`import`), the clipboard (`xclip`), `xdotool`, visible windows.
//! - `notifications.rs`: [`Notifications`], dunst owning `org.freedesktop.Notifications` on
//!   that display, and a zbus bus monitor capturing every `Notify` call (and the id the server
//!   answered) as a [`Notification`]; waits wake on each capture.
//! - `tray.rs`: [`TrayReader`] finds the app's StatusNotifierItem on the bus (by process id)
//!   and reads its dbusmenu (`GetLayout`) into [`MenuEntry`]s, labels as a tray host shows them.
//! - `tray_host.rs`: `trayer` on the display, so the icon is drawn and its menu opens on a click;
//!   the menu's screenshot.
//! - `bus.rs`: the session bus through zbus's blocking API: connecting, name owners, the names
//!   of a process, introspection, properties.
//! - `session.rs`: [`DesktopSession`], all of the above plus tauri-driver and a WebDriver client
//!   (fantoccini); everything it started is stopped on drop, whole process groups included.
//! - `window.rs`: the session's window helpers, addressed by `data-testid`, and its screenshots.
//! - `processes.rs`: process groups the harness starts, signals (rustix), the process table
//!   ([`descendants`], [`process_alive`], through procfs), exits awaited on a pidfd
//!   ([`wait_for_exit`]). Reused by the benchmark.
//! - `wait.rs`: [`wait_until`] and [`poll_until`], a condition looked at until a deadline.
//!
//! Desktop sessions of one test process run one at a time ([`exclusive`]): the app is a single
//! instance per session bus, and one notification daemon serves the bus.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

mod bus;
mod display;
mod notifications;
mod processes;
mod session;
mod tray;
mod tray_host;
mod wait;
mod window;

pub use bus::session_bus;
pub use display::Display;
pub use notifications::{Notification, Notifications};
pub use processes::{descendants, process_alive, process_exe, process_name, wait_for_exit, wait_for_exits};
pub use session::{DesktopOptions, DesktopSession, tauri_driver};
pub use tray::{MenuEntry, TrayLocation, TrayReader, format_menu, layout_of, parse_layout, shown_label};
pub use wait::{POLL, poll_until, wait_until};

/// How long the harness waits for a helper process (Xvfb, dunst, tauri-driver) to be ready.
pub const HELPER_START: Duration = Duration::from_secs(30);

/// Where tests leave screenshots: `target/e2e` (or `$CARGO_TARGET_DIR/e2e`), created.
#[allow(clippy::unwrap_used)]
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("e2e");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Serialises desktop sessions within this test process (see the module docs).
pub fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
