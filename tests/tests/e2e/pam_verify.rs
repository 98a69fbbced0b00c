//! The server-side verifier against a real PostgreSQL 15 and the dev IdP: psql presents a
//! person's token as the password (sslmode=verify-full), `pam_tapgate.so` runs
//! `tapgate-pam-verify`, and the decision log says who was let in as which role and why.

use tapgate_e2e::pg::{PamLauncher, PamService, PgOptions, PgServer};
use tapgate_e2e::{
    DEV_IDP_POLICY, DevIdp, DevIdpOptions, Person, Run, age_jwks_cache, bin, files_containing, jwt_claims,
    jwt_kid,
};

const ROLES: &str = "[roles]\napp_rw = [\"dba\", \"backend\"]\napp_ro = [\"analysts\"]\n";

/// verify.toml for `idp`'s tokens with `audience`; `extra` goes with the top-level keys.
fn verify_toml(idp: &DevIdp, audience: &str, extra: &str) -> String {
    format!(
        "issuer = \"{}\"\naudience = \"{audience}\"\nca_file = \"{{dir}}/idp-ca.pem\"\n{DEV_IDP_POLICY}{extra}\n{ROLES}",
        idp.issuer
    )
}

/// A PostgreSQL server whose TCP logins go through the verifier, with the roles app_rw and app_ro.
struct Site {
    pam: PamService,
    pg: PgServer,
}

impl Site {
    fn new(idp: &DevIdp, extra: &str) -> Site {
        Site::with_launcher(PamLauncher::TapgateModule, idp, extra)
    }

    fn with_launcher(launcher: PamLauncher, idp: &DevIdp, extra: &str) -> Site {
        let pam = PamService::install_with(
            launcher,
            &bin("tapgate-pam-verify"),
            &verify_toml(idp, "postgres", extra),
        );
        pam.add_file("idp-ca.pem", &idp.ca());
        let pg = PgServer::start(PgOptions { pam_service: Some(pam.name.clone()), ..Default::default() });
        pg.create_role("app_rw");
        pg.create_role("app_ro");
        Site { pam, pg }
    }

    /// psql as `role` with `token` as the password: `select current_user`.
    fn login(&self, role: &str, token: &str) -> Run {
        self.pg.psql_tcp(role, Some(token), &["-tA", "-c", "select current_user"])
    }

    #[track_caller]
    fn assert_logs_in(&self, role: &str, token: &str) {
        let run = self.login(role, token);
        assert!(
            run.ok() && run.stdout.trim() == role,
            "login as {role} failed: {run:?}\ndecisions:\n{}",
            self.pam.decisions()
        );
    }

    #[track_caller]
    fn assert_refused(&self, role: &str, token: &str) {
        let run = self.login(role, token);
        assert!(!run.ok(), "login as {role} should have been refused: {run:?}");
        assert!(
            run.stderr.contains(&format!("PAM authentication failed for user \"{role}\"")),
            "psql says why: {}",
            run.stderr
        );
    }

    /// The decision log has a line containing `text`.
    #[track_caller]
    fn assert_decision(&self, text: &str) {
        let decisions = self.pam.decisions();
        assert!(decisions.lines().any(|l| l.contains(text)), "no decision {text:?} in:\n{decisions}");
    }

    /// No token in the decision log, the server log, the verifier's folder or the data dir.
    #[track_caller]
    fn assert_no_token_leaked(&self, tokens: &[&str]) {
        for token in tokens {
            assert!(!self.pam.decisions().contains(token), "a token is in the decision log");
            assert!(!self.pg.log().contains(token), "a token is in the PostgreSQL log");
            assert_eq!(files_containing(self.pam.dir(), token), Vec::<std::path::PathBuf>::new());
            assert_eq!(files_containing(self.pg.data_dir(), token), Vec::<std::path::PathBuf>::new());
        }
    }
}

