//! The desktop app end to end, as a person sees it: the real `tapgate-desktop` under Xvfb,
//! driven through tauri-driver, against PostgreSQL 18 with native OAuth, the dev IdP and a
//! software key; notifications captured on the session bus and the tray menu read over D-Bus.
//! Screenshots land in `target/e2e/`.

use std::io::Write;
use std::net::TcpStream;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use tapgate_e2e::desktop::{
    DesktopOptions, DesktopSession, Display, MenuEntry, Notifications, TrayReader, artifacts_dir, exclusive,
    process_alive, wait_for_exit, wait_for_exits, wait_until,
};
use tapgate_e2e::pg::{psql_client, psql_via_forwarder as psql};
use tapgate_e2e::pg18::{Pg18Options, Pg18Server};
use tapgate_e2e::{DEV_IDP_POLICY, DevIdp, DevIdpOptions, Person, TestClock};

/// A comment of the person's own in config.toml, which saving from Settings must keep.
const MY_COMMENT: &str = "# Alice's databases: ask #dba before adding one.";

/// Waits for things a person would wait for (a window, a sign-in, a redraw).
const LONG: Duration = Duration::from_secs(60);
/// Waits for things that follow a click at once.
const SHORT: Duration = Duration::from_secs(30);

/// PostgreSQL 18 with the validator, the dev IdP, and alice enrolled with a software key and a
/// `[db.prod]` table (OAUTHBEARER, role app_rw).
struct Site {
    pg: Pg18Server,
    person: Person,
    _idp: DevIdp,
}

impl Site {
    fn new() -> Site {
        Site::with_idp(DevIdpOptions::default())
    }

    fn with_idp(options: DevIdpOptions) -> Site {
        let idp = DevIdp::start(options);
        let pg = Pg18Server::start(Pg18Options {
            issuer: idp.issuer.clone(),
            verify_toml: format!(
                "issuer = \"{}\"\naudience = \"postgres\"\nca_file = \"{{dir}}/idp-ca.pem\"\n\
                 leeway_seconds = 30\n{DEV_IDP_POLICY}[roles]\napp_rw = [\"dba\"]\napp_ro = [\"dba\", \"analysts\"]\n",
                idp.issuer
            ),
            roles: vec!["app_rw".into(), "app_ro".into()],
            settings: Vec::new(),
        });
        pg.add_file("idp-ca.pem", &idp.ca());

        let person = Person::new();
        idp.enroll("alice@example.com", "dba,dev", &person.key);
        person.configure(&idp, "alice@example.com", "");
        person.append_config(&format!(
            "[db.prod]\nidp = \"{}\"\nhost = \"127.0.0.1\"\nport = {}\ndbname = \"postgres\"\nrole = \"app_rw\"\n\
             roles = [\"app_ro\", \"app_rw\"]\nauth = \"oauthbearer\"\nca_file = \"{}\"\n",
            person.idp_name,
            pg.port(),
            pg.ca().display()
        ));
        Site { pg, person, _idp: idp }
    }
}

/// `"14:59 left"` (or `"1:02:03 left"`): what a running countdown shows.
fn is_countdown(text: &str) -> bool {
    let Some(clock) = text.strip_suffix(" left") else { return false };
    let parts: Vec<&str> = clock.split(':').collect();
    (2..=3).contains(&parts.len())
        && !parts[0].is_empty()
        && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit()))
        && parts[1..].iter().all(|p| p.len() == 2)
}

/// The seconds of a countdown text ("1:05 left" is 65).
fn seconds(text: &str) -> u64 {
    let clock = text.strip_suffix(" left").unwrap_or(text);
    clock.split(':').fold(0, |total, part| total * 60 + part.parse::<u64>().unwrap_or(0))
}

fn labels(menu: &[MenuEntry]) -> Vec<String> {
    menu.iter().filter(|e| !e.separator).map(|e| e.label.clone()).collect()
}

/// Runs one named step of a scenario; a failure inside it (any panic) fails the test as that
/// step, so the report says which step broke and why.
#[track_caller]
fn step<T>(name: &str, run: impl FnOnce() -> T) -> T {
    match std::panic::catch_unwind(AssertUnwindSafe(run)) {
        Ok(value) => value,
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(a panic without a message)");
            panic!("step {name:?} failed: {why}");
        }
    }
}

