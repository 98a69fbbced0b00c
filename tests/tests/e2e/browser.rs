//! Browser sign-in (`flow = "browser"`: authorization code + PKCE on a loopback redirect) in a
//! real Chromium with a virtual authenticator, against the dev IdP's sign-in page, then psql
//! through a forwarder to PostgreSQL 18, whose validator accepts the token.

use std::process::Command;
use std::time::Duration;

use tapgate_e2e::browser::{Browser, UrlInbox, devidp_spki};
use tapgate_e2e::pg::psql_via_forwarder as psql;
use tapgate_e2e::pg18::{Pg18Options, Pg18Server};
use tapgate_e2e::{DEV_IDP_POLICY, DevIdp, DevIdpOptions, Person, TestClock, bin};

const SIGN_IN: Duration = Duration::from_secs(60);

/// A PostgreSQL 18 trusting the dev IdP, a person enrolled there whose config signs in with the
/// browser, `$BROWSER` pointing at an inbox, and a Chromium holding the person's credential.
struct Site {
    pg: Pg18Server,
    person: Person,
    inbox: UrlInbox,
    browser: Browser,
    idp: DevIdp,
}

impl Site {
    fn new() -> Site {
        Site::with_flow("browser")
    }

    fn with_flow(flow: &str) -> Site {
        let idp = DevIdp::start(DevIdpOptions::default());
        let pg = Pg18Server::start(Pg18Options {
            issuer: idp.issuer.clone(),
            verify_toml: format!(
                "issuer = \"{}\"\naudience = \"postgres\"\nca_file = \"{{dir}}/idp-ca.pem\"\n\
                 {DEV_IDP_POLICY}[roles]\napp_rw = [\"dba\"]\n",
                idp.issuer
            ),
            roles: vec!["app_rw".into()],
            settings: Vec::new(),
        });
        pg.add_file("idp-ca.pem", &idp.ca());

        let mut person = Person::new();
        idp.enroll("alice@example.com", "dba", &person.key);
        let ca = person.home.path().join("idp-ca.pem");
        std::fs::copy(idp.ca(), &ca).unwrap();
        person.write_config(&format!(
            "[idp.{name}]\nissuer = \"{issuer}\"\nclient_id = \"tapgate\"\nflow = \"{flow}\"\n\
             username = \"alice@example.com\"\naudience = \"postgres\"\nca_file = \"{ca}\"\n\
             [db.prod]\nidp = \"{name}\"\nhost = \"127.0.0.1\"\nport = {port}\ndbname = \"postgres\"\n\
             role = \"app_rw\"\nauth = \"oauthbearer\"\nca_file = \"{pg_ca}\"\n",
            name = person.idp_name,
            issuer = idp.issuer,
            ca = ca.display(),
            port = pg.port(),
            pg_ca = pg.ca().display(),
        ));
        let inbox = UrlInbox::new();
        person.set_env("BROWSER", &inbox.browser_command().display().to_string());

        let exported = Command::new(bin("tapgate-devidp"))
            .arg("export-credential")
            .arg("--data")
            .arg(idp.data.path())
            .arg("--soft-key")
            .arg(&person.key)
            .output()
            .unwrap();
        assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
        let browser = Browser::start(&[devidp_spki(idp.data.path())]);
        browser.add_credentials(&serde_json::from_slice(&exported.stdout).unwrap());
        Site { pg, person, inbox, browser, idp }
    }

    /// The person finishes sign-in page `n` in the browser, as they would: the user name is
    /// filled in from the config's `username`, one click, the key, then tapgate's own page.
    fn finish_sign_in(&self, n: usize) {
        let url = self.inbox.wait_for(n, SIGN_IN);
        self.browser.goto(&url);
        self.browser.click("go");
        let done = format!("Signed in to {}, you can close this tab.", self.person.idp_name);
        self.browser.wait_for_text(&done, SIGN_IN);
    }
}

#[test]
fn login_in_a_real_browser_then_psql_through_the_forwarder_as_the_role() {
    let site = Site::new();
    let mut login = site.person.spawn(&["login"]);
    site.finish_sign_in(1);
    let code = login.wait(SIGN_IN);
    assert_eq!(code, Some(0), "login: {}\n{}", login.stdout(), login.stderr());
    assert!(login.stdout().contains("Signed in to"), "{}", login.stdout());
    let url = &site.inbox.urls()[0];
    assert!(login.stderr().contains(url.as_str()), "the URL is printed for SSH sessions: {}", login.stderr());
    assert!(
        url.contains("code_challenge_method=S256") && url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
        "{url}"
    );

    let (_connect, port) = site.person.connect("prod");
    let run = psql(port, "app_rw", &["-tA", "-c", "select current_user, system_user"]);
    assert!(run.ok(), "{run:?}\n{}", site.pg.log());
    assert_eq!(run.stdout.trim(), "app_rw|oauth:alice@example.com");
    assert_eq!(site.inbox.urls().len(), 1, "no second sign-in page: the token was reused");
}

