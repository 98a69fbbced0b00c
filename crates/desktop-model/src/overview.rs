//! Builds the [`Overview`] the window and the tray show from plain facts: the configuration, what
//! the shell last learnt about each IdP's session and each database's forwarder, and the time.
//!
//! The shell gathers the facts (engine, forwarders, autostart) and calls [`build`]; everything
//! that decides what a person sees (signed in or not, a passed expiry kept for "expired", a
//! remembered port shown before the forwarder listens, which error goes where) is here and
//! tested as plain Rust.

use std::collections::{HashMap, HashSet};

use tapgate_config::{AuthenticatorChoice, Config, DbAuth, Flow};

use crate::view::{AppMode, ConnectionStrings, DatabaseView, IdpView, KeyKindView, Overview};

/// What the token cache said about one IdP's session when last read.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionFacts {
    pub identity: String,
    pub groups: Vec<String>,
    /// The claims a `user = "{claim}"` template may name (`email`, `upn`, ...), by name.
    pub user_claims: HashMap<String, String>,
    /// Expiry in Unix milliseconds on the clock `now_ms` is on.
    pub expires_at_ms: i64,
    pub can_refresh: bool,
}

/// One database's forwarder as the shell sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ForwarderFacts {
    /// The port it listens on, when it does.
    pub listening_port: Option<u16>,
    /// The port it will listen on (remembered per database), when one could be chosen.
    pub stable_port: Option<u16>,
    pub open_connections: u32,
}

/// Everything [`build`] needs.
#[derive(Debug, Clone)]
pub struct OverviewFacts<'a> {
    pub mode: AppMode,
    pub config_path: String,
    pub config_error: Option<String>,
    /// The configuration in use; `None` when none is (nothing to list).
    pub config: Option<&'a Config>,
    pub sessions: &'a HashMap<String, SessionFacts>,
    pub signing_in: &'a HashSet<String>,
    pub idp_errors: &'a HashMap<String, String>,
    pub db_errors: &'a HashMap<String, String>,
    pub forwarders: &'a HashMap<String, ForwarderFacts>,
    pub autostart: bool,
    pub terminal_available: bool,
    pub now_ms: i64,
}

