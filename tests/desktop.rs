//! The desktop app (`tapgate-desktop`) driven as a person would use it: a real X server, a real
//! notification daemon, the window through WebDriver (tauri-driver in front of WebKitWebDriver)
//! and the tray menu read over D-Bus. Needs a session bus: run under `scripts/with-keyring.sh`,
//! as `make test` does.
//!
//! # Layout
//! - [`Display`]: Xvfb on a display number it picks itself (`-displayfd`); full-screen
//!   screenshots (`import`) and the clipboard (`xclip`) of that display.
//! - [`Notifications`]: dunst owning `org.freedesktop.Notifications` on that display, and a
//!   `dbus-monitor` capture of every `Notify` call, parsed into [`Notification`]s.
//! - [`TrayReader`]: finds the app's StatusNotifierItem on the bus (by process id) and reads its
//!   dbusmenu (`GetLayout`) into [`MenuEntry`]s, labels as a tray host shows them.
//! - [`DesktopSession`]: all of the above plus tauri-driver and a WebDriver client (fantoccini),
//!   with blocking helpers addressed by `data-testid`. Everything it started is stopped on
//!   drop, whole process groups included. Reusable by the benchmark.
//! - [`bus_call`] / [`bus_property`]: one session-bus call through `busctl --json`.
//!
//! Desktop sessions of one test process run one at a time ([`exclusive`]): the app is a single
//! instance per session bus, and one notification daemon serves the bus.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use tempfile::TempDir;

use crate::pg::{free_port, run_with_timeout};
use crate::{Person, bin};

/// How long the harness waits for a helper process (Xvfb, dunst, tauri-driver) to be ready.
pub const HELPER_START: Duration = Duration::from_secs(30);
/// How long one WebDriver command may take.
const WEBDRIVER_COMMAND: Duration = Duration::from_secs(30);
/// How often waits look again.
const POLL: Duration = Duration::from_millis(100);

/// Where tests leave screenshots: `target/e2e` (or `$CARGO_TARGET_DIR/e2e`), created.
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

