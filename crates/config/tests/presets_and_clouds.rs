//! `provider` presets of `[idp.NAME]` and the `cloud`, `user` and `server_name` keys of
//! `[db.NAME]`, through the file a person writes.

use tapgate_config::cloud::{AZURE_SCOPE, CLOUD_SQL_SCOPE};
use tapgate_config::{Cloud, Config, Flow, Provider, TokenChoice, UserClaim};

/// Loads `text` from a file in a fresh folder that also holds `ca.pem` (a PEM certificate).
fn load(text: &str) -> Result<Config, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("ca.pem"), CERTIFICATE).expect("ca");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).expect("write");
    Config::load(&path).map_err(|e| e.to_string())
}

/// The `[db.rds]` table's RDS settings.
fn aws(config: &Config) -> tapgate_config::AwsRds {
    match &config.db("rds").expect("rds").cloud {
        Cloud::Aws(rds) => rds.clone(),
        other => unreachable!("cloud = {other:?}"),
    }
}

const CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----\n";

#[test]
fn entra_needs_only_the_tenant_and_the_client() {
    let config = load("[idp.entra]\nprovider = \"entra\"\ntenant = \"72f988bf-86f1-41af-91ab-2d7cd011db47\"\nclient_id = \"c0ffee\"\n")
        .expect("valid");
    let idp = config.idp(None).expect("entra");
    assert_eq!(idp.issuer, "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0");
    assert_eq!(idp.flow, Flow::Browser);
    assert_eq!(idp.provider.provider, Provider::Entra);
    assert!(!idp.scopes.contains(&"groups".to_string()), "Entra refuses a groups scope: {:?}", idp.scopes);
    assert!(idp.scopes.contains(&"offline_access".to_string()));
}

#[test]
fn entra_without_tenant_or_issuer_says_what_to_write() {
    let error = load("[idp.entra]\nprovider = \"entra\"\nclient_id = \"c0ffee\"\n").expect_err("refused");
    assert!(error.contains("idp.entra.issuer") && error.contains("tenant = "), "{error}");
    let error =
        load("[idp.corp]\ntenant = \"contoso\"\nissuer = \"https://idp.example.com\"\nclient_id = \"c\"\n")
            .expect_err("refused");
    assert!(error.contains("tenant is for provider = \"entra\""), "{error}");
}

#[test]
fn google_fills_its_issuer_and_offline_access_and_requires_the_installed_app_secret() {
    let missing =
        load("[idp.google]\nprovider = \"google\"\nclient_id = \"1234.apps.googleusercontent.com\"\n")
            .expect_err("refused");
    assert!(missing.contains("client_secret") && missing.contains("not secret"), "{missing}");

    let config = load(
        "[idp.google]\nprovider = \"google\"\nclient_id = \"1234.apps.googleusercontent.com\"\nclient_secret = \"GOCSPX-x\"\n",
    )
    .expect("valid");
    let idp = config.idp(None).expect("google");
    assert_eq!(idp.issuer, "https://accounts.google.com");
    assert_eq!(idp.provider.client_secret.as_deref(), Some("GOCSPX-x"));
    assert_eq!(idp.token, TokenChoice::Id, "Google's access tokens are opaque: databases get the ID token");
    assert!(idp.provider.authorize_params.contains(&("access_type".into(), "offline".into())));
    assert!(!idp.scopes.contains(&"offline_access".to_string()), "Google refuses offline_access");
}

#[test]
fn okta_and_auth0_presets_bring_their_passkey_dialect() {
    let okta = load(
        "[idp.okta]\nprovider = \"okta\"\nissuer = \"https://acme.okta.com/oauth2/default\"\nclient_id = \"0oa\"\n\
         flow = \"passkey\"\nusername = \"alice@acme.com\"\n",
    )
    .expect("valid");
    assert!(matches!(okta.idp(None).expect("okta").flow, Flow::Passkey(tapgate_config::Dialect::Okta)));

    let auth0 =
        load("[idp.a0]\nprovider = \"auth0\"\nissuer = \"https://acme.auth0.com/\"\nclient_id = \"x\"\n")
            .expect_err("no audience");
    assert!(auth0.contains("audience") && auth0.contains("opaque"), "{auth0}");
}