/// The person's walk through the app, one step after another: each step needs the state the
/// previous ones left (one app per session bus, sessions one at a time), so they run in one test
/// and each fails by name.
#[test]
fn a_person_connects_through_the_desktop_app_and_sees_it_in_the_window_tray_and_notifications() {
    let site = Site::new();
    let config = std::fs::read_to_string(&site.person.config).unwrap();
    site.person.write_config(&format!("{MY_COMMENT}\n{config}"));
    let walk = Walk::new(&site);
    let app = step("start the app", || DesktopSession::start(DesktopOptions::for_person(&site.person)));

    step("1. the window opens on the databases", || walk.window_opens_on_the_databases(&app));
    let port = step("2. connect: the sign-in prompt, then the forwarder", || walk.connect(&app));
    step("3. the IdP's countdown runs", || walk.countdown_runs(&app));
    step("4. history shows the psql session and the chart", || walk.history(&app));
    step("5. copy puts the connection string on the clipboard", || walk.copy_connection_string(&app, port));
    // The tray's verdicts are asserted at the end, so one run also reports on everything after.
    let (tray, tray_connected) = step("6. the tray menu over D-Bus", || walk.tray_while_connected(&app));
    step("6a. a click on the tray icon opens the menu", || walk.tray_menu_on_screen(&app));
    step("6b. tapgate status sees the app's forwarder", || walk.status_lists_the_forwarder(port));
    step("7. signing out stops prod's forwarder and closes its session", || {
        walk.sign_out_closes_the_forwarder(&app, port)
    });
    step("7b. connect again: a tap, and prod is back on the same port", || walk.connect_again(&app, port));
    step("8. the notifications the person got", || walk.notifications(&app, port));
    step("9. settings, start at login", || walk.start_at_login(&app, &tray));
    step("9b. a second launch brings the running app forward", || walk.second_launch(&app));
    step("10. disconnect closes the port", || walk.disconnect(&app, port));
    step("10b. settings save prod's new role", || walk.change_the_role(&app));
    let tray_disconnected = step("11. the tray menu after Disconnect", || {
        tray.poll(SHORT, |menu| tray_shows_stopped(menu, &walk.idp)).err()
    });
    step("11b. ending the session stops everything it started", || walk.end(app));
    step("12. the tray menu while connected and after Disconnect", || {
        let problems: Vec<String> =
            [("while prod was connected", tray_connected), ("after Disconnect", tray_disconnected)]
                .into_iter()
                .filter_map(|(when, problem)| {
                    problem.map(|p| format!("{when}, the tray menu was wrong: {p}"))
                })
                .collect();
        assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    });
}

/// What the steps of the walk share: the site and what the person expects to see.
struct Walk<'a> {
    site: &'a Site,
    idp: String,
    /// The prompt's text, in the window and as a notification.
    prompt_message: String,
    /// The `data-testid` of the IdP's countdown.
    countdown: String,
}

