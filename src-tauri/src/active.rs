//! One loaded configuration: its engine and forwarders. Replaced whole when the settings are
//! saved or the demo starts, so nothing ever mixes two configurations.

use std::path::PathBuf;
use std::sync::Arc;

use tapgate_config::Config;
use tapgate_core::{CoreError, Engine, ForwarderSet, PromptFor};
use tapgate_store::TokenCache;

/// The engine and forwarders of the configuration in use.
pub struct Active {
    pub engine: Arc<Engine>,
    pub forwarders: ForwarderSet,
    /// A note for the UI when tokens cannot be kept in the OS keyring.
    pub keyring_warning: Option<String>,
}

impl Active {
    /// Opens the token cache and builds the engine and (idle) forwarders for `config`.
    pub async fn open(config: Config, prompt_for: PromptFor) -> Result<Active, CoreError> {
        let cache = TokenCache::open().await;
        let keyring_warning = match cache.backend() {
            tapgate_store::CacheBackend::Memory { reason } => {
                Some(format!("No OS keyring ({reason}): tokens are kept in memory until Tapgate quits."))
            }
            _ => None,
        };
        let engine = Arc::new(Engine::new(config, cache));
        let forwarders = ForwarderSet::new(engine.clone(), prompt_for, "tapgate-desktop")?;
        Ok(Active { engine, forwarders, keyring_warning })
    }

    /// The config file this came from.
    pub fn config_path(&self) -> PathBuf {
        self.engine.config().path.clone()
    }

    /// Stops every forwarder, letting open connections finish within the forwarder's grace.
    pub async fn shut_down(&self) {
        self.forwarders.shutdown().await;
    }
}