/// Twenty GUI-client connections arriving while signed out: one sign-in page, not twenty tabs,
/// and every connection gets in once the person has signed in.
#[test]
fn twenty_connections_while_signed_out_open_one_sign_in_page_and_all_get_in() {
    let mut site = Site::new();
    let clock = TestClock::new();
    site.person.use_clock(&clock);
    let mut connect = site.person.spawn(&["connect", "prod"]);
    site.finish_sign_in(1);
    let ready = connect.wait_for_stdout("prod ready on 127.0.0.1:", SIGN_IN);
    let port: u16 = ready.rsplit(':').next().unwrap().trim().parse().unwrap();

    // Signed out elsewhere (the keyring entry is gone), and the forwarder's token has run out.
    site.person.tapgate(&["logout"]).expect_ok();
    clock.advance(16 * 60);
    let clients: Vec<_> = (0..20)
        .map(|_| std::thread::spawn(move || psql(port, "app_rw", &["-tA", "-c", "select current_user"])))
        .collect();
    site.finish_sign_in(2);
    for client in clients {
        let run = client.join().unwrap();
        assert_eq!(run.stdout.trim(), "app_rw", "{run:?}\n{}", connect.stderr());
    }
    assert_eq!(
        site.inbox.urls().len(),
        2,
        "one sign-in page for twenty connections: {:?}",
        site.inbox.urls()
    );
}

/// The headline of the app's browser prompt, once it shows. Read from the DOM: WebKitWebDriver's
/// rendered text of this dialog sometimes fails (the element is there, its text call errors).
fn browser_prompt(app: &tapgate_e2e::desktop::DesktopSession) -> String {
    tapgate_e2e::desktop::wait_until(
        "the browser sign-in prompt",
        Duration::from_secs(60),
        || app.text_content("prompt-message").filter(|t| t.starts_with("Finish signing in")),
        || format!("prompt: {:?}", app.text_content("prompt")),
    )
}

/// The desktop app: Connect while signed out shows "Finish signing in in your browser" with the
/// page's address, the page opens through `$BROWSER`, and once the person has signed in there the
/// forwarder listens and psql gets in. A second try is cancelled from the app's prompt: the wait
/// ends at once and nothing listens.
#[test]
fn the_desktop_app_connects_through_a_browser_sign_in_and_cancel_stops_the_wait() {
    use tapgate_e2e::desktop::{DesktopOptions, DesktopSession};
    const WAIT: Duration = Duration::from_secs(60);

    let site = Site::new();
    let mut options = DesktopOptions::for_person(&site.person);
    options.env.push(("BROWSER".into(), site.inbox.browser_command().display().to_string()));
    let app = DesktopSession::start(options);
    app.wait_for("db-card-prod", WAIT);

    app.click("connect-prod", WAIT);
    let shown = browser_prompt(&app);
    assert_eq!(shown, format!("Finish signing in to {} in your browser", site.person.idp_name));
    let url = site.inbox.wait_for(1, WAIT);
    app.screenshot("desktop-prompt-browser.png");
    assert_eq!(
        app.text_content("prompt-url").as_deref(),
        Some(url.as_str()),
        "the prompt shows the page it opened"
    );
    site.finish_sign_in(1);
    app.wait_text("db-status-prod", WAIT, |t| t == "listening");
    assert!(!app.exists("prompt"), "the prompt closed once signed in");
    let address = app.wait_text("local-address-prod", WAIT, |t| t.starts_with("127.0.0.1:"));
    let port: u16 = address.rsplit(':').next().unwrap().parse().unwrap();
    let run = psql(port, "app_rw", &["-tA", "-c", "select current_user"]);
    assert_eq!(run.stdout.trim(), "app_rw", "{run:?}");

    // Sign out, connect again, and give up in the app: Open again re-opens the page, Cancel
    // ends the wait (the loopback listener closes) and says so.
    app.click("disconnect-prod", WAIT);
    app.click(&format!("sign-out-{}", site.person.idp_name), WAIT);
    app.click("connect-prod", WAIT);
    browser_prompt(&app);
    let second = site.inbox.wait_for(2, WAIT);
    app.click("prompt-open-again", WAIT);
    assert_eq!(site.inbox.wait_for(3, WAIT), second, "Open again opens the same page");
    let redirect = second
        .split("redirect_uri=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .replace("%3A", ":")
        .replace("%2F", "/");
    let listener: std::net::SocketAddr =
        redirect.trim_start_matches("http://").split('/').next().unwrap().parse().unwrap();
    assert!(std::net::TcpStream::connect(listener).is_ok(), "the sign-in waits on {listener}");
    app.click("prompt-cancel", WAIT);
    let error =
        app.wait_text(&format!("idp-error-{}", site.person.idp_name), WAIT, |t| t.contains("cancelled"));
    assert!(error.contains("cancelled"), "{error}");
    assert!(std::net::TcpStream::connect(listener).is_err(), "Cancel closed the loopback listener");
    assert_ne!(app.text("db-status-prod").as_deref(), Some("listening"));
}

/// The device page URL `tapgate login --device` printed (the complete form, with the code).
pub fn printed_device_url(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("https://") && l.contains("user_code="))
        .map(str::to_string)
}

