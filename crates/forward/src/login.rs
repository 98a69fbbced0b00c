//! What the forwarder asks the server for on the client's behalf: the role, the database, the
//! client's other parameters, and an `application_name` that says who is signed in.

use tapgate_pgwire::{ProtocolVersion, StartupMessage};

use crate::{ForwardError, ForwarderConfig};

/// PostgreSQL's NAMEDATALEN - 1: longer `application_name`s are cut by the server.
pub(crate) const MAX_APPLICATION_NAME: usize = 63;

/// Used when the client sends no `application_name`.
const DEFAULT_APPLICATION_NAME: &str = "tapgate";

/// Protocol-extension parameters (`_pq_.*`): the upstream leg speaks plain 3.0 without them.
const PROTOCOL_OPTION_PREFIX: &str = "_pq_.";

/// The role to log in as: the client's user name when it is `role` or one of `roles`.
pub(crate) fn choose_role(config: &ForwarderConfig, user: &str) -> Result<String, ForwardError> {
    let allowed = config.allowed_roles();
    if allowed.contains(&user) {
        return Ok(user.to_owned());
    }
    if config.per_person_user {
        // Any other name means "me": the TokenSource names the person's user from their token.
        return Ok(config.role.clone());
    }
    Err(ForwardError::RoleNotAllowed {
        name: config.name.clone(),
        requested: user.to_owned(),
        allowed: allowed.into_iter().map(str::to_owned).collect(),
    })
}

/// The database to log in to: the client's, unless it sent none or only libpq's (and JDBC's,
/// asyncpg's, node-postgres') default, which is the user name; then the configured `dbname`.
pub(crate) fn choose_dbname(config: &ForwarderConfig, client: &StartupMessage) -> String {
    match client.param("database") {
        Some(database) if !database.is_empty() && database != client.user() => database.to_owned(),
        _ => config.dbname.clone(),
    }
}

/// `<client's application_name or "tapgate"> via tapgate (<identity>)`, at most 63 bytes; the
/// client's part is shortened first so `pg_stat_activity` keeps showing who it is.
pub(crate) fn application_name(client: Option<&str>, identity: &str) -> String {
    let base = client.filter(|name| !name.is_empty()).unwrap_or(DEFAULT_APPLICATION_NAME);
    let suffix = format!(" via tapgate ({identity})");
    if suffix.len() >= MAX_APPLICATION_NAME {
        return truncate(&format!("{base}{suffix}"), MAX_APPLICATION_NAME).to_owned();
    }
    format!("{}{suffix}", truncate(base, MAX_APPLICATION_NAME - suffix.len()))
}

/// The longest prefix of `text` of at most `max` bytes that ends on a char boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The StartupMessage for the server: protocol 3.0, `user` = role, `database`, then the
/// client's other parameters in their order, with `application_name` naming the identity.
pub(crate) fn upstream_startup(
    client: &StartupMessage,
    role: &str,
    dbname: &str,
    identity: &str,
) -> Result<StartupMessage, ForwardError> {
    let mut params = vec![
        ("user".to_owned(), role.to_owned()),
        ("database".to_owned(), dbname.to_owned()),
        ("application_name".to_owned(), application_name(client.param("application_name"), identity)),
    ];
    params.extend(
        client
            .params()
            .iter()
            .filter(|(name, _)| {
                !matches!(name.as_str(), "user" | "database" | "application_name")
                    && !name.starts_with(PROTOCOL_OPTION_PREFIX)
            })
            .cloned(),
    );
    StartupMessage::new(ProtocolVersion::V3_0, params).map_err(ForwardError::BadStartup)
}

/// When the client asked for more than 3.0 (a newer minor or `_pq_.` options), the
/// NegotiateProtocolVersion a 3.0 server would send: newest minor 0 and the options we drop.
pub(crate) fn negotiation(client: &StartupMessage) -> Option<Vec<&str>> {
    let options: Vec<&str> = client
        .params()
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| name.starts_with(PROTOCOL_OPTION_PREFIX))
        .collect();
    (client.version().minor > 0 || !options.is_empty()).then_some(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(params: &[(&str, &str)]) -> StartupMessage {
        StartupMessage::new(
            ProtocolVersion::V3_0,
            params.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        )
        .expect("valid")
    }

    fn config() -> ForwarderConfig {
        let mut config = ForwarderConfig::new("prod", "db.internal", 5432, "app", "app_rw");
        config.roles = vec!["app_ro".into(), "app_rw".into()];
        config
    }

    #[test]
    fn roles_are_the_default_or_one_of_the_list() {
        assert_eq!(choose_role(&config(), "app_rw").ok().as_deref(), Some("app_rw"));
        assert_eq!(choose_role(&config(), "app_ro").ok().as_deref(), Some("app_ro"));
        let refused = choose_role(&config(), "postgres").err().map(|e| e.to_string());
        assert_eq!(
            refused.as_deref(),
            Some("role \"postgres\" is not allowed through Tapgate for prod; allowed roles: app_rw, app_ro")
        );
    }

    #[test]
    fn database_defaults_when_absent_or_libpq_default() {
        let config = config();
        assert_eq!(choose_dbname(&config, &client(&[("user", "app_rw")])), "app");
        assert_eq!(choose_dbname(&config, &client(&[("user", "app_rw"), ("database", "app_rw")])), "app");
        assert_eq!(choose_dbname(&config, &client(&[("user", "app_rw"), ("database", "other")])), "other");
    }

    #[test]
    fn application_name_names_the_identity_within_63_bytes() {
        assert_eq!(
            application_name(Some("psql"), "alice@example.com"),
            "psql via tapgate (alice@example.com)"
        );
        assert_eq!(application_name(None, "alice@example.com"), "tapgate via tapgate (alice@example.com)");
        assert_eq!(application_name(Some(""), "a"), "tapgate via tapgate (a)");

        let long = application_name(Some(&"DBeaver 25.1 - Main ".repeat(4)), "alice@example.com");
        assert_eq!(long.len(), MAX_APPLICATION_NAME);
        assert!(long.ends_with(" via tapgate (alice@example.com)"), "{long}");

        // Multi-byte characters are never split.
        let accents = application_name(Some(&"é".repeat(40)), "alice@example.com");
        assert!(accents.len() <= MAX_APPLICATION_NAME);
        assert!(accents.ends_with("(alice@example.com)"));

        let huge_identity = application_name(Some("psql"), &"ü".repeat(40));
        assert!(huge_identity.len() <= MAX_APPLICATION_NAME);
        assert!(huge_identity.starts_with("psql via tapgate (üü"));
    }

    #[test]
    fn upstream_startup_rewrites_and_keeps_the_rest_in_order() {
        let from_client = client(&[
            ("user", "app_ro"),
            ("database", "reports"),
            ("options", "-c statement_timeout=5s"),
            ("application_name", "psql"),
            ("_pq_.compression", "on"),
            ("client_encoding", "UTF8"),
        ]);
        let upstream =
            upstream_startup(&from_client, "app_ro", "reports", "alice@example.com").expect("valid");
        assert_eq!(upstream.version(), ProtocolVersion::V3_0);
        let params: Vec<(&str, &str)> =
            upstream.params().iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        assert_eq!(
            params,
            [
                ("user", "app_ro"),
                ("database", "reports"),
                ("application_name", "psql via tapgate (alice@example.com)"),
                ("options", "-c statement_timeout=5s"),
                ("client_encoding", "UTF8"),
            ]
        );
        assert_eq!(negotiation(&from_client), Some(vec!["_pq_.compression"]));
        assert_eq!(negotiation(&client(&[("user", "a")])), None);
    }
}
