//! The configuration file loads: its path, and what it holds or the loader's own message (which
//! names the line and the key).

use std::path::Path;

use tapgate_config::{Config, ConfigError};

use super::Check;

const NAME: &str = "config";

pub(super) fn loaded(config: &Config) -> Check {
    let names = |names: Vec<&String>| {
        if names.is_empty() {
            String::new()
        } else {
            format!(" ({})", names.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", "))
        }
    };
    Check::pass(
        NAME,
        format!(
            "{} loads: {} IdP{}{}, {} database{}{}",
            config.path.display(),
            config.idps.len(),
            plural(config.idps.len()),
            names(config.idps.keys().collect()),
            config.dbs.len(),
            plural(config.dbs.len()),
            names(config.dbs.keys().collect()),
        ),
    )
}

pub(super) fn failed(path: &Path, error: &ConfigError) -> Check {
    let fix = match error {
        ConfigError::NotFound { .. } => {
            "write a configuration there (docs/configuration.md), or name yours with --config PATH or TAPGATE_CONFIG"
                .to_owned()
        }
        ConfigError::Read { .. } => format!("make {} readable by you", path.display()),
        _ => format!("correct {} where the message says; nothing else is checked until it loads", path.display()),
    };
    Check::fail(NAME, error.to_string(), fix)
}

pub(super) fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    #[test]
    fn a_loaded_file_says_what_it_holds() -> Result<(), ConfigError> {
        let text = "[idp.corp]\nissuer = \"https://idp.example.com\"\nclient_id = \"tapgate\"\nusername = \"a@example.com\"\n\
                    [db.prod]\nidp = \"corp\"\nhost = \"db.example.com\"\ndbname = \"app\"\nrole = \"app\"\n";
        let config = tapgate_config::validate::parse(Path::new("/home/a/config.toml"), text)?;
        let check = loaded(&config);
        assert_eq!(check.status, Status::Pass);
        assert_eq!(check.detail, "/home/a/config.toml loads: 1 IdP (corp), 1 database (prod)");
        Ok(())
    }

    #[test]
    fn a_refused_file_fails_with_the_loaders_words() {
        let path = Path::new("/home/a/config.toml");
        let error = tapgate_config::validate::parse(path, "[idp.corp]\nisuer = \"x\"\n").expect_err("a typo");
        let check = failed(path, &error);
        assert_eq!(check.status, Status::Fail);
        assert_eq!(check.detail, error.to_string());
        assert!(check.detail.contains("config.toml:2"), "{}", check.detail);
    }
}
