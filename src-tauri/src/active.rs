//! One loaded configuration: its engine and forwarders. Replaced whole when the settings are
//! saved or the demo starts, so nothing ever mixes two configurations.

use std::path::PathBuf;
use std::sync::Arc;

use tapgate_config::Config;
use tapgate_core::{CacheBackend, Context, Engine, ForwarderSet, PromptFor};

/// The engine and forwarders of the configuration in use.
pub struct Active {
    pub engine: Arc<Engine>,
    pub forwarders: ForwarderSet,
    /// A note for the UI when tokens cannot be kept in the OS keyring.
    pub keyring_warning: Option<String>,
}

impl Active {
    /// Opens the engine (token cache included) for `config` in `context` (the person's folders,
    /// or the demo's own) and its idle forwarders.
    pub async fn open(config: Config, context: Context, prompt_for: PromptFor) -> Active {
        let engine = Arc::new(Engine::open(config, context).await);
        let keyring_warning = match engine.keyring() {
            CacheBackend::Memory { reason } => {
                Some(format!("No OS keyring ({reason}): tokens are kept in memory until Tapgate quits."))
            }
            CacheBackend::Keyring => None,
        };
        let forwarders = ForwarderSet::new(engine.clone(), prompt_for, "tapgate-desktop");
        Active { engine, forwarders, keyring_warning }
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