impl<'a> Walk<'a> {
    fn new(site: &'a Site) -> Walk<'a> {
        let idp = site.person.idp_name.clone();
        Walk {
            site,
            prompt_message: format!("Approve the sign-in to {idp} with the software key"),
            countdown: format!("countdown-{idp}"),
            idp,
        }
    }

    /// The app's diagnostics and the server's log, for failure messages.
    fn diag(&self, app: &DesktopSession) -> String {
        format!("{}\nserver log:\n{}", app.diagnostics(), self.site.pg.log())
    }

    /// The window opens on the databases, prod among them, not connected.
    fn window_opens_on_the_databases(&self, app: &DesktopSession) {
        app.wait_for("db-card-prod", LONG);
        app.wait_text("db-status-prod", SHORT, |t| t == "stopped");
        app.screenshot("databases.png");
    }

    /// Connect: the software key's sign-in prompt, then the forwarder listens and psql gets
    /// through it. Returns the forwarder's port.
    fn connect(&self, app: &DesktopSession) -> u16 {
        app.click("connect-prod", SHORT);
        app.wait_for("prompt", SHORT);
        let message = app.wait_text("prompt-message", SHORT, |t| !t.is_empty());
        assert_eq!(message, self.prompt_message, "{}", self.diag(app));
        app.screenshot("prompt.png");
        app.click("prompt-approve", SHORT);
        app.wait_text("db-status-prod", LONG, |t| t == "listening");
        let address = app.wait_text("local-address-prod", SHORT, |t| t.starts_with("127.0.0.1:"));
        let port: u16 = address
            .strip_prefix("127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("local address {address:?} has no port"));
        assert!(!app.exists("prompt"), "the prompt stayed open after approving\n{}", self.diag(app));

        let run = psql(port, "app_rw", &["-tA", "-c", "select current_user"]);
        assert!(run.ok(), "psql through {address} failed: {run:?}\n{}", self.diag(app));
        assert_eq!(run.stdout.trim(), "app_rw");
        app.screenshot("databases-connected.png");
        port
    }

    /// The IdP's countdown runs: it shows a countdown, and then another one.
    fn countdown_runs(&self, app: &DesktopSession) {
        let first = app.wait_text(&self.countdown, SHORT, is_countdown);
        let second = app.wait_text(&self.countdown, SHORT, |t| !t.is_empty() && t != first);
        assert!(is_countdown(&second), "countdown shows {second:?}");
        assert_ne!(first, second, "the countdown did not move");
    }

    /// History: the psql session, and the chart.
    fn history(&self, app: &DesktopSession) {
        app.click("nav-history", SHORT);
        app.wait_for("history-table", SHORT);
        let rows = wait_until(
            "a history row for prod by psql",
            SHORT,
            || {
                let rows = app.texts("history-row");
                rows.iter().any(|r| r.contains("prod") && r.contains("psql")).then_some(rows)
            },
            || format!("rows: {:?}\n{}", app.texts("history-row"), app.diagnostics()),
        );
        assert!(!rows.is_empty());
        assert!(app.exists("history-chart"), "no history chart\n{}", self.diag(app));
        app.screenshot("history.png");
    }

    /// Copy the connection string; it is on the X clipboard, naming prod's Unix-domain socket.
    fn copy_connection_string(&self, app: &DesktopSession, port: u16) {
        app.click("nav-databases", SHORT);
        app.click("copy-uri-prod", SHORT);
        let uri = format!(
            "postgresql://app_rw@/postgres?host={}&port={port}",
            self.site.person.runtime_dir().display()
        );
        wait_until(
            "the connection string on the clipboard",
            SHORT,
            || (app.display().clipboard().as_deref() == Some(uri.as_str())).then_some(()),
            || format!("clipboard: {:?}\n{}", app.display().clipboard(), app.diagnostics()),
        );
    }

    /// The tray menu, read over D-Bus as a tray host would: the reader, and what was wrong with
    /// the menu while prod was connected (asserted at the end of the walk).
    fn tray_while_connected(&self, app: &DesktopSession) -> (TrayReader, Option<String>) {
        let tray = app.tray();
        let problem = tray.poll(SHORT, |menu| tray_shows_connected(menu, &self.idp)).err();
        (tray, problem)
    }

    /// The same menu as a tray host draws it: a click on the icon opens it.
    fn tray_menu_on_screen(&self, app: &DesktopSession) {
        let changed = app.screenshot_tray_menu(&artifacts_dir().join("tray-menu.png"));
        assert!(
            changed > 2_000,
            "clicking the tray icon showed no menu ({changed} pixels changed)\n{}",
            self.diag(app)
        );
    }

    /// `tapgate status` in a terminal sees the app's forwarder.
    fn status_lists_the_forwarder(&self, port: u16) {
        let status = self.site.person.tapgate(&["status", "--json"]);
        status.expect_ok();
        let processes = status.json()["processes"].as_array().cloned().unwrap_or_default();
        let seen = processes.iter().any(|p| {
            p["program"] == "tapgate-desktop"
                && p["forwarders"].as_array().is_some_and(|f| {
                    f.iter().any(|f| f["database"] == "prod" && f["local_port"] == u64::from(port))
                })
        });
        assert!(seen, "tapgate status does not list the app's forwarder on {port}: {}", status.stdout);
    }

    /// Signing out ends access: the app stops prod's forwarder, closes the session open through
    /// it (psql hears why), says so, and the port refuses connections.
    fn sign_out_closes_the_forwarder(&self, app: &DesktopSession, port: u16) {
        let conninfo = format!("host=127.0.0.1 port={port} dbname=postgres user=app_rw sslmode=disable");
        let mut open = std::process::Command::new("/usr/bin/psql")
            .args(["-X", "-w", "-tA", "-d", &conninfo])
            .env_remove("PGPASSWORD")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut to_open = open.stdin.take().unwrap();
        use std::io::Write;
        writeln!(to_open, "select 'open while signing out';").unwrap();
        wait_until(
            "the open session in pg_stat_activity",
            SHORT,
            || {
                let running = self.site.pg.sql(
                    "select count(*) from pg_stat_activity where query like '%open while signing out%' \
                     and pid <> pg_backend_pid()",
                );
                (running == "1").then_some(())
            },
            || self.diag(app),
        );

        app.click(&format!("sign-out-{}", self.idp), SHORT);
        app.wait_text(&self.countdown, SHORT, |t| t == "signed out");
        app.wait_text("db-status-prod", SHORT, |t| t == "stopped");
        let notice = wait_until(
            "the app to say it stopped prod",
            SHORT,
            || app.texts("notice").into_iter().find(|t| t.contains("stopped the forwarder of prod")),
            || format!("notices: {:?}\n{}", app.texts("notice"), app.diagnostics()),
        );
        assert!(notice.contains(&format!("Signed out of {}", self.idp)), "{notice}");
        wait_until(
            &format!("127.0.0.1:{port} to refuse connections"),
            SHORT,
            || TcpStream::connect(("127.0.0.1", port)).is_err().then_some(()),
            || app.diagnostics(),
        );
        // The open session was closed, and psql is told why when it next talks to the server.
        writeln!(to_open, "select 'after signing out';").unwrap();
        drop(to_open);
        let out = open.wait_with_output().unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{said}");
        assert!(said.contains("you signed out of"), "psql said: {said}");
    }

    /// Connect again after signing out: the tap prompt, then prod listens on its old port.
    fn connect_again(&self, app: &DesktopSession, port: u16) {
        app.click("connect-prod", SHORT);
        app.wait_for("prompt", SHORT);
        assert_eq!(app.wait_text("prompt-message", SHORT, |t| !t.is_empty()), self.prompt_message);
        app.click("prompt-approve", SHORT);
        app.wait_text("db-status-prod", LONG, |t| t == "listening");
        assert_eq!(app.text_content("local-address-prod"), Some(format!("127.0.0.1:{port}")));
        let run = psql(port, "app_rw", &["-tA", "-c", "select current_user"]);
        assert_eq!(run.stdout.trim(), "app_rw", "{run:?}\n{}", self.diag(app));
        app.wait_text(&self.countdown, SHORT, is_countdown);
    }

    /// The notifications the person got: prod ready, and the prompt twice.
    fn notifications(&self, app: &DesktopSession, port: u16) {
        let ready = format!("prod ready on 127.0.0.1:{port}");
        app.notifications().wait_for(&format!("{ready:?}"), SHORT, |n| n.summary == ready);
        let prompts =
            app.notifications().all().into_iter().filter(|n| n.summary == self.prompt_message).count();
        assert!(
            prompts >= 2,
            "expected the prompt as a notification twice:\n{:#?}",
            app.notifications().all()
        );
    }

    /// Settings; Start at login writes an XDG autostart entry that starts the app hidden, and
    /// the tray's item is checked.
    fn start_at_login(&self, app: &DesktopSession, tray: &TrayReader) {
        app.click("nav-settings", SHORT);
        app.wait_for("settings-view", SHORT);
        app.screenshot("settings.png");

        app.click("autostart", SHORT);
        let entry = self.site.person.home.path().join(".config/autostart/Tapgate.desktop");
        let text = wait_until(
            &format!("the autostart entry {}", entry.display()),
            SHORT,
            || std::fs::read_to_string(&entry).ok(),
            || app.diagnostics(),
        );
        assert!(text.contains("tapgate-desktop") && text.contains("--hidden"), "autostart entry:\n{text}");
        tray.wait_until("has Start at login checked", SHORT, |menu| {
            match menu.iter().find(|e| e.label == "Start at login").and_then(|e| e.checked) {
                Some(true) => Ok(()),
                other => Err(format!("Start at login checked: {other:?}")),
            }
        });
    }

    /// Single instance: a second launch hands over to the running app and exits; the running
    /// app comes forward on its Databases view. Then the whole screen.
    fn second_launch(&self, app: &DesktopSession) {
        let second = app.launch_again(SHORT);
        assert!(second.success(), "the second launch failed: {second:?}");
        app.wait_for("db-card-prod", SHORT);
        assert!(!app.exists("settings-view"), "the running app did not come forward\n{}", self.diag(app));
        app.display().screenshot(&artifacts_dir().join("screen.png"));
    }

    /// Disconnect: the port closes.
    fn disconnect(&self, app: &DesktopSession, port: u16) {
        app.click("nav-databases", SHORT);
        app.click("disconnect-prod", SHORT);
        app.wait_text("db-status-prod", SHORT, |t| t == "stopped");
        wait_until(
            &format!("127.0.0.1:{port} to refuse connections"),
            SHORT,
            || TcpStream::connect(("127.0.0.1", port)).is_err().then_some(()),
            || app.diagnostics(),
        );
    }

    /// Settings: change prod's default role in the form; config.toml gets it, with the
    /// person's own comment kept, and the window shows the new role.
    fn change_the_role(&self, app: &DesktopSession) {
        let config = &self.site.person.config;
        app.click("nav-settings", SHORT);
        app.click("edit-db-prod", SHORT);
        app.type_into("db-field-role", "app_ro");
        app.click("save-settings", SHORT);
        let saved = wait_until(
            "config.toml to have the new role",
            SHORT,
            || std::fs::read_to_string(config).ok().filter(|t| t.contains("role = \"app_ro\"")),
            || {
                format!(
                    "config:\n{}\n{}",
                    std::fs::read_to_string(config).unwrap_or_default(),
                    app.diagnostics()
                )
            },
        );
        assert!(saved.contains(MY_COMMENT), "the person's comment was lost:\n{saved}");
        app.click("nav-databases", SHORT);
        wait_until(
            "prod's card to show the new role",
            SHORT,
            || app.text_content("db-card-prod").filter(|t| t.contains("app_ro · also app_rw")),
            || format!("card: {:?}", app.text_content("db-card-prod")),
        );
    }

    /// Ending the session closes the app; nothing the session started keeps running.
    fn end(&self, mut app: DesktopSession) {
        let started = app.processes();
        assert!(
            started.iter().any(|(_, name)| name == "tapgate-desktop"),
            "the app is not among the session's processes: {started:?}"
        );
        if let Err(e) = app.end_session(SHORT) {
            panic!("{e}\n{}", app.diagnostics());
        }
        drop(app);
        let pids: Vec<u32> = started.iter().map(|(pid, _)| *pid).collect();
        let left = wait_for_exits(&pids, SHORT);
        let left: Vec<&(u32, String)> = started.iter().filter(|(pid, _)| left.contains(pid)).collect();
        assert!(left.is_empty(), "still running {SHORT:?} after the test: {left:?}");
    }
}

/// The tray while prod listens and alice is signed in: `● prod — 14:32 left` (or its
/// connections) with Disconnect and the copy entries under it, Sign out, Open, Start at login, Quit.
fn tray_shows_connected(menu: &[MenuEntry], idp: &str) -> Result<(), String> {
    let prod = menu.iter().find(|e| e.label.contains("prod — ")).ok_or("no entry for prod")?;
    let status =
        prod.label.strip_prefix("● prod — ").ok_or(format!("prod's entry reads {:?}", prod.label))?;
    if !(is_countdown(status) || status.ends_with(" connection") || status.ends_with(" connections")) {
        return Err(format!("prod's entry reads {:?}: neither a countdown nor connections", prod.label));
    }
    let submenu = labels(&prod.children);
    let wanted = ["Disconnect", "Copy connection string", "Copy as", "Open psql in a terminal"];
    if submenu != wanted {
        return Err(format!("under prod: {submenu:?}, wanted {wanted:?}"));
    }
    let copy_as = prod.children.iter().find(|c| c.label == "Copy as").map(|c| labels(&c.children));
    if copy_as.as_deref()
        != Some(&["Keyword/value", "JDBC URL", "psql command", "TCP URI (GUI clients)"].map(String::from)[..])
    {
        return Err(format!("Copy as: {copy_as:?}"));
    }
    common_entries(menu, &format!("Sign out of {idp} (alice@example.com)"))
}

/// The tray after Disconnect (still signed in): `○ prod — <countdown>` with Connect.
fn tray_shows_stopped(menu: &[MenuEntry], idp: &str) -> Result<(), String> {
    let prod = menu.iter().find(|e| e.label.contains("prod — ")).ok_or("no entry for prod")?;
    let status =
        prod.label.strip_prefix("○ prod — ").ok_or(format!("prod's entry reads {:?}", prod.label))?;
    if !is_countdown(status) {
        return Err(format!("prod's entry reads {:?}, wanted the countdown", prod.label));
    }
    if prod.children.first().map(|c| c.label.as_str()) != Some("Connect") {
        return Err(format!("under prod: {:?}, wanted Connect first", labels(&prod.children)));
    }
    common_entries(menu, &format!("Sign out of {idp} (alice@example.com)"))
}

fn common_entries(menu: &[MenuEntry], sign_in_entry: &str) -> Result<(), String> {
    let top = labels(menu);
    for wanted in [sign_in_entry, "Open Tapgate", "Start at login", "Quit"] {
        if !top.iter().any(|t| t == wanted) {
            return Err(format!("no {wanted:?} in {top:?}"));
        }
    }
    Ok(())
}

/// The harness itself, without the app: an X server, the notification daemon and the capture.
#[test]
fn desktop_harness_captures_notifications_on_a_private_display() {
    let _one_at_a_time = exclusive();
    let logs = tempfile::tempdir().unwrap();
    let display = Display::start(&logs.path().join("xvfb.log"));
    let notifications = Notifications::start(&display, logs.path());

    let summary = format!("harness check {}", std::process::id());
    let sent = std::process::Command::new("notify-send")
        .args(["-a", "tapgate-e2e", &summary, "the body"])
        .env("DISPLAY", display.name())
        .status()
        .unwrap();
    assert!(sent.success(), "notify-send failed");
    let seen = notifications.wait_for(&format!("{summary:?}"), SHORT, |n| n.summary == summary);
    assert_eq!(seen.app_name, "tapgate-e2e");
    assert_eq!(seen.body, "the body");

    let shot = logs.path().join("screen.png");
    display.screenshot(&shot);
    assert!(std::fs::read(&shot).unwrap().starts_with(b"\x89PNG"));
}

/// A token with little time left: the app warns before it runs out (with a Renew action), the
/// tray turns amber, and at the end it says the person is signed out.
///
/// Time passes on a [`TestClock`] the app reads (its test build); the IdP and the server keep
/// real time, so every renewed token is good for the server too.
#[test]
fn a_token_about_to_expire_is_announced_with_renew_then_reported_expired() {
    let clock = TestClock::new();
    let site = Site::with_idp(DevIdpOptions { token_ttl: Some("10m"), ..Default::default() });
    let idp = site.person.idp_name.clone();
    let mut options = DesktopOptions::for_person(&site.person);
    options.env.push(("TAPGATE_TEST_CLOCK_FILE".into(), clock.file().display().to_string()));
    let app = DesktopSession::start(options);
    app.wait_for("db-card-prod", LONG);
    app.click("connect-prod", SHORT);
    app.wait_for("prompt", SHORT);
    app.click("prompt-approve", SHORT);
    app.wait_text("db-status-prod", LONG, |t| t == "listening");
    let countdown = format!("countdown-{idp}");
    app.wait_text(&countdown, SHORT, |t| is_countdown(t) && seconds(t) > 9 * 60);

    // 8.5 minutes later, under five minutes are left: the warning, with Renew, and the tray entry
    // shows the short countdown with the half-filled dot.
    clock.advance(8 * 60 + 30);
    let warning = app.notifications().wait_for("warning that the token expires", SHORT, |n| {
        n.summary == "prod: token expires in 2 minutes" || n.summary == "prod: token expires in 1 minute"
    });
    assert!(
        warning.actions.iter().any(|a| a == "renew"),
        "the expiry warning has no Renew action: {warning:?}"
    );
    let before = seconds(&app.wait_text(&countdown, SHORT, |t| is_countdown(t) && seconds(t) <= 90));
    app.tray().wait_until("shows prod expiring", SHORT, |menu| {
        let entry = menu.iter().find(|e| e.label.contains("prod — "));
        match entry {
            Some(e) if e.label.starts_with("◐ prod — ") && e.label.ends_with(" left") => Ok(()),
            other => Err(format!("prod's entry is {:?}", other.map(|e| &e.label))),
        }
    });

    // Renew from the notification: a refresh without a tap, so the countdown starts over.
    app.invoke_notification_action(&warning, "renew");
    app.wait_text(&countdown, SHORT, |t| is_countdown(t) && seconds(t) > before + 5 * 60);
    assert!(!app.exists("prompt"), "Renew asked for a tap although a refresh token is held");

    // When it runs out: the notice, and the window and the tray say so.
    clock.advance(11 * 60);
    let expired = format!("Signed out of {idp}: token expired");
    app.notifications().wait_for(&format!("{expired:?}"), SHORT, |n| n.summary == expired);
    app.wait_text(&countdown, SHORT, |t| t == "signed out" || t == "expired");
    app.tray().wait_until("shows prod signed out", SHORT, |menu| {
        menu.iter()
            .any(|e| e.label == "◍ prod — signed out")
            .then_some(())
            .ok_or_else(|| format!("labels: {:?}", labels(menu)))
    });

    // prod still listens (only a sign-out stops it). With the refresh token revoked from a
    // terminal, a client's connection needs a tap, and the prompt names the program that asked,
    // so nobody approves for a program they did not start.
    site.person.tapgate(&["logout", &idp]).expect_ok();
    let port: u16 = app
        .wait_text("local-address-prod", SHORT, |t| t.starts_with("127.0.0.1:"))
        .trim_start_matches("127.0.0.1:")
        .parse()
        .unwrap();
    let client = std::thread::spawn(move || {
        let conninfo = format!(
            "host=127.0.0.1 port={port} dbname=postgres user=app_rw sslmode=disable connect_timeout=60"
        );
        psql_client(&conninfo, None, &["-tA", "-c", "select current_user"])
    });
    app.wait_for("prompt", LONG);
    let reason = app.text_content("prompt-reason").unwrap_or_default();
    assert!(
        reason.starts_with("psql (pid ") && reason.ends_with("connected to prod while you were signed out"),
        "{reason:?}"
    );
    app.click("prompt-approve", SHORT);
    let run = client.join().unwrap();
    assert_eq!(run.stdout.trim(), "app_rw", "psql after the prompt: {run:?}\n{}", app.diagnostics());
}

/// The port remembered for prod is held by another user's program (it got there first, or lies
/// in wait): Connect moves prod to a new port and says so, rather than let clients saved with the
/// old port talk to the other user's program.
#[test]
fn a_remembered_port_held_by_another_user_is_replaced_and_the_app_says_so() {
    use tapgate_e2e::pg::{OTHER_USER, ensure_other_user, free_port};
    ensure_other_user();
    let site = Site::new();
    let held = free_port();
    let data = site.person.home.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("ports.json"), format!("{{\"prod\": {held}}}")).unwrap();
    let mut squatter = std::process::Command::new("runuser")
        .args(["-u", OTHER_USER, "--", "python3", "-c"])
        .arg(format!(
            "import socket, time\ns = socket.socket()\ns.bind(('127.0.0.1', {held}))\ns.listen()\ntime.sleep(300)"
        ))
        .current_dir("/")
        .spawn()
        .unwrap();
    wait_until(
        "the other user's program listening",
        SHORT,
        || TcpStream::connect(("127.0.0.1", held)).ok(),
        || format!("nothing on {held}"),
    );

    let app = DesktopSession::start(DesktopOptions::for_person(&site.person));
    app.wait_for("db-card-prod", LONG);
    app.click("connect-prod", SHORT);
    app.wait_for("prompt", SHORT);
    app.click("prompt-approve", SHORT);
    app.wait_text("db-status-prod", LONG, |t| t == "listening");
    let address = app.wait_text("local-address-prod", SHORT, |t| t.starts_with("127.0.0.1:"));
    let port: u16 = address.trim_start_matches("127.0.0.1:").parse().unwrap();
    let notice = wait_until(
        "the app to say the port moved",
        SHORT,
        || app.texts("notice").into_iter().find(|t| t.contains("is held by another user")),
        || format!("notices: {:?}\n{}", app.texts("notice"), app.diagnostics()),
    );
    let _ = squatter.kill();
    let _ = squatter.wait();
    assert_ne!(port, held, "prod must not stay on the other user's port");
    assert!(
        notice.contains(&format!("127.0.0.1:{held}")) && notice.contains(&format!("127.0.0.1:{port}")),
        "{notice}"
    );
    let remembered = std::fs::read_to_string(data.join("ports.json")).unwrap();
    assert!(remembered.contains(&port.to_string()), "the new port is remembered: {remembered}");
    let run = psql(port, "app_rw", &["-tA", "-c", "select current_user"]);
    assert_eq!(run.stdout.trim(), "app_rw", "{run:?}\n{}", app.diagnostics());
}

/// Quit from the tray while a client is mid-query: the query finishes (the forwarder drains
/// with the CLI's grace), then the app exits and no forwarder is left for `tapgate status`.
#[test]
fn quit_from_the_tray_lets_an_open_session_finish() {
    let site = Site::new();
    let app = DesktopSession::start(DesktopOptions::for_person(&site.person));
    app.wait_for("db-card-prod", LONG);
    app.click("connect-prod", SHORT);
    app.wait_for("prompt", SHORT);
    app.click("prompt-approve", SHORT);
    let address = app.wait_text("local-address-prod", LONG, |t| t.starts_with("127.0.0.1:"));
    app.wait_text("db-status-prod", SHORT, |t| t == "listening");
    let port: u16 = address.trim_start_matches("127.0.0.1:").parse().unwrap();

    // A session the test ends when it chooses: psql reading its statements from a pipe, so
    // nothing depends on how long a query takes on a busy machine.
    let mut client = psql_from_pipe(port);
    let mut statements = client.stdin.take().unwrap();
    statements.write_all(b"select 'started';\n").unwrap();
    wait_until(
        "the card to show one open connection",
        SHORT,
        || (app.text_content("open-connections-prod").as_deref() == Some("1")).then_some(()),
        || {
            format!(
                "open connections: {:?}\n{}",
                app.text_content("open-connections-prod"),
                app.diagnostics()
            )
        },
    );

    let pid = app.app_pid().unwrap_or_else(|| panic!("no app process\n{}", app.diagnostics()));
    let tray = app.tray();
    let menu = tray.wait_until("offers Quit", SHORT, |menu| {
        menu.iter()
            .any(|e| e.label == "Quit")
            .then_some(())
            .ok_or_else(|| format!("labels: {:?}", labels(menu)))
    });
    let quit = menu.iter().find(|e| e.label == "Quit").map(|e| e.id).unwrap_or_default();
    tray.click(quit).unwrap_or_else(|e| panic!("clicking Quit: {e}"));

    // Quitting: no new connections, while the open session goes on to its end.
    wait_until(
        &format!("127.0.0.1:{port} to stop accepting connections after Quit"),
        SHORT,
        || TcpStream::connect(("127.0.0.1", port)).is_err().then_some(()),
        || app.diagnostics(),
    );
    assert!(process_alive(pid), "the app quit with a session open\n{}", app.diagnostics());
    statements.write_all(b"select 'finished';\n").unwrap();
    drop(statements);
    let run = client.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success() && stdout.contains("started") && stdout.contains("finished"),
        "the open session did not finish: {run:?}"
    );
    assert!(wait_for_exit(pid, SHORT), "the app still runs {SHORT:?} after Quit\n{}", app.diagnostics());
    let status = site.person.tapgate(&["status", "--json"]);
    let processes = status.json()["processes"].as_array().cloned().unwrap_or_default();
    assert!(
        !processes.iter().any(|p| p["program"] == "tapgate-desktop"),
        "tapgate status still lists the app after Quit: {}",
        status.stdout
    );
}