/// `tapgate login --device` on a machine without a browser: the person opens the printed page
/// on another device (here, the Chromium with their key), checks the code and taps; the
/// terminal signs in by itself and the token works in PostgreSQL.
#[test]
fn login_with_a_device_code_confirmed_in_another_browser_then_psql() {
    let site = Site::new();
    let mut login = site.person.spawn(&["login", "--device"]);
    let url = tapgate_e2e::desktop::wait_until(
        "the device page printed",
        SIGN_IN,
        || printed_device_url(&login.stderr()),
        || login.stderr(),
    );
    let code = url.rsplit("user_code=").next().unwrap().to_string();
    assert!(login.stderr().contains(&code), "the code is printed to compare: {}", login.stderr());
    site.browser.goto(&url);
    site.browser.fill("username", "alice@example.com");
    site.browser.click("go");
    site.browser.wait_for_text("Signed in. The device continues on its own", SIGN_IN);
    assert_eq!(login.wait(SIGN_IN), Some(0), "{}\n{}", login.stdout(), login.stderr());
    assert!(site.inbox.urls().is_empty(), "no browser on this machine was asked to open anything");

    let (_connect, port) = site.person.connect("prod");
    let run = psql(port, "app_rw", &["-tA", "-c", "select current_user"]);
    assert_eq!(run.stdout.trim(), "app_rw", "{run:?}\n{}", site.pg.log());
}

/// The desktop app with `flow = "device"`: Connect shows the code, the page and a QR code of it;
/// the person confirms on the page with their key and the forwarder listens.
#[test]
fn the_desktop_app_shows_the_device_code_and_connects_once_it_is_confirmed() {
    use tapgate_e2e::desktop::{DesktopOptions, DesktopSession, wait_until};
    const WAIT: Duration = Duration::from_secs(60);

    let site = Site::with_flow("device");
    let app = DesktopSession::start(DesktopOptions::for_person(&site.person));
    app.wait_for("db-card-prod", WAIT);
    app.click("connect-prod", WAIT);
    let code = wait_until(
        "the device code in the prompt",
        WAIT,
        || app.text_content("prompt-user-code").filter(|c| c.len() == 9),
        || format!("prompt: {:?}", app.text_content("prompt")),
    );
    assert!(app.exists("prompt-qr"), "a QR code of the page");
    app.screenshot("desktop-prompt-device.png");
    let page = app.text_content("prompt-url").unwrap();
    site.browser.goto(&page);
    site.browser.fill("user_code", &code.to_lowercase().replace('-', ""));
    site.browser.fill("username", "alice@example.com");
    site.browser.click("go");
    site.browser.wait_for_text("Signed in. The device continues on its own", WAIT);
    app.wait_text("db-status-prod", WAIT, |t| t == "listening");
    let address = app.wait_text("local-address-prod", WAIT, |t| t.starts_with("127.0.0.1:"));
    let port: u16 = address.rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(psql(port, "app_rw", &["-tA", "-c", "select current_user"]).stdout.trim(), "app_rw");
}

/// The IdP goes down between the browser's redirect and the code exchange: `tapgate login`
/// says it cannot reach the IdP, stores nothing, and its loopback listener is gone.
#[test]
fn the_idp_down_in_the_middle_of_a_browser_sign_in_is_a_clear_failure_that_keeps_nothing() {
    let mut site = Site::new();
    let mut login = site.person.spawn(&["login"]);
    let url = url::Url::parse(&site.inbox.wait_for(1, SIGN_IN)).unwrap();
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap();
    let (redirect, state) = (param("redirect_uri"), param("state"));

    site.idp.stop();
    // What the browser would deliver had the person signed in just before the IdP went down.
    let delivered = reqwest::blocking::get(format!("{redirect}?code=issued-before-the-outage&state={state}"));
    assert!(delivered.is_ok(), "the listener took the redirect: {delivered:?}");
    assert_eq!(login.wait(SIGN_IN), Some(1), "{}", login.stderr());
    let said = login.stderr();
    assert!(
        said.contains("cannot reach") || said.contains("could not reach") || said.contains("unreachable"),
        "{said}"
    );
    assert!(tapgate_e2e::keyring_entry(&site.person.idp_name).is_none(), "no token stored");
    let listener = redirect.trim_start_matches("http://").split('/').next().unwrap().to_string();
    assert!(std::net::TcpStream::connect(listener).is_err(), "no listener left open");
}
