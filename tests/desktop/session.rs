//! One desktop session: an X server, the notification daemon and capture, a tray host, and the
//! app launched by tauri-driver for a WebDriver session; started together, stopped together.
//! The window's helpers (elements by `data-testid`) are in `window.rs`.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{MutexGuard, OnceLock};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use tempfile::TempDir;

use super::display::Display;
use super::notifications::{Notification, Notifications};
use super::processes::{Helper, descendants, process_alive, process_exe, process_name, wait_for_exit};
use super::tray::TrayReader;
use super::tray_host::TrayHost;
use super::wait::wait_until;
use super::{HELPER_START, bus, exclusive};
use crate::pg::free_port;
use crate::{Person, bin};

/// What [`DesktopSession::start`] launches.
#[derive(Debug, Clone)]
pub struct DesktopOptions {
    /// The app binary (`target/debug/tapgate-desktop`).
    pub app: PathBuf,
    /// Arguments for the app.
    pub args: Vec<String>,
    /// The home directory the app (and tauri-driver) see: HOME and the XDG directories in it,
    /// so autostart files, WebKit caches and history land there.
    pub home: PathBuf,
    /// More environment variables for the app (e.g. TAPGATE_CONFIG, TAPGATE_DATA_DIR).
    pub env: Vec<(String, String)>,
}

impl DesktopOptions {
    /// The app as `person` runs it: their home, config file and data directory.
    pub fn for_person(person: &Person) -> DesktopOptions {
        let home = person.home.path().to_path_buf();
        DesktopOptions {
            app: bin("tapgate-desktop"),
            args: Vec::new(),
            env: vec![
                ("TAPGATE_CONFIG".into(), person.config.display().to_string()),
                // The same data directory as the person's `tapgate` commands (see `Person::new`).
                ("TAPGATE_DATA_DIR".into(), home.join("data").display().to_string()),
            ],
            home,
        }
    }
}

/// tauri-driver, found on PATH or in ~/.cargo/bin, installed by `scripts/install-tauri-driver.sh`
/// on first use.
pub fn tauri_driver() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let cargo_bin = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
            .map(|c| c.join("bin/tauri-driver"));
        let on_path = || {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|d| d.join("tauri-driver"))
                .find(|p| p.is_file())
        };
        if let Some(found) = on_path().or_else(|| cargo_bin.clone().filter(|p| p.is_file())) {
            return found;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-tauri-driver.sh");
        let out = Command::new(&script).output().unwrap();
        assert!(
            out.status.success(),
            "{} failed:\n{}{}",
            script.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        on_path()
            .or(cargo_bin.filter(|p| p.is_file()))
            .expect("install-tauri-driver.sh installed no tauri-driver")
    })
}

/// The desktop app running under Xvfb with a notification daemon, driven through tauri-driver.
/// Dropping it ends the WebDriver session and stops every process it started.
pub struct DesktopSession {
    pub(super) client: Option<Client>,
    // Fields drop in this order after `Drop::drop`: the driver (and the app under it), the
    // tray host, the notification daemon and capture, the X server, the runtime, the lock, the logs.
    pub(super) driver: Helper,
    tray_host: TrayHost,
    pub(super) notifications: Notifications,
    display: Display,
    pub(super) runtime: tokio::runtime::Runtime,
    _exclusive: MutexGuard<'static, ()>,
    app: PathBuf,
    /// The app's environment besides DISPLAY and the bus, for [`DesktopSession::launch_again`].
    app_env: Vec<(String, String)>,
    logs: TempDir,
}