/// A person enrolled at `idp` in `groups`, signed in.
fn signed_in(idp: &DevIdp, user: &str, groups: &str) -> Person {
    let person = Person::new();
    idp.enroll(user, groups, &person.key);
    person.configure(idp, user, "");
    person.tapgate(&["login"]).expect_ok();
    person
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[test]
fn a_token_whose_groups_map_to_the_role_logs_in_and_other_roles_and_groups_are_refused() {
    let idp = DevIdp::start(DevIdpOptions::default());
    let site = Site::new(&idp, "");
    let alice = signed_in(&idp, "alice@example.com", "dba");
    let bob = signed_in(&idp, "bob@example.com", "dev");
    let alice_token = alice.token();
    let bob_token = bob.token();

    site.assert_logs_in("app_rw", &alice_token);
    site.assert_decision(
        "tapgate-pam-verify: allowed alice@example.com as app_rw: group dba is allowed for app_rw",
    );

    site.assert_refused("app_ro", &alice_token);
    site.assert_decision(
        "tapgate-pam-verify: denied alice@example.com as app_ro: groups [dba] are not allowed for app_ro (allowed: analysts)",
    );

    site.assert_refused("app_rw", &bob_token);
    site.assert_decision(
        "tapgate-pam-verify: denied bob@example.com as app_rw: groups [dev] are not allowed for app_rw (allowed: dba, backend)",
    );

    // One text line per decision, each stamped with the time by the PAM module, and one JSON line.
    let decisions = site.pam.decisions();
    let (json, text): (Vec<&str>, Vec<&str>) = decisions.lines().partition(|l| l.starts_with('{'));
    assert_eq!(text.len(), 3, "{decisions}");
    assert!(text.iter().all(|l| l.starts_with("20") && l.contains("Z tapgate-pam-verify: ")), "{decisions}");
    assert_eq!(json.len(), 3, "{decisions}");
    let allowed: serde_json::Value = serde_json::from_str(json[0]).unwrap();
    let claims = jwt_claims(&alice_token);
    assert_eq!(allowed["decision"], "allowed", "{allowed}");
    assert_eq!(allowed["subject"], claims["sub"], "{allowed}");
    assert_eq!(allowed["jti"], claims["jti"], "{allowed}");
    assert_eq!(allowed["amr"], serde_json::json!(["swk"]), "{allowed}");
    assert_eq!(allowed["client_id"], "tapgate", "{allowed}");
    assert_eq!(allowed["client_addr"], "127.0.0.1", "{allowed}");

    // The server logged who connected and that PAM refused the others; the decision's backend
    // pid is the `[%p]` of the server's line for the same login.
    let log = site.pg.log();
    let pid = allowed["backend_pid"].as_u64().unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains(&format!("[{pid}]")) && l.contains("connection authorized: user=app_rw")),
        "backend pid {pid} not in:\n{log}"
    );
    assert!(log.contains("connection authorized: user=app_rw"), "{log}");
    assert!(log.contains("PAM authentication failed for user \"app_ro\""), "{log}");

    site.assert_no_token_leaked(&[&alice_token, &bob_token]);
}

#[test]
fn a_token_for_another_audience_is_refused() {
    let idp = DevIdp::start(DevIdpOptions::default());
    let site = Site::new(&idp, "");
    site.pam.write_config(&verify_toml(&idp, "billing-db", ""));
    let alice = signed_in(&idp, "alice@example.com", "dba");
    let token = alice.token();

    site.assert_refused("app_rw", &token);
    site.assert_decision(
        "denied alice@example.com as app_rw: token audience postgres does not include the configured audience billing-db",
    );
    site.assert_no_token_leaked(&[&token]);
}

