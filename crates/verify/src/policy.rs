//! Authorization by group, not by person: a token may log in as a role when one of its `groups`
//! is listed for that role in `[roles]`.

use std::collections::BTreeMap;

use crate::error::one_line;

/// `[roles]`: PostgreSQL role -> IdP groups allowed to log in as it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePolicy {
    roles: BTreeMap<String, Vec<String>>,
}

/// The outcome for one role and one set of groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub allowed: bool,
    /// One clause for the decision line.
    pub reason: String,
}

impl RolePolicy {
    pub fn new(roles: BTreeMap<String, Vec<String>>) -> RolePolicy {
        RolePolicy { roles }
    }

    /// Whether someone in `groups` may log in as `role`. Group and role names compare exactly,
    /// byte for byte, with no trimming or whitespace folding: PostgreSQL role names and IdP group
    /// ids are both case-sensitive, and `"dba "` is another group than `dba`.
    pub fn authorize(&self, role: &str, groups: &[String]) -> Authorization {
        let Some(allowed) = self.roles.get(role) else {
            let configured: Vec<&str> = self.roles.keys().map(String::as_str).collect();
            return Authorization {
                allowed: false,
                reason: format!("{role} is not a role in [roles] (configured: {})", configured.join(", ")),
            };
        };
        if let Some(group) = groups.iter().find(|g| allowed.contains(g)) {
            return Authorization { allowed: true, reason: format!("group {group} is allowed for {role}") };
        }
        // Quoted when a name has spaces or control characters, so `"dba "` reads as what it is.
        let shown: Vec<String> = groups.iter().map(|g| show_group(g)).collect();
        let reason = if groups.is_empty() {
            format!("the token has no groups; {role} needs one of: {}", allowed.join(", "))
        } else {
            format!(
                "groups [{}] are not allowed for {role} (allowed: {})",
                shown.join(", "),
                allowed.join(", ")
            )
        };
        Authorization { allowed: false, reason }
    }
}

/// A group name for a message: bare when plain, JSON-quoted (one line) when it has whitespace
/// or control characters.
fn show_group(group: &str) -> String {
    if group.chars().any(|c| c.is_whitespace() || c.is_control()) {
        one_line(&serde_json::Value::from(group).to_string())
    } else {
        group.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RolePolicy {
        let mut roles = BTreeMap::new();
        roles.insert("app_rw".to_string(), vec!["dba".to_string(), "backend".to_string()]);
        roles.insert("app_ro".to_string(), vec!["analysts".to_string()]);
        RolePolicy::new(roles)
    }

    fn groups(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_matching_group_is_enough() {
        let a = policy().authorize("app_rw", &groups(&["dev", "backend"]));
        assert_eq!(a, Authorization { allowed: true, reason: "group backend is allowed for app_rw".into() });
    }

    #[test]
    fn other_groups_are_refused_with_what_would_do() {
        let a = policy().authorize("app_rw", &groups(&["dev"]));
        assert!(!a.allowed);
        assert_eq!(a.reason, "groups [dev] are not allowed for app_rw (allowed: dba, backend)");
        let a = policy().authorize("app_ro", &[]);
        assert_eq!(a.reason, "the token has no groups; app_ro needs one of: analysts");
    }

    #[test]
    fn a_role_outside_the_table_is_refused_for_everyone() {
        let a = policy().authorize("postgres", &groups(&["dba"]));
        assert!(!a.allowed);
        assert_eq!(a.reason, "postgres is not a role in [roles] (configured: app_ro, app_rw)");
    }

    #[test]
    fn names_compare_exactly() {
        assert!(!policy().authorize("APP_RW", &groups(&["dba"])).allowed);
        assert!(!policy().authorize("app_rw", &groups(&["DBA"])).allowed);
    }

    #[test]
    fn a_group_with_trailing_whitespace_is_another_group() {
        let a = policy().authorize("app_rw", &groups(&["dba ", " backend", "dba\t"]));
        assert!(!a.allowed);
        assert_eq!(
            a.reason,
            "groups [\"dba \", \" backend\", \"dba\\t\"] are not allowed for app_rw (allowed: dba, backend)"
        );
    }
}
