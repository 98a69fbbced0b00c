//! Keeps the window, the tray and notifications in step with the engine, without polling:
//! - [`follow_engine`] turns each [`CoreEvent`] into state changes, UI events and notifications;
//! - [`run_tray_clock`] redraws the tray when something changed, and otherwise only as often as
//!   its countdown text needs (every 30 s; every second in a token's last minute), raising the
//!   "expires in 5 minutes" and "token expired" notifications on the way.

use std::collections::HashMap;
use std::sync::Arc;

use tapgate_core::{CoreEvent, Engine, SignInPolicy, next_event};
use tapgate_desktop_model::countdown::{EXPIRING_SOON_SECS, next_redraw, seconds_left};
use tapgate_desktop_model::tray as tray_model;
use tapgate_desktop_model::{NoticeLevel, Overview, UiEvent};

use crate::shell::{Shell, now_ms};
use crate::tray::Tray;

/// Follows `engine`'s events until it is replaced (its channel closes).
pub fn follow_engine(shell: Arc<Shell>, engine: Arc<Engine>) {
    let mut events = engine.subscribe();
    drop(engine);
    tauri::async_runtime::spawn(async move {
        while let Some(event) = next_event(&mut events).await {
            handle(&shell, event).await;
        }
    });
}

async fn handle(shell: &Arc<Shell>, event: CoreEvent) {
    match event {
        CoreEvent::SignedIn { .. } | CoreEvent::Refreshed { .. } | CoreEvent::SignedOut { .. } => {
            shell.publish_full().await;
            shell.emit(UiEvent::HistoryChanged);
        }
        CoreEvent::SignInFailed { idp, error } => {
            shell.notifier.send(format!("Sign-in to {idp} failed"), Some(error.clone()));
            shell.sign_in_failed(&idp, error);
            shell.publish_full().await;
            shell.emit(UiEvent::HistoryChanged);
        }
        CoreEvent::RefreshRejected { .. } => {}
        CoreEvent::RevocationFailed { idp, reason } => {
            shell
                .notifier
                .send(format!("Signed out of {idp}, but the IdP did not revoke the session"), Some(reason));
        }
        CoreEvent::WaitingForOtherSignIn { idp } => {
            shell.notice(
                NoticeLevel::Info,
                format!("Another Tapgate program is signing in to {idp}; this waits for it to finish."),
            );
        }
        CoreEvent::ConnectionOpened { .. } => {
            shell.publish().await;
        }
        CoreEvent::ConnectionClosed { database, outcome, error, .. } => {
            if let Some(error) = error.filter(|_| outcome != tapgate_core::ConnectionOutcome::Ok) {
                shell.notifier.send(format!("{database}: connection {outcome}"), Some(error.clone()));
                shell.connection_failed(&database, error);
            }
            shell.publish().await;
            shell.emit(UiEvent::HistoryChanged);
        }
        CoreEvent::ClockSkew { idp, seconds } => {
            shell.notice(
                NoticeLevel::Info,
                format!(
                    "{idp}'s clock differs from this machine's by {seconds} s; countdowns use the IdP's time."
                ),
            );
        }
        CoreEvent::CacheWriteFailed { idp, reason } => {
            shell.notice(
                NoticeLevel::Error,
                format!("Could not keep the {idp} tokens in the keyring ({reason}); they last until Tapgate quits."),
            );
        }
    }
}

/// Per IdP: the expiry already warned about and the expiry already reported as passed.
#[derive(Default)]
struct Reminders {
    warned: HashMap<String, i64>,
    expired: HashMap<String, i64>,
}

/// Redraws the tray for the life of the app.
pub async fn run_tray_clock(shell: Arc<Shell>, tray: Arc<Tray>) {
    let mut reminders = Reminders::default();
    loop {
        let now = now_ms();
        let overview = shell.last_overview();
        if let Some(overview) = &overview {
            let prompt_open = shell.prompts.current().is_some();
            tray.draw(
                &shell.app,
                &tray_model::menu(overview, now),
                tray_model::icon_state(overview, prompt_open, now),
            );
            remind(&shell, overview, now, &mut reminders).await;
        }
        let expiries: Vec<i64> = overview
            .iter()
            .flat_map(|o| o.idps.iter())
            .filter(|i| i.signed_in)
            .filter_map(|i| i.expires_at_ms)
            .collect();
        let wait = next_redraw(expiries, now);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shell.changed.notified() => {}
        }
    }
}

/// The "expires in 5 minutes" warning (with Renew) and the "token expired" notice, once each
/// per token, for IdPs whose databases are connected.
async fn remind(shell: &Arc<Shell>, overview: &Overview, now: i64, reminders: &mut Reminders) {
    for idp in &overview.idps {
        let Some(expires_at) = idp.expires_at_ms else { continue };
        let listening: Vec<&str> = overview
            .databases
            .iter()
            .filter(|d| d.idp == idp.name && d.listening)
            .map(|d| d.name.as_str())
            .collect();
        let left = seconds_left(expires_at, now);
        if left <= 0 {
            if reminders.expired.get(&idp.name) != Some(&expires_at) {
                reminders.expired.insert(idp.name.clone(), expires_at);
                shell.notifier.send(format!("Signed out of {}: token expired", idp.name), None);
                // The overview still says signed in: publish the change.
                shell.publish_full().await;
            }
            continue;
        }
        if left <= EXPIRING_SOON_SECS
            && !listening.is_empty()
            && reminders.warned.get(&idp.name) != Some(&expires_at)
        {
            reminders.warned.insert(idp.name.clone(), expires_at);
            let minutes = (left + 59) / 60;
            let summary = format!(
                "{}: token expires in {minutes} minute{}",
                listening.join(", "),
                if minutes == 1 { "" } else { "s" }
            );
            let (renew_shell, idp_name) = (shell.clone(), idp.name.clone());
            shell.notifier.send_with_renew(summary, None, move || {
                tauri::async_runtime::spawn(async move {
                    tracing::info!(idp = %idp_name, "renewing from the notification");
                    if let Err(e) = renew_shell.sign_in(&idp_name, SignInPolicy::Renew).await {
                        renew_shell.notifier.send(format!("Renewing {idp_name} failed"), Some(e.message));
                    }
                });
            });
        }
    }
}