#[test]
fn after_the_idp_rotates_its_key_new_tokens_verify_without_restarting_postgres() {
    let idp = DevIdp::start(DevIdpOptions::default());
    let site = Site::new(&idp, "");
    let alice = signed_in(&idp, "alice@example.com", "dba");
    let old_token = alice.token();
    let started_at = site.pg.sql("select pg_postmaster_start_time()");

    // The first login fetches the JWKS and caches it.
    site.assert_logs_in("app_rw", &old_token);

    idp.rotate_key();
    alice.tapgate(&["login", "--force"]).expect_ok();
    let new_token = alice.token();
    assert_ne!(jwt_kid(&new_token), jwt_kid(&old_token));

    // Right after a fetch, an unknown kid does not make the verifier ask the IdP again: at most
    // one refetch per 30 s, so a flood of bad tokens cannot hammer the IdP.
    site.assert_refused("app_rw", &new_token);
    site.assert_decision("is not in the IdP's JWKS");
    site.assert_decision("limited to one per 30 s");

    // Once the interval has passed (the cache is made 31 s older), the unknown kid triggers one
    // refetch and the login works.
    age_jwks_cache(&site.pam.jwks_cache, 31);
    site.assert_logs_in("app_rw", &new_token);
    // The old key is still published while its tokens live.
    site.assert_logs_in("app_rw", &old_token);

    let cache = std::fs::read_to_string(&site.pam.jwks_cache).unwrap();
    assert!(cache.contains(&jwt_kid(&new_token)), "the new key is cached: {cache}");
    assert_eq!(site.pg.sql("select pg_postmaster_start_time()"), started_at, "PostgreSQL was not restarted");
    site.assert_no_token_leaked(&[&old_token, &new_token]);
}

#[test]
fn an_idp_clock_20s_ahead_is_within_the_leeway_and_2_minutes_ahead_is_refused() {
    let near = DevIdp::start(DevIdpOptions { clock_offset: Some(20), ..Default::default() });
    let far = DevIdp::start(DevIdpOptions { clock_offset: Some(120), ..Default::default() });

    // Default leeway (30 s): a token whose nbf is 20 s ahead is accepted.
    let site = Site::new(&near, "");
    let alice = signed_in(&near, "alice@example.com", "dba");
    let near_token = alice.token();
    let ahead = jwt_claims(&near_token)["nbf"].as_i64().unwrap() - unix_now();
    assert!((15..=25).contains(&ahead), "nbf is about 20 s ahead: {ahead}");
    site.assert_logs_in("app_rw", &near_token);

    // The same server, now trusting the IdP whose clock runs 2 minutes ahead: refused, and the
    // reason points at the clocks.
    site.pam.add_file("idp-ca.pem", &far.ca());
    site.pam.write_config(&verify_toml(&far, "postgres", ""));
    let carol = signed_in(&far, "carol@example.com", "dba");
    let far_token = carol.token();
    site.assert_refused("app_rw", &far_token);
    site.assert_decision("denied carol@example.com as app_rw: token not valid before");
    site.assert_decision("leeway 30 s): the IdP's clock or this server's clock is off");
    site.assert_no_token_leaked(&[&near_token, &far_token]);
}

#[test]
fn an_expired_token_is_refused() {
    // An IdP whose clock is 2 minutes behind issues 1-minute tokens that, on the server's clock,
    // ran out a minute ago: past the default 30 s leeway without waiting. The client corrects for
    // the skew, so it still sees them as fresh and sends them.
    let idp = DevIdp::start(DevIdpOptions {
        token_ttl: Some("60s"),
        clock_offset: Some(-120),
        ..Default::default()
    });
    let site = Site::new(&idp, "");
    let alice = signed_in(&idp, "alice@example.com", "dba");
    let token = alice.token();
    let overdue = unix_now() - jwt_claims(&token)["exp"].as_i64().unwrap();
    assert!(overdue > 30, "the token ran out more than the leeway ago: {overdue} s");

    site.assert_refused("app_rw", &token);
    site.assert_decision("denied alice@example.com as app_rw: token expired at");
    site.assert_no_token_leaked(&[&token]);
}

#[test]
fn pam_exec_cuts_tokens_at_511_bytes_which_is_why_tapgate_ships_its_own_module() {
    let idp = DevIdp::start(DevIdpOptions::default());
    let site = Site::with_launcher(PamLauncher::PamExec, &idp, "");
    let alice = signed_in(&idp, "alice@example.com", "dba");
    let token = alice.token();
    assert!(token.len() > 511, "an access token is longer than pam_exec passes on: {}", token.len());

    site.assert_refused("app_rw", &token);
    site.assert_decision(
        "the token is exactly 511 bytes, where pam_exec.so cuts passwords: use pam_tapgate.so",
    );
}