#[test]
fn a_username_is_a_login_hint_for_presets_without_a_passkey_api() {
    let keycloak = load(
        "[idp.kc]\nprovider = \"keycloak\"\nissuer = \"https://sso.example.com/realms/acme\"\nclient_id = \"c\"\n\
         username = \"alice\"\n",
    )
    .expect("valid");
    assert_eq!(keycloak.idp(None).expect("kc").flow, Flow::Browser);
    let okta = load(
        "[idp.o]\nprovider = \"okta\"\nissuer = \"https://acme.okta.com/oauth2/default\"\nclient_id = \"c\"\n\
         username = \"alice@acme.com\"\n",
    )
    .expect("valid");
    assert!(matches!(okta.idp(None).expect("o").flow, Flow::Passkey(tapgate_config::Dialect::Okta)));
}

#[test]
fn an_entra_tenant_is_its_id_since_the_issuer_names_the_id() {
    let error =
        load("[idp.e]\nprovider = \"entra\"\ntenant = \"contoso.onmicrosoft.com\"\nclient_id = \"c\"\n")
            .expect_err("refused");
    assert!(error.contains("Directory (tenant) ID"), "{error}");
}

#[test]
fn an_unknown_provider_lists_the_known_ones() {
    let error =
        load("[idp.x]\nprovider = \"azuread\"\nissuer = \"https://x.example.com\"\nclient_id = \"c\"\n")
            .expect_err("refused");
    assert!(error.contains("entra, google, okta, auth0, keycloak, generic"), "{error}");
}

const ENTRA: &str = "[idp.entra]\nprovider = \"entra\"\ntenant = \"72f988bf-86f1-41af-91ab-2d7cd011db47\"\nclient_id = \"c\"\n";

#[test]
fn azure_asks_for_the_ossrdbms_scope_and_the_persons_upn() {
    let config = load(&format!(
        "{ENTRA}[db.azure]\nidp = \"entra\"\ncloud = \"azure\"\nhost = \"contoso.postgres.database.azure.com\"\n\
         dbname = \"app\"\nuser = \"{{upn}}\"\n"
    ))
    .expect("valid");
    let db = config.db("azure").expect("azure");
    assert_eq!(db.cloud, Cloud::Azure);
    let target = db.token_target.as_ref().expect("a token of its own");
    assert!(target.scopes.contains(&AZURE_SCOPE.to_string()), "{target:?}");
    assert_eq!(target.token, Some(TokenChoice::Access));
    assert_eq!(db.user_template.as_ref().map(|t| t.claim), Some(UserClaim::Upn));
    assert_eq!(db.role, "{upn}");
}

#[test]
fn a_cloud_takes_its_credential_as_the_password_only() {
    let error = load(&format!(
        "{ENTRA}[db.azure]\nidp = \"entra\"\ncloud = \"azure\"\nhost = \"h\"\ndbname = \"app\"\nuser = \"{{upn}}\"\nauth = \"oauthbearer\"\n"
    ))
    .expect_err("refused");
    assert!(error.contains("remove auth = \"oauthbearer\""), "{error}");
}

#[test]
fn cloud_sql_gets_the_access_token_strips_service_account_domains_and_needs_its_ca() {
    let google = "[idp.g]\nprovider = \"google\"\nclient_id = \"c\"\nclient_secret = \"s\"\n\
                  scopes = [\"openid\", \"email\", \"https://www.googleapis.com/auth/sqlservice.login\"]\n";
    let without_ca = load(&format!(
        "{google}[db.sql]\nidp = \"g\"\ncloud = \"gcp\"\nhost = \"10.0.0.5\"\ndbname = \"app\"\nuser = \"{{email}}\"\n"
    ))
    .expect_err("refused");
    assert!(without_ca.contains("ca_file") && without_ca.contains("serverCaCert"), "{without_ca}");

    let config = load(&format!(
        "{google}[db.sql]\nidp = \"g\"\ncloud = \"gcp\"\nhost = \"10.0.0.5\"\ndbname = \"app\"\nuser = \"{{email}}\"\n\
         ca_file = \"ca.pem\"\nserver_name = \"my-project:my-instance\"\n"
    ))
    .expect("valid");
    let db = config.db("sql").expect("sql");
    assert_eq!(db.token_target.as_ref().and_then(|t| t.token), Some(TokenChoice::Access));
    let template = db.user_template.as_ref().expect("template");
    assert_eq!(template.render(Some("ci@proj.iam.gserviceaccount.com")).as_deref(), Some("ci@proj.iam"));
    assert_eq!(db.server_name.as_deref(), Some("my-project:my-instance"));
    assert!(CLOUD_SQL_SCOPE.ends_with("sqlservice.login"));

    let without_scope = load(
        "[idp.g]\nprovider = \"google\"\nclient_id = \"c\"\nclient_secret = \"s\"\n\
         [db.sql]\nidp = \"g\"\ncloud = \"gcp\"\nhost = \"10.0.0.5\"\ndbname = \"app\"\nuser = \"{email}\"\nca_file = \"ca.pem\"\n",
    )
    .expect_err("refused");
    assert!(without_scope.contains("add it to [idp.g] scopes"), "{without_scope}");
}

