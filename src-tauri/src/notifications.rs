//! Desktop notifications through notify-rust (the freedesktop Notifications service on Linux).
//!
//! A machine without a notification service is normal (servers, minimal desktops): the first
//! failure is logged once at debug level and nothing else changes. Notifications are sent from
//! their own tasks so a slow service never delays the engine or the UI.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use notify_rust::{Notification, NotificationResponse, Timeout};

/// The app's notifications.
#[derive(Debug, Default)]
pub struct Notifier {
    /// Set after the first failure was logged, so a missing service is reported once.
    failure_logged: AtomicBool,
}

/// The action id of "Renew" on the expiry warning.
const RENEW: &str = "renew";

impl Notifier {
    /// Shows `summary` (the sentence that matters) with an optional `body`.
    pub fn send(self: &Arc<Self>, summary: String, body: Option<String>) {
        let notifier = self.clone();
        tauri::async_runtime::spawn(async move {
            if let Err(e) = notification(&summary, body.as_deref()).show_async().await {
                notifier.log_failure(&e);
            }
        });
    }

    /// Shows `summary` with a "Renew" action; `on_renew` runs when the person clicks it.
    /// Servers without actions show the text alone.
    pub fn send_with_renew(
        self: &Arc<Self>,
        summary: String,
        body: Option<String>,
        on_renew: impl FnOnce() + Send + 'static,
    ) {
        let notifier = self.clone();
        tauri::async_runtime::spawn(async move {
            let shown = notification(&summary, body.as_deref())
                .action(RENEW, "Renew")
                .timeout(Timeout::Milliseconds(5 * 60 * 1000))
                .show_async()
                .await;
            match shown {
                // Waits on the bus (without blocking a thread) for a click or the close.
                Ok(handle) => {
                    handle
                        .wait_for_action_async(|response| {
                            tracing::debug!(?response, "notification answered");
                            if matches!(response, NotificationResponse::Action(action) if action == RENEW) {
                                on_renew();
                            }
                        })
                        .await;
                }
                Err(e) => notifier.log_failure(&e),
            }
        });
    }

    fn log_failure(&self, error: &notify_rust::error::Error) {
        if !self.failure_logged.swap(true, Ordering::Relaxed) {
            tracing::debug!("desktop notifications are unavailable: {error}");
        }
    }
}

fn notification(summary: &str, body: Option<&str>) -> Notification {
    let mut n = Notification::new();
    n.appname("Tapgate").summary(summary).icon("dialog-password");
    if let Some(body) = body {
        n.body(body);
    }
    n
}
