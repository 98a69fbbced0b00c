//! One file per subcommand, and the set-up they share.

pub mod completions;
pub mod connect;
pub mod demo;
pub mod doctor;
pub mod dsn;
pub mod exec;
pub mod history;
pub mod login;
pub mod logout;
pub mod man;
pub mod status;
pub mod token;
pub mod whoami;

use std::path::PathBuf;

use tapgate_config::{Config, ConfigError};
use tapgate_core::{Context, Engine};

/// Where this person's Tapgate files go: the data folder (`TAPGATE_DATA_DIR` or the XDG one)
/// and the runtime folder. The engine is told, never looks itself.
pub fn context() -> anyhow::Result<Context> {
    let mut context = Context::new(tapgate_config::data_dir()?, tapgate_config::runtime_dir()?)
        .with_browser(crate::browser::opener());
    if let Some(pgpass) = tapgate_config::pgpass_path() {
        context = context.with_pgpass(pgpass);
    }
    Ok(with_test_clock(context))
}

/// Test builds only: the clock shifted by the seconds in `TAPGATE_TEST_CLOCK_FILE`, which the
/// end-to-end tests share with the dev IdP's `--clock-file` to let time pass without waiting.
#[cfg(feature = "test-clock")]
fn with_test_clock(context: Context) -> Context {
    match std::env::var_os("TAPGATE_TEST_CLOCK_FILE") {
        Some(file) => context.with_clock(std::sync::Arc::new(tapgate_core::ShiftFileClock::new(file))),
        None => context,
    }
}

#[cfg(not(feature = "test-clock"))]
fn with_test_clock(context: Context) -> Context {
    context
}

/// Loads the configuration and opens the engine, telling the user once when there is no keyring.
pub async fn engine(config: Option<PathBuf>) -> anyhow::Result<Engine> {
    let path = tapgate_config::config_path(config)?;
    let engine = Engine::open(Config::load(&path)?, context()?).await;
    if let Some(warning) = engine.keyring_warning() {
        eprintln!("tapgate: {warning}");
    }
    Ok(engine)
}

/// An engine for commands that never touch tokens (`dsn`, `history`): the keyring is not even
/// asked. Without a config file it still opens (history needs none), with no IdPs or databases.
pub async fn local_engine(config: Option<PathBuf>) -> anyhow::Result<Engine> {
    let path = tapgate_config::config_path(config)?;
    let config = match Config::load(&path) {
        Ok(config) => config,
        Err(ConfigError::NotFound { .. }) => {
            Config { path, idps: Default::default(), dbs: Default::default() }
        }
        Err(e) => return Err(e.into()),
    };
    let context = context()?.with_memory_keyring("this command keeps no tokens");
    Ok(Engine::open(config, context).await)
}