#[test]
fn rds_needs_a_role_a_region_and_the_rds_ca() {
    let corp = "[idp.corp]\nissuer = \"https://idp.example.com\"\nclient_id = \"c\"\n";
    let db = "[db.rds]\nidp = \"corp\"\ncloud = \"aws\"\nhost = \"app.cluster-xyz.eu-west-1.rds.amazonaws.com\"\n\
              dbname = \"app\"\nuser = \"{email}\"\n";
    let no_role =
        load(&format!("{corp}{db}ca_file = \"ca.pem\"\naws_region = \"eu-west-1\"\n")).expect_err("refused");
    assert!(no_role.contains("aws_role_arn = \"arn:aws:iam::"), "{no_role}");
    let bad_arn = load(&format!(
        "{corp}{db}ca_file = \"ca.pem\"\naws_region = \"eu-west-1\"\naws_role_arn = \"arn:aws:s3:::bucket\"\n"
    ))
    .expect_err("refused");
    assert!(bad_arn.contains("not an IAM role ARN"), "{bad_arn}");
    let no_ca = load(&format!(
        "{corp}{db}aws_region = \"eu-west-1\"\naws_role_arn = \"arn:aws:iam::123456789012:role/tapgate-db\"\n"
    ))
    .expect_err("refused");
    assert!(no_ca.contains("global-bundle.pem"), "{no_ca}");
    let plain_sts = load(&format!(
        "{corp}{db}ca_file = \"ca.pem\"\naws_region = \"eu-west-1\"\naws_role_arn = \"arn:aws:iam::123456789012:role/tapgate-db\"\n\
         aws_sts_endpoint = \"http://127.0.0.1:5000\"\n"
    ))
    .expect_err("refused");
    assert!(plain_sts.contains("must be an https URL"), "{plain_sts}");

    let config = load(&format!(
        "{corp}{db}ca_file = \"ca.pem\"\naws_region = \"eu-west-1\"\naws_role_arn = \"arn:aws:iam::123456789012:role/tapgate-db\"\n"
    ))
    .expect("valid");
    let rds = aws(&config);
    assert_eq!(rds.sts_endpoint.as_str(), "https://sts.eu-west-1.amazonaws.com/");
    assert_eq!(rds.region, "eu-west-1");
    let china = load(&format!(
        "{corp}{db}ca_file = \"ca.pem\"\naws_region = \"cn-north-1\"\naws_role_arn = \"arn:aws-cn:iam::123456789012:role/tapgate-db\"\n"
    ))
    .expect("valid");
    let rds = aws(&china);
    assert_eq!(rds.sts_endpoint.as_str(), "https://sts.cn-north-1.amazonaws.com.cn/");
}

#[test]
fn aws_keys_without_cloud_aws_and_both_role_and_user_are_refused() {
    let corp = "[idp.corp]\nissuer = \"https://idp.example.com\"\nclient_id = \"c\"\n";
    let stray = load(&format!(
        "{corp}[db.x]\nidp = \"corp\"\nhost = \"h\"\ndbname = \"app\"\nrole = \"r\"\naws_region = \"eu-west-1\"\n"
    ))
    .expect_err("refused");
    assert!(stray.contains("need cloud = \"aws\""), "{stray}");
    let both = load(&format!(
        "{corp}[db.x]\nidp = \"corp\"\nhost = \"h\"\ndbname = \"app\"\nrole = \"r\"\nuser = \"u\"\n"
    ))
    .expect_err("refused");
    assert!(both.contains("role or user, not both"), "{both}");
    let neither = load(&format!("{corp}[db.x]\nidp = \"corp\"\nhost = \"h\"\ndbname = \"app\"\n"))
        .expect_err("refused");
    assert!(neither.contains("db.x.user") && neither.contains("{email}"), "{neither}");
    let unknown_claim = load(&format!(
        "{corp}[db.x]\nidp = \"corp\"\nhost = \"h\"\ndbname = \"app\"\nuser = \"{{groups}}\"\n"
    ))
    .expect_err("refused");
    assert!(unknown_claim.contains("not a claim"), "{unknown_claim}");
}