impl DesktopSession {
    /// Starts Xvfb, dunst and the notification capture, a tray host, tauri-driver (with
    /// `options`' env and DISPLAY) and a WebDriver session that launches the app.
    pub fn start(options: DesktopOptions) -> DesktopSession {
        let exclusive = exclusive();
        let logs = tempfile::Builder::new().prefix("tapgate-desktop-e2e").tempdir().unwrap();
        let display = Display::start(&logs.path().join("xvfb.log"));
        let notifications = Notifications::start(&display, logs.path());
        let tray_host = TrayHost::start(&display, logs.path());

        let (port, native_port) = (free_port(), free_port());
        let home = &options.home;
        let mut cmd = Command::new(tauri_driver());
        cmd.arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            .arg("--native-driver")
            .arg("/usr/bin/WebKitWebDriver")
            .env("DISPLAY", display.name())
            .env_remove("WAYLAND_DISPLAY")
            .env("GDK_BACKEND", "x11")
            // No accessibility bus: nothing here reads it, and it would start more services.
            .env("NO_AT_BRIDGE", "1")
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("DBUS_SESSION_BUS_ADDRESS", bus::session_bus());
        for (key, value) in &options.env {
            cmd.env(key, value);
        }
        // tauri-driver's stderr is inherited by WebKitWebDriver and the app: the app's log.
        let driver = Helper::spawn_logged("tauri-driver", &mut cmd, logs.path().join("tauri-driver.log"));
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
        wait_until(
            "tauri-driver's /status to say ready",
            HELPER_START,
            || {
                let status: serde_json::Value = http.get(format!("{url}/status")).send().ok()?.json().ok()?;
                (status["value"]["ready"] == true).then_some(())
            },
            || driver.log(),
        );

        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), "wry".into());
        capabilities.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": options.app, "args": options.args }),
        );
        let client = runtime
            .block_on(async {
                let mut builder = ClientBuilder::new(HttpConnector::new());
                builder.capabilities(capabilities);
                tokio::time::timeout(Duration::from_secs(60), builder.connect(&url)).await
            })
            .unwrap_or_else(|_| panic!("no WebDriver session within 60 s; log:\n{}", driver.log()))
            .unwrap_or_else(|e| panic!("the WebDriver session did not start: {e}; log:\n{}", driver.log()));
        DesktopSession {
            client: Some(client),
            driver,
            tray_host,
            notifications,
            display,
            runtime,
            _exclusive: exclusive,
            app_env: {
                let mut env = options.env.clone();
                env.push(("HOME".into(), home.display().to_string()));
                env.push(("XDG_CONFIG_HOME".into(), home.join(".config").display().to_string()));
                env
            },
            app: options.app,
            logs,
        }
    }

    pub fn display(&self) -> &Display {
        &self.display
    }

    /// Clicks the tray icon on screen, opens the first entry's submenu and saves the screen
    /// to `path` with the menus open; returns how many pixels the open menus changed.
    #[track_caller]
    pub fn screenshot_tray_menu(&self, path: &Path) -> u64 {
        self.tray_host.screenshot_menu(&self.display, path)
    }

    /// Starts the app a second time as a person would (same display, bus and config) and
    /// waits for that second process to end; returns its exit status.
    #[track_caller]
    pub fn launch_again(&self, timeout: Duration) -> ExitStatus {
        let mut cmd = Command::new(&self.app);
        cmd.env("DISPLAY", self.display.name())
            .env("GDK_BACKEND", "x11")
            .env("NO_AT_BRIDGE", "1")
            .env("DBUS_SESSION_BUS_ADDRESS", bus::session_bus())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, value) in &self.app_env {
            cmd.env(key, value);
        }
        let mut second = cmd.spawn().unwrap();
        if !wait_for_exit(second.id(), timeout) {
            let _ = second.kill();
            let _ = second.wait();
            panic!("a second launch of the app was still running after {timeout:?}\n{}", self.diagnostics());
        }
        second.wait().unwrap()
    }

    /// Reports a click on `action` of `notification` to the app the way the notification
    /// server does (org.freedesktop.Notifications spec, signal `ActionInvoked(id, action)`).
    /// dunstctl can only address notifications by screen position, which is not stable here.
    #[track_caller]
    pub fn invoke_notification_action(&self, notification: &Notification, action: &str) {
        let id = notification.id.unwrap_or_else(|| panic!("no id captured for {notification:?}"));
        bus::connect()
            .emit_signal(
                None::<&str>,
                "/org/freedesktop/Notifications",
                "org.freedesktop.Notifications",
                "ActionInvoked",
                &(id, action),
            )
            .unwrap_or_else(|e| panic!("emitting ActionInvoked({id}, {action}) failed: {e}"));
    }

    pub fn notifications(&self) -> &Notifications {
        &self.notifications
    }

    /// The app's process id (a descendant of tauri-driver running the app binary), once it runs.
    pub fn app_pid(&self) -> Option<u32> {
        let wanted = std::fs::canonicalize(&self.app).unwrap_or_else(|_| self.app.clone());
        descendants(self.driver.pid()).into_iter().find(|&pid| {
            let exe = process_exe(pid).unwrap_or_default();
            // A rebuilt binary shows as "<path> (deleted)".
            process_alive(pid) && exe.to_string_lossy().starts_with(&*wanted.to_string_lossy())
        })
    }

    /// The tray reader for the running app.
    #[track_caller]
    pub fn tray(&self) -> TrayReader {
        let pid = wait_until("the app's process", HELPER_START, || self.app_pid(), || self.diagnostics());
        TrayReader::new(pid)
    }

    /// The app's log (its stderr, with tauri-driver's and WebKitWebDriver's), last 8 KB.
    pub fn app_log(&self) -> String {
        tail(&self.driver.log(), 8 * 1024).to_string()
    }

    /// What to show when a wait fails: what the window shows, the notifications so far and the
    /// app's log (last, as the longest).
    pub fn diagnostics(&self) -> String {
        format!(
            "--- window text ---\n{}\n--- notifications ---\n{:#?}\n--- app log (tail) ---\n{}",
            self.window_text(),
            self.notifications.all(),
            self.app_log(),
        )
    }

    /// The window's visible text, or why it cannot be read. Bounded on its own, without
    /// [`Self::block_on`], whose timeout would call back into the diagnostics.
    fn window_text(&self) -> String {
        let Some(client) = self.client.as_ref() else { return "(the WebDriver session was ended)".into() };
        let read = client.execute("return document.body ? document.body.innerText : '';", vec![]);
        match self.runtime.block_on(async { tokio::time::timeout(Duration::from_secs(5), read).await }) {
            Ok(Ok(value)) => tail(value.as_str().unwrap_or_default(), 4 * 1024).to_string(),
            Ok(Err(e)) => format!("(cannot read the window: {e})"),
            Err(_) => "(reading the window took over 5 s)".into(),
        }
    }

    /// Every process this session started that still runs, with its name.
    pub fn processes(&self) -> Vec<(u32, String)> {
        let mut pids = self.driver.family();
        pids.extend(self.tray_host.processes());
        pids.extend(self.notifications.processes());
        pids.extend(self.display.processes());
        pids.into_iter().map(|pid| (pid, process_name(pid))).collect()
    }

    /// Ends the WebDriver session (tauri-driver then stops the app) and waits up to `timeout`
    /// for the app to exit; `Err` says what is still running.
    pub fn end_session(&mut self, timeout: Duration) -> Result<(), String> {
        let app = self.app_pid();
        if let Some(client) = self.client.take() {
            self.block_on("end the session", client.close())
                .map_err(|e| format!("deleting the session failed: {e}"))?;
        }
        match app {
            Some(pid) if !wait_for_exit(pid, timeout) => {
                Err(format!("the app (pid {pid}) still runs {timeout:?} after the session ended"))
            }
            _ => Ok(()),
        }
    }

    /// The folder with the helpers' logs (removed on drop).
    pub fn logs(&self) -> &Path {
        self.logs.path()
    }
}

impl Drop for DesktopSession {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(10), client.close()).await });
        }
        // The fields stop their processes as they drop (see the struct).
    }
}

/// The last `max` bytes of `text` (on a character boundary).
fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}