/// The session bus address, or a panic saying how to get one.
fn session_bus() -> String {
    std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap_or_else(|_| {
        panic!(
            "no session bus (DBUS_SESSION_BUS_ADDRESS): run the desktop tests under scripts/with-keyring.sh"
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Helper processes.

/// A process the harness started, leader of its own process group; the group (and any
/// descendant that left it) is stopped on drop.
struct Helper {
    child: Child,
    log: Option<PathBuf>,
}

impl Helper {
    /// Starts `cmd` in a new process group; its stdio as the caller set it up.
    fn spawn(name: &'static str, cmd: &mut Command, log: Option<PathBuf>) -> Helper {
        cmd.process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Helper { child, log }
    }

    /// Starts `cmd` with stdout and stderr appended to `log`.
    fn spawn_logged(name: &'static str, cmd: &mut Command, log: PathBuf) -> Helper {
        let file = File::create(&log).unwrap();
        cmd.stdin(Stdio::null()).stdout(file.try_clone().unwrap()).stderr(file);
        Helper::spawn(name, cmd, Some(log))
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if it has exited.
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn log(&self) -> String {
        self.log.as_ref().map(|p| std::fs::read_to_string(p).unwrap_or_default()).unwrap_or_default()
    }

    /// The helper and every process it started that is still running.
    fn family(&self) -> Vec<u32> {
        let mut family = vec![self.pid()];
        family.extend(descendants(self.pid()));
        family.retain(|&pid| process_alive(pid));
        family
    }

    /// SIGTERM to the group, up to 5 s to go, then SIGKILL to the group and to any descendant
    /// that moved to another group.
    fn stop(&mut self) {
        let family = self.family();
        signal_group(self.pid(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let leader_gone = self.exited().is_some();
            if leader_gone && family.iter().all(|&pid| !process_alive(pid)) {
                break;
            }
            std::thread::sleep(POLL);
        }
        signal_group(self.pid(), "KILL");
        for pid in family {
            if process_alive(pid) {
                crate::signal(pid, "KILL");
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sends signal `name` to the process group `pgid` with kill(1).
fn signal_group(pgid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg("--")
        .arg(format!("-{pgid}"))
        .stderr(Stdio::null())
        .status();
}

/// `(pid, parent pid, process group, state)` of every process, from /proc.
fn processes() -> Vec<(u32, u32, u32, char)> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
            let rest = &stat[stat.rfind(')')? + 1..];
            let mut fields = rest.split_whitespace();
            let state = fields.next()?.chars().next()?;
            let ppid = fields.next()?.parse().ok()?;
            let pgrp = fields.next()?.parse().ok()?;
            Some((pid, ppid, pgrp, state))
        })
        .collect()
}

/// Every live descendant of `root`, and every member of the process group `root` leads.
pub fn descendants(root: u32) -> Vec<u32> {
    let all = processes();
    let mut found: Vec<u32> = all.iter().filter(|p| p.2 == root && p.0 != root).map(|p| p.0).collect();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for p in all.iter().filter(|p| p.1 == parent) {
            if !found.contains(&p.0) {
                found.push(p.0);
            }
            frontier.push(p.0);
        }
    }
    found
}

/// Whether `pid` runs (a zombie no longer does).
pub fn process_alive(pid: u32) -> bool {
    processes().iter().any(|p| p.0 == pid && p.3 != 'Z' && p.3 != 'X')
}

/// The short name of `pid` (`/proc/PID/comm`).
pub fn process_name(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_string()
}

/// Polls `probe` every 100 ms until it returns `Some`, or panics after `timeout` with `what` and
/// whatever `seen` reports then.
#[track_caller]
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Option<T>,
    seen: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("waited {timeout:?} for {what}; saw:\n{}", seen());
        }
        std::thread::sleep(POLL);
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

// ---------------------------------------------------------------------------------------------
// The X server.

/// An Xvfb server; stopped on drop.
pub struct Display {
    number: u32,
    server: Helper,
}

impl Display {
    /// Starts `Xvfb -displayfd` (it takes the first free display number and reports it once it
    /// accepts connections), 1280x800x24, no TCP; waits for its socket.
    pub fn start(log: &Path) -> Display {
        let mut cmd = Command::new("Xvfb");
        cmd.args(["-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(log).unwrap());
        let mut server = Helper::spawn("Xvfb", &mut cmd, Some(log.to_path_buf()));
        let stdout = server.child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(HELPER_START).unwrap_or_default();
        let number: u32 = line.trim().parse().unwrap_or_else(|_| {
            panic!("Xvfb reported no display number (got {line:?}); its log:\n{}", server.log())
        });
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
        wait_until(
            &format!("the X socket {}", socket.display()),
            HELPER_START,
            || socket.exists().then_some(()),
            || server.log(),
        );
        Display { number, server }
    }

    /// `":N"`, for DISPLAY.
    pub fn name(&self) -> String {
        format!(":{}", self.number)
    }

    pub fn number(&self) -> u32 {
        self.number
    }

    /// The whole screen as a PNG at `path` (`import -window root`).
    #[track_caller]
    pub fn screenshot(&self, path: &Path) {
        let run = run_with_timeout(
            Command::new("import").arg("-window").arg("root").arg(path).env("DISPLAY", self.name()),
            Duration::from_secs(30),
        );
        assert!(run.ok() && path.exists(), "import -window root failed: {run:?}");
    }

    /// The CLIPBOARD selection's text (`xclip -o -selection clipboard`), `None` when empty.
    pub fn clipboard(&self) -> Option<String> {
        let run = run_with_timeout(
            Command::new("xclip").args(["-o", "-selection", "clipboard"]).env("DISPLAY", self.name()),
            Duration::from_secs(10),
        );
        run.ok().then_some(run.stdout)
    }

    /// Process ids of the server.
    fn processes(&self) -> Vec<u32> {
        self.server.family()
    }
}

// ---------------------------------------------------------------------------------------------
// Notifications.

/// One captured `org.freedesktop.Notifications.Notify` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub app_name: String,
    pub summary: String,
    pub body: String,
    /// Action ids and labels as sent (`["renew", "Renew"]`).
    pub actions: Vec<String>,
    /// The id the notification server gave it (from the reply to `Notify`).
    pub id: Option<u32>,
}

/// dunst on a display plus a `dbus-monitor` capture of `Notify` calls; stopped on drop.
pub struct Notifications {
    // Drop order: the daemon first, the capture last (it sees everything until the end).
    daemon: Helper,
    monitor: Helper,
    log: PathBuf,
}

impl Notifications {
    /// Starts the capture (and waits until it runs), then dunst on `display`, and waits until
    /// `org.freedesktop.Notifications` has an owner. Logs go to `dir`.
    pub fn start(display: &Display, dir: &Path) -> Notifications {
        let bus = session_bus();
        let log = dir.join("notifications.log");
        let mut cmd = Command::new("dbus-monitor");
        // The Notify calls, and method returns (the ids the server gives them).
        cmd.args([
            "--session",
            "interface='org.freedesktop.Notifications',member='Notify'",
            "type='method_return'",
        ])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus)
        .stdin(Stdio::null())
        .stdout(File::create(&log).unwrap())
        .stderr(File::create(dir.join("dbus-monitor.err")).unwrap());
        let mut monitor = Helper::spawn("dbus-monitor", &mut cmd, Some(log.clone()));
        // A monitor loses its unique name (BecomeMonitor): dbus-monitor printing its own
        // NameLost means every later Notify call is in the capture.
        wait_until(
            "dbus-monitor to become a monitor",
            HELPER_START,
            || {
                if let Some(status) = monitor.exited() {
                    panic!(
                        "dbus-monitor exited ({status}): {}",
                        std::fs::read_to_string(dir.join("dbus-monitor.err")).unwrap_or_default()
                    );
                }
                std::fs::read_to_string(&log).unwrap_or_default().contains("member=NameLost").then_some(())
            },
            || std::fs::read_to_string(dir.join("dbus-monitor.err")).unwrap_or_default(),
        );

        let mut cmd = Command::new("dunst");
        cmd.env("DISPLAY", display.name()).env_remove("WAYLAND_DISPLAY");
        let daemon = Helper::spawn_logged("dunst", &mut cmd, dir.join("dunst.log"));
        let owned = || {
            bus_call(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "NameHasOwner",
                &["s", "org.freedesktop.Notifications"],
            )
            .ok()
            .and_then(|v| v.get(0).and_then(serde_json::Value::as_bool))
            .unwrap_or(false)
        };
        wait_until(
            "a notification daemon on the bus (dunst)",
            HELPER_START,
            || owned().then_some(()),
            || daemon.log(),
        );
        Notifications { daemon, monitor, log }
    }

    /// The raw capture file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The raw `dbus-monitor` output so far.
    pub fn captured(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every `Notify` call so far, in order.
    pub fn all(&self) -> Vec<Notification> {
        parse_notify_calls(&self.captured())
    }

    /// Waits until a notification whose summary satisfies `matches` was sent; returns it.
    #[track_caller]
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        matches: impl Fn(&Notification) -> bool,
    ) -> Notification {
        wait_until(
            &format!("a notification {what}"),
            timeout,
            || self.all().into_iter().find(|n| matches(n)),
            || format!("{:#?}\ndunst log:\n{}", self.all(), self.daemon.log()),
        )
    }

    fn processes(&self) -> Vec<u32> {
        let mut pids = self.daemon.family();
        pids.extend(self.monitor.family());
        pids
    }
}

/// The `Notify` calls in `dbus-monitor` text: the four top-level string arguments are app name,
/// icon, summary and body (org.freedesktop.Notifications spec, `Notify`).
pub fn parse_notify_calls(text: &str) -> Vec<Notification> {
    // The server's replies: (destination, reply_serial) -> the uint32 id.
    let mut ids = std::collections::HashMap::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.starts_with("method return") {
            let field =
                |name: &str| line.split_whitespace().find_map(|w| w.strip_prefix(name)).map(str::to_string);
            if let (Some(destination), Some(serial)) = (field("destination="), field("reply_serial="))
                && let Some(id) = lines.peek().and_then(|l| l.trim().strip_prefix("uint32 "))
                && let Ok(id) = id.parse::<u32>()
            {
                ids.insert((destination, serial), id);
            }
        }
    }
    let mut calls = Vec::new();
    // The (sender, serial) of each Notify call, in order, to find its id.
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut current: Option<Vec<String>> = None;
    // The fifth argument, the actions array: (collecting, collected).
    let mut actions: (bool, Vec<String>) = (false, Vec::new());
    fn finish(strings: Vec<String>, actions: Vec<String>, calls: &mut Vec<Notification>) {
        if strings.len() >= 4 {
            calls.push(Notification {
                app_name: strings[0].clone(),
                summary: strings[2].clone(),
                body: strings[3].clone(),
                actions,
                id: None,
            });
        }
    }
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if !line.starts_with(' ') {
            if let Some(strings) = current.take() {
                finish(strings, std::mem::take(&mut actions.1), &mut calls);
            }
            actions.0 = false;
            if line.starts_with("method call") && line.contains("member=Notify") {
                current = Some(Vec::new());
                let field = |name: &str| {
                    line.split_whitespace().find_map(|w| w.strip_prefix(name)).unwrap_or_default().to_string()
                };
                keys.push((field("sender="), field("serial=")));
            }
            continue;
        }
        let Some(strings) = current.as_mut() else { continue };
        if strings.len() == 4 && line == "   array [" && actions.1.is_empty() {
            actions.0 = true;
            continue;
        }
        if actions.0 {
            if line == "   ]" {
                actions.0 = false;
            } else if let Some(rest) = line.trim_start().strip_prefix("string \"") {
                actions.1.push(rest.strip_suffix('"').unwrap_or(rest).to_string());
            }
            continue;
        }
        // Top-level arguments are indented by three spaces; array and dict members deeper.
        if let Some(rest) = line.strip_prefix("   string \"") {
            let mut value = rest.to_string();
            // A string with newlines goes on until a line ending in the closing quote.
            while !value.ends_with('"') {
                match lines.peek() {
                    Some(next) if !next.starts_with("   ") || next.starts_with("    ") || next.is_empty() => {
                        value.push('\n');
                        value.push_str(lines.next().unwrap_or_default());
                    }
                    _ => break,
                }
            }
            strings.push(value.strip_suffix('"').unwrap_or(&value).to_string());
        }
    }
    if let Some(strings) = current.take() {
        finish(strings, actions.1, &mut calls);
    }
    // `finish` keeps only well-formed calls; they are the calls with at least four strings, in
    // order, so pair them with the keys of the calls that produced them.
    for (call, key) in calls.iter_mut().zip(keys) {
        call.id = ids.get(&key).copied();
    }
    calls
}

// ---------------------------------------------------------------------------------------------
// The session bus.

/// Calls `iface.method` on `dest` at `path` with busctl's `SIGNATURE ARGS...` (empty for no
/// arguments); returns the reply's `data` (one JSON value per out argument).
pub fn bus_call(
    dest: &str,
    path: &str,
    iface: &str,
    method: &str,
    args: &[&str],
) -> Result<serde_json::Value, String> {
    let mut cmd = Command::new("busctl");
    cmd.arg(format!("--address={}", session_bus()))
        // `--`: arguments such as "-1" are not options.
        .args(["--json=short", "--timeout=10", "--", "call", dest, path, iface, method])
        .args(args);
    busctl(&mut cmd)
}

/// The value of property `iface.name` of `dest` at `path`.
pub fn bus_property(dest: &str, path: &str, iface: &str, name: &str) -> Result<serde_json::Value, String> {
    let mut cmd = Command::new("busctl");
    cmd.arg(format!("--address={}", session_bus())).args([
        "--json=short",
        "--timeout=10",
        "--",
        "get-property",
        dest,
        path,
        iface,
        name,
    ]);
    busctl(&mut cmd)
}

fn busctl(cmd: &mut Command) -> Result<serde_json::Value, String> {
    let run = run_with_timeout(cmd, Duration::from_secs(20));
    if !run.ok() {
        return Err(format!("busctl failed: {}", run.stderr.trim()));
    }
    if run.stdout.trim().is_empty() {
        // A method without a return value (dbusmenu's Event): nothing to parse.
        return Ok(serde_json::Value::Null);
    }
    let reply: serde_json::Value = serde_json::from_str(run.stdout.trim())
        .map_err(|e| format!("busctl printed no JSON ({e}): {}", run.stdout))?;
    Ok(reply["data"].clone())
}

// ---------------------------------------------------------------------------------------------
// The tray.

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

/// Reads the tray menu of the process `pid` over D-Bus (works without a tray host: libayatana
/// exports the StatusNotifierItem and its dbusmenu anyway).
#[derive(Debug, Clone)]
pub struct TrayReader {
    pid: u32,
    found: std::sync::Arc<Mutex<Option<TrayLocation>>>,
}

impl TrayReader {
    pub fn new(pid: u32) -> TrayReader {
        TrayReader { pid, found: Default::default() }
    }

    /// Finds the tray: the bus names the process owns (well-known `org.kde.StatusNotifierItem-*`
    /// first), the items under `/org/ayatana/NotificationItem` (or `/StatusNotifierItem`), and
    /// the item's `Menu` property.
    pub fn locate(&self) -> Result<TrayLocation, String> {
        if let Some(found) = self.found.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(found);
        }
        let names = bus_call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "ListNames",
            &[],
        )?;
        let names: Vec<String> = names
            .get(0)
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|n| n.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let mut mine: Vec<String> = names
            .iter()
            .filter(|name| {
                bus_call(
                    "org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus",
                    "GetConnectionUnixProcessID",
                    &["s", name],
                )
                .ok()
                .and_then(|v| v.get(0).and_then(serde_json::Value::as_u64))
                    == Some(u64::from(self.pid))
            })
            .cloned()
            .collect();
        mine.sort_by_key(|n| (!n.starts_with("org.kde.StatusNotifierItem"), n.starts_with(':'), n.clone()));
        let mut tried = Vec::new();
        for name in &mine {
            let mut items: Vec<String> = child_nodes(name, "/org/ayatana/NotificationItem")
                .into_iter()
                .map(|c| format!("/org/ayatana/NotificationItem/{c}"))
                .collect();
            items.push("/StatusNotifierItem".into());
            for item in items {
                match bus_property(name, &item, "org.kde.StatusNotifierItem", "Menu") {
                    Ok(menu) => {
                        if let Some(menu) = menu.as_str().filter(|m| !m.is_empty() && *m != "/") {
                            let location = TrayLocation {
                                bus_name: name.clone(),
                                item_path: item,
                                menu_path: menu.to_string(),
                            };
                            *self.found.lock().unwrap_or_else(|p| p.into_inner()) = Some(location.clone());
                            return Ok(location);
                        }
                    }
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
        let reply = bus_call(
            &location.bus_name,
            &location.menu_path,
            "com.canonical.dbusmenu",
            "GetLayout",
            &["iias", "0", "-1", "0"],
        )?;
        let root = reply.get(1).ok_or_else(|| format!("GetLayout reply without a layout: {reply}"))?;
        Ok(parse_layout(root)?.children)
    }

    /// Clicks the item `id` as a tray host does (`com.canonical.dbusmenu.Event` "clicked").
    pub fn click(&self, id: i32) -> Result<(), String> {
        let location = self.locate()?;
        bus_call(
            &location.bus_name,
            &location.menu_path,
            "com.canonical.dbusmenu",
            "Event",
            &["isvu", &id.to_string(), "clicked", "i", "0", "0"],
        )
        .map(|_| ())
    }

    /// Reads the menu until `check` accepts it (`Ok`) or `timeout` passes; the `Err` then says
    /// what `check` last objected to and shows the last menu read.
    pub fn poll(
        &self,
        timeout: Duration,
        check: impl Fn(&[MenuEntry]) -> Result<(), String>,
    ) -> Result<Vec<MenuEntry>, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.read() {
                Ok(menu) => match check(&menu) {
                    Ok(()) => return Ok(menu),
                    Err(problem) => format!("{problem}\nthe menu:\n{}", format_menu(&menu)),
                },
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                return Err(format!("after {timeout:?}: {last}"));
            }
            std::thread::sleep(POLL);
        }
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

/// Child node names of `path` on `dest` (Introspect).
fn child_nodes(dest: &str, path: &str) -> Vec<String> {
    let Ok(reply) = bus_call(dest, path, "org.freedesktop.DBus.Introspectable", "Introspect", &[]) else {
        return Vec::new();
    };
    let xml = reply.get(0).and_then(serde_json::Value::as_str).unwrap_or_default();
    xml.split("<node name=\"").skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_string).collect()
}

/// One `(ia{sv}av)` layout node as busctl prints it: `[id, {prop: {type, data}}, [{type, data}]]`.
pub fn parse_layout(node: &serde_json::Value) -> Result<MenuEntry, String> {
    let parts = node.as_array().ok_or_else(|| format!("not a layout node: {node}"))?;
    let props = parts.get(1).and_then(|p| p.as_object()).ok_or_else(|| format!("no properties: {node}"))?;
    let prop = |key: &str| props.get(key).map(|v| &v["data"]);
    let raw_label = prop("label").and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let checked = match prop("toggle-type").and_then(|v| v.as_str()) {
        Some("checkmark") | Some("radio") => Some(prop("toggle-state").and_then(|v| v.as_i64()) == Some(1)),
        _ => None,
    };
    let mut children = Vec::new();
    for child in parts.get(2).and_then(|c| c.as_array()).into_iter().flatten() {
        children.push(parse_layout(&child["data"])?);
    }
    Ok(MenuEntry {
        id: parts
            .first()
            .and_then(serde_json::Value::as_i64)
            .and_then(|i| i32::try_from(i).ok())
            .unwrap_or(0),
        label: shown_label(&raw_label),
        raw_label,
        separator: prop("type").and_then(|v| v.as_str()) == Some("separator"),
        enabled: prop("enabled").and_then(|v| v.as_bool()).unwrap_or(true),
        visible: prop("visible").and_then(|v| v.as_bool()).unwrap_or(true),
        checked,
        children,
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

/// Where the tray host puts the app's icon: `trayer` docked top right, 120 x 32 px, one icon at
/// its right end.
const TRAY_ICON_AT: (u32, u32) = (1262, 16);
/// The first entry of the tray menu once it is open (the first database).
const TRAY_FIRST_ENTRY_AT: (u32, u32) = (1180, 48);

/// A tray host on the display (`trayer`, an XEmbed system tray), so the tray icon is drawn and
/// its menu opens on a click as on a desktop. Without an SNI watcher libayatana shows the icon
/// through XEmbed; the dbusmenu export that [`TrayReader`] reads is there either way.
fn start_tray_host(display: &Display, logs: &Path) -> Helper {
    let mut cmd = Command::new("trayer");
    cmd.args(["--edge", "top", "--align", "right", "--widthtype", "pixel", "--width", "120"])
        .args(["--height", "32", "--tint", "0x2b2f36", "--transparent", "true", "--alpha", "0"])
        .env("DISPLAY", display.name());
    Helper::spawn_logged("trayer", &mut cmd, logs.join("trayer.log"))
}

impl Display {
    /// `xdotool ARGS` on this display.
    #[track_caller]
    pub fn xdotool(&self, args: &[&str]) {
        let run = run_with_timeout(
            Command::new("xdotool").args(args).env("DISPLAY", self.name()),
            Duration::from_secs(10),
        );
        assert!(run.ok(), "xdotool {args:?} failed: {run:?}");
    }

    /// Clicks the tray icon, opens the first entry's submenu, and saves the screen to `path`
    /// with the menu open; closes the menu again. Returns how many pixels the open menu changed
    /// on screen (zero means no menu appeared).
    #[track_caller]
    pub fn screenshot_tray_menu(&self, path: &Path) -> u64 {
        let before = path.with_extension("before.png");
        self.screenshot(&before);
        let (x, y) = TRAY_ICON_AT;
        self.xdotool(&["mousemove", &x.to_string(), &y.to_string(), "click", "1"]);
        let (x, y) = TRAY_FIRST_ENTRY_AT;
        self.xdotool(&["mousemove", &x.to_string(), &y.to_string()]);
        // GTK opens a submenu after a short hover delay; give it time to draw.
        std::thread::sleep(Duration::from_millis(800));
        self.screenshot(path);
        self.xdotool(&["key", "Escape", "key", "Escape"]);
        let compare = run_with_timeout(
            Command::new("compare").args(["-metric", "AE"]).arg(&before).arg(path).arg("null:"),
            Duration::from_secs(30),
        );
        let _ = std::fs::remove_file(&before);
        // `compare` prints the count of differing pixels on stderr (exit 1 when they differ).
        compare.stderr.split_whitespace().next().and_then(|n| n.parse::<f64>().ok()).unwrap_or(0.0) as u64
    }
}

// ---------------------------------------------------------------------------------------------
// The app through WebDriver.

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
    client: Option<Client>,
    // Fields drop in this order after `Drop::drop`: the driver (and the app under it), the
    // notification daemon and capture, the X server, the runtime, the lock, the logs.
    driver: Helper,
    _tray_host: Helper,
    notifications: Notifications,
    display: Display,
    runtime: tokio::runtime::Runtime,
    _exclusive: MutexGuard<'static, ()>,
    app: PathBuf,
    /// The app's environment besides DISPLAY and the bus, for [`DesktopSession::launch_again`].
    app_env: Vec<(String, String)>,
    logs: TempDir,
}

impl DesktopSession {
    /// Starts Xvfb, dunst and the notification capture, tauri-driver (with `options`' env and
    /// DISPLAY) and a WebDriver session that launches the app.
    pub fn start(options: DesktopOptions) -> DesktopSession {
        let exclusive = exclusive();
        let logs = tempfile::Builder::new().prefix("tapgate-desktop-e2e").tempdir().unwrap();
        let display = Display::start(&logs.path().join("xvfb.log"));
        let notifications = Notifications::start(&display, logs.path());
        let tray_host = start_tray_host(&display, logs.path());

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
            .env("DBUS_SESSION_BUS_ADDRESS", session_bus());
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
            _tray_host: tray_host,
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

    /// Starts the app a second time as a person would (same display, bus and config) and
    /// waits for that second process to end; returns its exit status.
    #[track_caller]
    pub fn launch_again(&self, timeout: Duration) -> std::process::ExitStatus {
        let mut cmd = Command::new(&self.app);
        cmd.env("DISPLAY", self.display.name())
            .env("GDK_BACKEND", "x11")
            .env("NO_AT_BRIDGE", "1")
            .env("DBUS_SESSION_BUS_ADDRESS", session_bus())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, value) in &self.app_env {
            cmd.env(key, value);
        }
        let mut second = cmd.spawn().unwrap();
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = second.try_wait() {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = second.kill();
                let _ = second.wait();
                panic!(
                    "a second launch of the app was still running after {timeout:?}\n{}",
                    self.diagnostics()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Reports a click on `action` of `notification` to the app the way the notification
    /// server does (org.freedesktop.Notifications spec, signal `ActionInvoked(id, action)`).
    /// dunstctl can only address notifications by screen position, which is not stable here.
    #[track_caller]
    pub fn invoke_notification_action(&self, notification: &Notification, action: &str) {
        let id = notification.id.unwrap_or_else(|| panic!("no id captured for {notification:?}"));
        let run = run_with_timeout(
            Command::new("dbus-send")
                .args(["--session", "--type=signal", "/org/freedesktop/Notifications"])
                .arg("org.freedesktop.Notifications.ActionInvoked")
                .arg(format!("uint32:{id}"))
                .arg(format!("string:{action}"))
                .env("DBUS_SESSION_BUS_ADDRESS", session_bus()),
            Duration::from_secs(10),
        );
        assert!(run.ok(), "dbus-send ActionInvoked failed: {run:?}");
    }

    pub fn notifications(&self) -> &Notifications {
        &self.notifications
    }

    /// The WebDriver client, for what the helpers below do not cover.
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("the WebDriver session was ended")
    }

    /// Runs a WebDriver future on the session's runtime, bounded by [`WEBDRIVER_COMMAND`].
    pub fn block_on<T>(&self, what: &str, future: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(async { tokio::time::timeout(WEBDRIVER_COMMAND, future).await }).unwrap_or_else(
            |_| panic!("WebDriver: {what} took over {WEBDRIVER_COMMAND:?}\n{}", self.diagnostics()),
        )
    }

    /// The app's process id (a descendant of tauri-driver running the app binary), once it runs.
    pub fn app_pid(&self) -> Option<u32> {
        let wanted = std::fs::canonicalize(&self.app).unwrap_or_else(|_| self.app.clone());
        descendants(self.driver.pid()).into_iter().find(|&pid| {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
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

    /// What to show when a wait fails: the app's log and the notifications so far.
    pub fn diagnostics(&self) -> String {
        format!(
            "--- app log (tail) ---\n{}\n--- notifications ---\n{:#?}",
            self.app_log(),
            self.notifications.all()
        )
    }

    fn locator(testid: &str) -> String {
        format!("[data-testid=\"{testid}\"]")
    }

    /// The element with `data-testid` = `testid`, if the window has one now.
    pub fn find(&self, testid: &str) -> Option<fantoccini::elements::Element> {
        let css = Self::locator(testid);
        self.block_on(&format!("find {testid}"), self.client().find(Locator::Css(&css))).ok()
    }

    /// Whether the window has an element `testid` now.
    pub fn exists(&self, testid: &str) -> bool {
        self.find(testid).is_some()
    }

    /// The visible text of `testid` now (`None` when absent).
    pub fn text(&self, testid: &str) -> Option<String> {
        let element = self.find(testid)?;
        self.block_on(&format!("text of {testid}"), element.text()).ok().map(|t| t.trim().to_string())
    }

    /// Replaces the value of the input `testid` with `text`, typed as keystrokes.
    #[track_caller]
    pub fn type_into(&self, testid: &str, text: &str) {
        let element = wait_until(
            &format!("the input {testid}"),
            Duration::from_secs(30),
            || self.find(testid),
            || self.diagnostics(),
        );
        // Select all and delete as keystrokes: WebDriver's Element Clear sets the DOM value
        // behind React's back, so the form would keep (and save) the old text.
        // U+E009 presses (and, again, releases) Control; U+E003 is Backspace (WebDriver keys).
        self.block_on(&format!("clear {testid}"), element.send_keys("\u{E009}a\u{E009}\u{E003}"))
            .unwrap_or_else(|e| panic!("clearing {testid}: {e}"));
        self.block_on(&format!("type into {testid}"), element.send_keys(text))
            .unwrap_or_else(|e| panic!("typing into {testid}: {e}"));
    }

    /// The DOM text (`textContent`) of the element `testid`. WebKitWebDriver's rendered text
    /// comes back empty for some clipped grid cells (`overflow: hidden` in `.facts dd`) that a
    /// person sees fine on screen; this reads what the page holds.
    pub fn text_content(&self, testid: &str) -> Option<String> {
        let script = format!(
            "const e = document.querySelector('{}'); return e ? e.textContent : null;",
            Self::locator(testid)
        );
        let value = self
            .block_on(&format!("textContent of {testid}"), self.client().execute(&script, vec![]))
            .ok()?;
        value.as_str().map(|t| t.trim().to_string())
    }

    /// The texts of every element `testid` now.
    pub fn texts(&self, testid: &str) -> Vec<String> {
        let css = Self::locator(testid);
        let Ok(elements) =
            self.block_on(&format!("find all {testid}"), self.client().find_all(Locator::Css(&css)))
        else {
            return Vec::new();
        };
        elements
            .iter()
            .filter_map(|e| self.block_on(&format!("text of {testid}"), e.text()).ok())
            .map(|t| t.trim().to_string())
            .collect()
    }

    /// Waits until the window has `testid`.
    #[track_caller]
    pub fn wait_for(&self, testid: &str, timeout: Duration) {
        wait_until(
            &format!("{testid} in the window"),
            timeout,
            || self.find(testid).map(|_| ()),
            || self.diagnostics(),
        );
    }

    /// Waits until `testid`'s text satisfies `ok`; returns the text.
    #[track_caller]
    pub fn wait_text(&self, testid: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
        let last = Mutex::new(None::<String>);
        wait_until(
            &format!("the text of {testid}"),
            timeout,
            || {
                let text = self.text(testid);
                *last.lock().unwrap() = text.clone();
                text.filter(|t| ok(t))
            },
            || format!("{testid} = {:?}\n{}", last.lock().unwrap(), self.diagnostics()),
        )
    }

    /// Clicks `testid`, waiting up to `timeout` for it to be there and clickable.
    #[track_caller]
    pub fn click(&self, testid: &str, timeout: Duration) {
        let last = Mutex::new(String::from("not found"));
        wait_until(
            &format!("a click on {testid}"),
            timeout,
            || {
                let element = self.find(testid)?;
                match self.block_on(&format!("click {testid}"), element.click()) {
                    Ok(()) => Some(()),
                    Err(e) => {
                        *last.lock().unwrap() = e.to_string();
                        None
                    }
                }
            },
            || format!("last error: {}\n{}", last.lock().unwrap(), self.diagnostics()),
        );
    }

    /// A WebDriver screenshot of the window, saved as `name` in [`artifacts_dir`].
    #[track_caller]
    pub fn screenshot(&self, name: &str) -> PathBuf {
        // The DOM can be ahead of the pixels: wait for two frames so what was just rendered
        // (and asserted on) is painted before the capture.
        let frames = "const done = arguments[arguments.length - 1];\n\
                      requestAnimationFrame(() => requestAnimationFrame(() => done(true)));";
        if let Err(e) = self.block_on("wait for a paint", self.client().execute_async(frames, Vec::new())) {
            panic!("waiting for a paint failed: {e}\n{}", self.diagnostics());
        }
        let png = self
            .block_on("screenshot", self.client().screenshot())
            .unwrap_or_else(|e| panic!("screenshot failed: {e}\n{}", self.diagnostics()));
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG ({} bytes)", png.len());
        let path = artifacts_dir().join(name);
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Every process this session started that still runs, with its name.
    pub fn processes(&self) -> Vec<(u32, String)> {
        let mut pids = self.driver.family();
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
        let deadline = Instant::now() + timeout;
        while let Some(pid) = app.filter(|&pid| process_alive(pid)) {
            if Instant::now() >= deadline {
                return Err(format!("the app (pid {pid}) still runs {timeout:?} after the session ended"));
            }
            std::thread::sleep(POLL);
        }
        Ok(())
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

#[cfg(test)]
mod tests {
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

    #[test]
    fn a_busctl_layout_becomes_nested_entries() {
        let reply: serde_json::Value = serde_json::from_str(
            r#"[7,[0,{"children-display":{"type":"s","data":"submenu"}},[
              {"type":"(ia{sv}av)","data":[1,{"label":{"type":"s","data":"● prod — 1 connection"},
                "children-display":{"type":"s","data":"submenu"}},[
                {"type":"(ia{sv}av)","data":[2,{"label":{"type":"s","data":"Disconnect"}},[]]}]]},
              {"type":"(ia{sv}av)","data":[3,{"type":{"type":"s","data":"separator"}},[]]},
              {"type":"(ia{sv}av)","data":[4,{"label":{"type":"s","data":"Start at login"},
                "toggle-type":{"type":"s","data":"checkmark"},"toggle-state":{"type":"i","data":0},
                "enabled":{"type":"b","data":false}},[]]}]]]"#,
        )
        .unwrap();
        let menu = parse_layout(&reply[1]).unwrap().children;
        assert_eq!(menu.len(), 3);
        assert_eq!(menu[0].label, "● prod — 1 connection");
        assert_eq!(menu[0].children[0].label, "Disconnect");
        assert!(menu[1].separator);
        assert_eq!(menu[2].checked, Some(false));
        assert!(!menu[2].enabled);
        assert_eq!(
            format_menu(&menu),
            "● prod — 1 connection\n  Disconnect\n----\nStart at login (disabled) [ ]\n"
        );
    }

    #[test]
    fn notify_calls_are_read_from_dbus_monitor_output() {
        let text = "signal time=1.0 sender=org.freedesktop.DBus -> destination=:1.4 serial=2 path=/org/freedesktop/DBus; interface=org.freedesktop.DBus; member=NameAcquired
   string \":1.4\"
method call time=2.0 sender=:1.9 -> destination=org.freedesktop.Notifications serial=7 path=/org/freedesktop/Notifications; interface=org.freedesktop.Notifications; member=Notify
   string \"Tapgate\"
   uint32 0
   string \"dialog-password\"
   string \"prod ready on 127.0.0.1:5432\"
   string \"two
lines\"
   array [
      string \"renew\"
      string \"Renew\"
   ]
   array [
      dict entry(
         string \"urgency\"
         variant             byte 1
      )
   ]
   int32 -1
method call time=3.0 sender=:1.9 -> destination=org.freedesktop.Notifications serial=8 path=/org/freedesktop/Notifications; interface=org.freedesktop.Notifications; member=Notify
   string \"notify-send\"
   uint32 0
   string \"\"
   string \"hello\"
   string \"\"
   array [
   ]
   array [
   ]
   int32 -1
";
        let calls = parse_notify_calls(text);
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert_eq!(calls[0].app_name, "Tapgate");
        assert_eq!(calls[0].summary, "prod ready on 127.0.0.1:5432");
        assert_eq!(calls[0].body, "two\nlines");
        assert_eq!(calls[1].summary, "hello");
    }
}