/// The app killed with `kill -9` while it serves: the finished connection stays in history,
/// and the next start comes up clean and serves again on the same port.
#[test]
fn the_app_killed_with_sigkill_keeps_history_and_starts_clean() {
    let site = Site::new();
    let port = {
        let app = DesktopSession::start(DesktopOptions::for_person(&site.person));
        app.wait_for("db-card-prod", LONG);
        app.click("connect-prod", SHORT);
        app.wait_for("prompt", SHORT);
        app.click("prompt-approve", SHORT);
        let address = app.wait_text("local-address-prod", LONG, |t| t.starts_with("127.0.0.1:"));
        let port: u16 = address.trim_start_matches("127.0.0.1:").parse().unwrap();
        let run = psql(port, "app_rw", &["-tA", "-c", "select 'before the kill'"]);
        assert_eq!(run.stdout.trim(), "before the kill", "{run:?}");
        // History is written off the relay's path, a moment after the close: kill once it is in.
        wait_until(
            "the finished connection in history",
            SHORT,
            || {
                let rows = site.person.tapgate(&["history", "--db", "prod", "--json"]).json();
                rows.as_array().unwrap().iter().any(|r| r["outcome"] == "ok").then_some(())
            },
            || app.diagnostics(),
        );
        let pid = app.app_pid().unwrap_or_else(|| panic!("no app process\n{}", app.diagnostics()));
        tapgate_e2e::signal(pid, "KILL");
        assert!(wait_for_exit(pid, SHORT), "the app survived kill -9");
        port
    };

    let rows = site.person.tapgate(&["history", "--db", "prod", "--json"]).json();
    assert!(
        rows.as_array().unwrap().iter().any(|r| r["outcome"] == "ok" && r["application"] == "psql"),
        "the finished connection is not in history after kill -9: {rows}"
    );

    let app = DesktopSession::start(DesktopOptions::for_person(&site.person));
    app.wait_for("db-card-prod", LONG);
    app.click("connect-prod", SHORT);
    let address = app.wait_text("local-address-prod", LONG, |t| t.starts_with("127.0.0.1:"));
    assert_eq!(address, format!("127.0.0.1:{port}"), "the remembered port changed");
    let run = psql(port, "app_rw", &["-tA", "-c", "select 'after the restart'"]);
    assert_eq!(run.stdout.trim(), "after the restart", "{run:?}\n{}", app.diagnostics());
}

