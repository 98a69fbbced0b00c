//! One file per subcommand, and the set-up they share.

pub mod connect;
pub mod demo;
pub mod dsn;
pub mod exec;
pub mod history;
pub mod login;
pub mod logout;
pub mod status;
pub mod token;
pub mod whoami;

use std::path::PathBuf;

use tapgate_config::Config;
use tapgate_core::Engine;
use tapgate_store::{CacheBackend, TokenCache};

/// Loads the configuration and opens the token cache, telling the user once when there is no keyring.
pub async fn engine(config: Option<PathBuf>) -> anyhow::Result<Engine> {
    let path = tapgate_config::config_path(config)?;
    let config = Config::load(&path)?;
    let cache = TokenCache::open().await;
    if let CacheBackend::Memory { reason } = cache.backend() {
        eprintln!(
            "tapgate: no OS keyring available ({reason}); tokens are kept in memory for this command only."
        );
    }
    Ok(Engine::new(config, cache))
}
