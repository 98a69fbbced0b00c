//! A site for the forwarder's end-to-end tests: PostgreSQL 15 whose logins go through PAM and
//! `tapgate-pam-verify`, the dev IdP, and a person (alice, a software key) whose Tapgate config
//! has the database as `prod`.

use tapgate_e2e::pg::{PamService, PgOptions, PgServer, ServerTls};
use tapgate_e2e::{Background, DEV_IDP_POLICY, DevIdp, DevIdpOptions, Person, bin};

/// A database behind PAM, a person allowed in (or not), and their Tapgate config for it.
pub struct Site {
    pub pg: PgServer,
    pub pam: PamService,
    pub person: Person,
    pub idp: DevIdp,
}

/// Options for [`Site::new`]; the default is a site that lets the person in as `app_rw`.
pub struct SiteOptions {
    /// The person's groups at the IdP, comma-separated (`dba` maps to both roles).
    pub groups: &'static str,
    pub idp: DevIdpOptions,
    pub tls: ServerTls,
    /// Extra lines for the `[db.prod]` table.
    pub db_extra: String,
    /// Leave `ca_file` out of `[db.prod]` (the server's certificate is then untrusted).
    pub no_ca_file: bool,
    /// More postgresql.conf lines.
    pub pg_settings: Vec<String>,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            groups: "dba,dev",
            idp: DevIdpOptions::default(),
            tls: ServerTls::Localhost,
            db_extra: String::new(),
            no_ca_file: false,
            pg_settings: Vec::new(),
        }
    }
}

impl Site {
    pub fn new(options: SiteOptions) -> Site {
        let idp = DevIdp::start(options.idp.clone());
        let pam = PamService::install(
            &bin("tapgate-pam-verify"),
            &format!(
                "issuer = \"{}\"\naudience = \"postgres\"\nca_file = \"{{dir}}/idp-ca.pem\"\n\
                 {DEV_IDP_POLICY}[roles]\napp_rw = [\"dba\"]\napp_ro = [\"dba\", \"analysts\"]\n",
                idp.issuer
            ),
        );
        pam.add_file("idp-ca.pem", &idp.ca());
        let pg = PgServer::start(PgOptions {
            pam_service: Some(pam.name.clone()),
            tls: options.tls.clone(),
            settings: options.pg_settings.clone(),
            ..Default::default()
        });
        pg.create_role("app_rw");
        pg.create_role("app_ro");

        let person = Person::new();
        idp.enroll("alice@example.com", options.groups, &person.key);
        person.configure(&idp, "alice@example.com", "");
        let ca = if options.no_ca_file || options.tls == ServerTls::Off {
            String::new()
        } else {
            format!("ca_file = \"{}\"\n", pg.ca().display())
        };
        person.append_config(&format!(
            "[db.prod]\nidp = \"{}\"\nhost = \"127.0.0.1\"\nport = {}\ndbname = \"postgres\"\nrole = \"app_rw\"\n\
             roles = [\"app_ro\", \"app_rw\"]\nauth = \"password\"\n{ca}{}\n",
            person.idp_name,
            pg.port(),
            options.db_extra
        ));
        Site { pg, pam, person, idp }
    }

    /// `tapgate connect prod`, waiting until it listens; returns it and the port.
    pub fn connect(&self) -> (Background, u16) {
        self.person.connect("prod")
    }
}