/// Editing config.toml by hand while the app runs: a new database appears without a restart;
/// a broken edit is reported and the last good configuration stays in use.
#[test]
fn the_app_follows_edits_of_the_config_file() {
    let site = Site::new();
    let app = DesktopSession::start(DesktopOptions::for_person(&site.person));
    app.wait_for("db-card-prod", LONG);

    site.person.append_config(&format!(
        "[db.staging]\nidp = \"{}\"\nhost = \"127.0.0.1\"\nport = {}\ndbname = \"postgres\"\nrole = \"app_ro\"\n\
         auth = \"oauthbearer\"\nca_file = \"{}\"\n",
        site.person.idp_name,
        site.pg.port(),
        site.pg.ca().display()
    ));
    app.wait_for("db-card-staging", SHORT);
    assert!(app.exists("db-card-prod"), "prod disappeared after the edit\n{}", app.diagnostics());
    app.tray().wait_until("lists staging", SHORT, |menu| {
        menu.iter()
            .any(|e| e.label.contains("staging — "))
            .then_some(())
            .ok_or_else(|| format!("labels: {:?}", labels(menu)))
    });

    let good = std::fs::read_to_string(&site.person.config).unwrap();
    site.person.write_config(&format!("{good}\n[db.broken]\nhost = \n"));
    let notice = wait_until(
        "a notice about the broken edit",
        SHORT,
        || app.texts("notice").into_iter().find(|t| t.contains("last version")),
        || format!("notices: {:?}\n{}", app.texts("notice"), app.diagnostics()),
    );
    assert!(notice.contains("config.toml"), "the notice does not name the file: {notice}");
    assert!(app.exists("db-card-staging") && app.exists("db-card-prod"), "{}", app.diagnostics());
}

/// psql on the forwarder at `port`, reading statements from its stdin (piped) until it closes.
fn psql_from_pipe(port: u16) -> std::process::Child {
    let mut cmd = std::process::Command::new(tapgate_e2e::pg::PSQL);
    tapgate_e2e::pg::clean_pg_env(&mut cmd);
    cmd.args(["-X", "-w", "-tA", "-v", "ON_ERROR_STOP=1"])
        .args(["-d", &format!("host=127.0.0.1 port={port} dbname=postgres user=app_rw sslmode=disable")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}