/// The overview for `facts`; `strings` makes a database's connection strings for a port.
pub fn build(
    facts: &OverviewFacts<'_>,
    strings: impl Fn(&tapgate_config::DbConfig, &str, u16) -> ConnectionStrings,
) -> Overview {
    let mut overview = Overview {
        mode: facts.mode,
        config_path: facts.config_path.clone(),
        config_error: facts.config_error.clone(),
        idps: Vec::new(),
        databases: Vec::new(),
        autostart: facts.autostart,
        terminal_available: facts.terminal_available,
    };
    let Some(config) = facts.config else { return overview };
    for idp in config.idps.values() {
        let known = facts.sessions.get(&idp.name);
        let live = known.filter(|s| s.expires_at_ms > facts.now_ms);
        overview.idps.push(IdpView {
            name: idp.name.clone(),
            issuer: idp.issuer.clone(),
            username: idp.username.clone().unwrap_or_default(),
            key_kind: match (idp.flow, &idp.authenticator) {
                (Flow::Browser, _) => KeyKindView::Browser,
                (Flow::Device, _) => KeyKindView::Device,
                (Flow::Passkey(_), AuthenticatorChoice::Usb) => KeyKindView::Usb,
                (Flow::Passkey(_), AuthenticatorChoice::Soft(_)) => KeyKindView::Soft,
            },
            signed_in: live.is_some(),
            identity: live.map(|s| s.identity.clone()),
            groups: live.map(|s| s.groups.clone()).unwrap_or_default(),
            // Kept after it passes: the window then reads "expired" and the tray clock sends the
            // notice, also when the clock jumped past it (a suspend, or a test's clock).
            expires_at_ms: known.map(|s| s.expires_at_ms),
            can_refresh: known.is_some_and(|s| s.can_refresh),
            signing_in: facts.signing_in.contains(&idp.name),
            last_error: facts.idp_errors.get(&idp.name).cloned(),
        });
    }
    for db in config.dbs.values() {
        let forwarder = facts.forwarders.get(&db.name).cloned().unwrap_or_default();
        let port = forwarder.listening_port.or(forwarder.stable_port);
        // The person's own user (`user = "{email}"`) once a sign-in names it; the template before.
        let role = match &db.user_template {
            Some(template) => facts
                .sessions
                .get(&db.idp)
                .and_then(|s| template.render(s.user_claims.get(template.claim.as_str()).map(String::as_str)))
                .unwrap_or_else(|| db.role.clone()),
            None => db.role.clone(),
        };
        overview.databases.push(DatabaseView {
            name: db.name.clone(),
            idp: db.idp.clone(),
            upstream: format!("{}:{}", db.host, db.port),
            dbname: db.dbname.clone(),
            roles: db.allowed_roles(),
            auth: match db.auth {
                DbAuth::Password => "password".into(),
                DbAuth::OAuthBearer => "oauthbearer".into(),
            },
            local_port: port,
            listening: forwarder.listening_port.is_some(),
            open_connections: forwarder.open_connections,
            last_error: facts.db_errors.get(&db.name).cloned(),
            connection_strings: port.map(|port| strings(db, &role, port)),
            role,
        });
    }
    overview
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn config(dir: &std::path::Path) -> Config {
        let path = dir.join("config.toml");
        std::fs::write(
            &path,
            "[idp.corp]\nissuer = \"https://login.example.com\"\nclient_id = \"tapgate\"\n\
             username = \"alice@example.com\"\ndialect = \"auth0\"\n\
             [idp.lab]\nissuer = \"https://lab.example.com\"\nclient_id = \"tapgate\"\n\
             username = \"alice@example.com\"\ndialect = \"auth0\"\n\
             [idp.web]\nissuer = \"https://web.example.com\"\nclient_id = \"tapgate\"\n\
             [idp.tv]\nissuer = \"https://tv.example.com\"\nclient_id = \"tapgate\"\nflow = \"device\"\n\
             [db.prod]\nidp = \"corp\"\nhost = \"db.example.com\"\ndbname = \"app\"\nrole = \"app_rw\"\n\
             [db.test]\nidp = \"lab\"\nhost = \"test.example.com\"\ndbname = \"app\"\nrole = \"app_ro\"\n\
             [db.own]\nidp = \"corp\"\nhost = \"own.example.com\"\ndbname = \"app\"\nuser = \"{email}\"\n",
        )
        .expect("write config");
        Config::load(&path).expect("config loads")
    }

    struct World {
        sessions: HashMap<String, SessionFacts>,
        signing_in: HashSet<String>,
        idp_errors: HashMap<String, String>,
        db_errors: HashMap<String, String>,
        forwarders: HashMap<String, ForwarderFacts>,
    }

    impl World {
        fn empty() -> World {
            World {
                sessions: HashMap::new(),
                signing_in: HashSet::new(),
                idp_errors: HashMap::new(),
                db_errors: HashMap::new(),
                forwarders: HashMap::new(),
            }
        }

        fn overview(&self, config: Option<&Config>) -> Overview {
            let facts = OverviewFacts {
                mode: AppMode::Configured,
                config_path: "/home/alice/.config/tapgate/config.toml".into(),
                config_error: None,
                config,
                sessions: &self.sessions,
                signing_in: &self.signing_in,
                idp_errors: &self.idp_errors,
                db_errors: &self.db_errors,
                forwarders: &self.forwarders,
                autostart: true,
                terminal_available: false,
                now_ms: NOW,
            };
            build(&facts, |_db, role, port| ConnectionStrings {
                uri: format!("postgresql://{role}@127.0.0.1:{port}"),
                keyword: String::new(),
                jdbc: String::new(),
                psql: String::new(),
                tcp: String::new(),
            })
        }
    }

    fn session(expires_at_ms: i64) -> SessionFacts {
        SessionFacts {
            identity: "alice@example.com".into(),
            groups: vec!["dba".into()],
            user_claims: HashMap::from([("email".to_string(), "alice@example.com".to_string())]),
            expires_at_ms,
            can_refresh: true,
        }
    }

    #[test]
    fn without_a_configuration_nothing_is_listed_but_the_settings_are_shown() {
        let overview = World::empty().overview(None);
        assert!(overview.idps.is_empty() && overview.databases.is_empty());
        assert_eq!(overview.config_path, "/home/alice/.config/tapgate/config.toml");
        assert!(overview.autostart);
    }

    #[test]
    fn a_live_session_is_signed_in_and_a_passed_one_keeps_only_its_expiry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = config(dir.path());
        let mut world = World::empty();
        world.sessions.insert("corp".into(), session(NOW + 600_000));
        world.sessions.insert("lab".into(), session(NOW - 1));
        let overview = world.overview(Some(&config));

        let corp = overview.idps.iter().find(|i| i.name == "corp").expect("corp");
        assert!(corp.signed_in);
        assert_eq!(corp.identity.as_deref(), Some("alice@example.com"));
        assert_eq!(corp.groups, ["dba"]);
        assert_eq!(corp.expires_at_ms, Some(NOW + 600_000));

        let lab = overview.idps.iter().find(|i| i.name == "lab").expect("lab");
        assert!(!lab.signed_in, "a token past its expiry is not a sign-in");
        assert_eq!(lab.identity, None);
        assert!(lab.groups.is_empty());
        assert_eq!(lab.expires_at_ms, Some(NOW - 1), "kept so the window can say expired");
        assert!(lab.can_refresh);
    }

    #[test]
    fn a_database_with_the_persons_own_user_shows_it_once_a_sign_in_names_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = config(dir.path());
        let mut world = World::empty();
        world
            .forwarders
            .insert("own".into(), ForwarderFacts { stable_port: Some(6543), ..Default::default() });
        let own =
            |overview: &Overview| overview.databases.iter().find(|d| d.name == "own").cloned().expect("own");

        let before = own(&world.overview(Some(&config)));
        assert_eq!(before.role, "{email}", "signed out: the template, as written");

        world.sessions.insert("corp".into(), session(NOW + 600_000));
        let after = own(&world.overview(Some(&config)));
        assert_eq!(after.role, "alice@example.com");
        let uri = after.connection_strings.expect("strings").uri;
        assert_eq!(
            uri, "postgresql://alice@example.com@127.0.0.1:6543",
            "copied strings name the person too"
        );
    }

    #[test]
    fn each_idp_says_how_its_person_signs_in() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = config(dir.path());
        let overview = World::empty().overview(Some(&config));
        let kind = |name: &str| overview.idps.iter().find(|i| i.name == name).expect("idp").key_kind;
        assert_eq!(kind("corp"), KeyKindView::Usb, "a passkey table without a key file: a security key");
        assert_eq!(kind("web"), KeyKindView::Browser, "no dialect, no username: the browser");
        assert_eq!(kind("tv"), KeyKindView::Device);
    }

    #[test]
    fn sign_ins_under_way_and_errors_go_to_their_own_idp_and_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = config(dir.path());
        let mut world = World::empty();
        world.signing_in.insert("lab".into());
        world.idp_errors.insert("corp".into(), "the key was not touched in time".into());
        world.db_errors.insert("test".into(), "port 5432 is taken".into());
        let overview = world.overview(Some(&config));

        let idp = |name: &str| overview.idps.iter().find(|i| i.name == name).expect("idp");
        assert!(idp("lab").signing_in && !idp("corp").signing_in);
        assert_eq!(idp("corp").last_error.as_deref(), Some("the key was not touched in time"));
        assert_eq!(idp("lab").last_error, None);
        let db = |name: &str| overview.databases.iter().find(|d| d.name == name).expect("db");
        assert_eq!(db("test").last_error.as_deref(), Some("port 5432 is taken"));
        assert_eq!(db("prod").last_error, None);
    }

    #[test]
    fn a_database_shows_its_remembered_port_until_it_listens_and_no_strings_without_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = config(dir.path());
        let mut world = World::empty();
        world.forwarders.insert(
            "prod".into(),
            ForwarderFacts { listening_port: None, stable_port: Some(15432), open_connections: 0 },
        );
        let overview = world.overview(Some(&config));
        let prod = overview.databases.iter().find(|d| d.name == "prod").expect("prod");
        assert_eq!((prod.local_port, prod.listening), (Some(15432), false));
        assert_eq!(prod.upstream, "db.example.com:5432");
        assert_eq!(
            prod.connection_strings.as_ref().map(|c| c.uri.as_str()),
            Some("postgresql://app_rw@127.0.0.1:15432")
        );
        let test = overview.databases.iter().find(|d| d.name == "test").expect("test");
        assert_eq!(test.local_port, None);
        assert!(test.connection_strings.is_none(), "nothing to copy without a port");

        world.forwarders.insert(
            "prod".into(),
            ForwarderFacts { listening_port: Some(15433), stable_port: Some(15432), open_connections: 3 },
        );
        let overview = world.overview(Some(&config));
        let prod = overview.databases.iter().find(|d| d.name == "prod").expect("prod");
        assert_eq!((prod.local_port, prod.listening, prod.open_connections), (Some(15433), true, 3));
    }
}
