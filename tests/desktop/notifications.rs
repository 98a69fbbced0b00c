//! Notifications as a person gets them: dunst owning `org.freedesktop.Notifications` on the
//! test display, and a capture of every `Notify` call on the session bus (and of the server's
//! reply with the notification's id) through a zbus connection turned into a bus monitor
//! (`org.freedesktop.DBus.Monitoring.BecomeMonitor`). Waits for a notification wake up as each
//! call is captured.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use zbus::MatchRule;
use zbus::blocking::{Connection, MessageIterator};
use zbus::message::{Message, Type as MessageType};
use zbus::zvariant::Value;

use super::HELPER_START;
use super::bus;
use super::display::Display;
use super::processes::Helper;
use super::wait::wait_until;

const INTERFACE: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";

/// One captured `org.freedesktop.Notifications.Notify` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub app_name: String,
    pub summary: String,
    pub body: String,
    /// Action ids and labels as sent (`["renew", "Renew"]`).
    pub actions: Vec<String>,
    /// The id the notification server gave it (from the reply to `Notify`).
    pub id: Option<u32>,
}

/// dunst on a display plus a capture of `Notify` calls; stopped on drop.
pub struct Notifications {
    // Drop order: the daemon first, the capture last (it sees everything until the end).
    daemon: Helper,
    capture: Capture,
}

impl Notifications {
    /// Starts the capture (a monitor from the moment this returns), then dunst on `display`,
    /// and waits until `org.freedesktop.Notifications` has an owner. dunst logs to `dir`.
    pub fn start(display: &Display, dir: &std::path::Path) -> Notifications {
        let capture = Capture::start();
        let mut cmd = Command::new("dunst");
        cmd.env("DISPLAY", display.name()).env_remove("WAYLAND_DISPLAY");
        let daemon = Helper::spawn_logged("dunst", &mut cmd, dir.join("dunst.log"));
        let bus = bus::connect();
        wait_until(
            "a notification daemon on the bus (dunst)",
            HELPER_START,
            || bus::name_has_owner(&bus, INTERFACE).unwrap_or(false).then_some(()),
            || daemon.log(),
        );
        Notifications { daemon, capture }
    }

    /// Every `Notify` call so far, in order.
    pub fn all(&self) -> Vec<Notification> {
        self.capture.lock().calls.clone()
    }

    /// Waits until a notification that satisfies `matches` was sent and the server answered it
    /// (so it has its id); returns it. Wakes up on each captured call, not on a timer.
    #[track_caller]
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        matches: impl Fn(&Notification) -> bool,
    ) -> Notification {
        let deadline = Instant::now() + timeout;
        let (_, changed) = &*self.capture.state;
        let mut captured = self.capture.lock();
        loop {
            if let Some(found) = captured.calls.iter().find(|n| n.id.is_some() && matches(n)) {
                return found.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || captured.ended.is_some() {
                let calls = captured.calls.clone();
                let ended =
                    captured.ended.clone().map(|e| format!("\nthe capture ended: {e}")).unwrap_or_default();
                drop(captured);
                panic!(
                    "waited {timeout:?} for a notification {what}; saw:\n{calls:#?}{ended}\ndunst log:\n{}",
                    self.daemon.log()
                );
            }
            captured = changed.wait_timeout(captured, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    pub(crate) fn processes(&self) -> Vec<u32> {
        self.daemon.family()
    }
}

/// What the monitor saw: the `Notify` calls in order, and which of them await their reply.
#[derive(Debug, Default)]
struct Captured {
    calls: Vec<Notification>,
    /// (sender, serial) of a call -> its index in `calls`, until the server's reply comes.
    awaiting_reply: HashMap<(String, u32), usize>,
    /// Why the capture stopped, if it did before the end.
    ended: Option<String>,
}

impl Captured {
    /// Takes in one monitored message: a `Notify` call, or the reply to one.
    fn record(&mut self, message: &Message) {
        let header = message.header();
        match header.message_type() {
            MessageType::MethodCall => {
                let Some(notification) = notification_of(message) else { return };
                let sender = header.sender().map(ToString::to_string).unwrap_or_default();
                self.awaiting_reply.insert((sender, header.primary().serial_num().get()), self.calls.len());
                self.calls.push(notification);
            }
            MessageType::MethodReturn => {
                let (Some(destination), Some(serial)) = (header.destination(), header.reply_serial()) else {
                    return;
                };
                if let Some(index) = self.awaiting_reply.remove(&(destination.to_string(), serial.get())) {
                    // Notify returns the notification's id (uint32).
                    self.calls[index].id = message.body().deserialize::<u32>().ok();
                }
            }
            _ => {}
        }
    }
}

/// The arguments of `Notify`, in order.
type NotifyArgs<'a> =
    (&'a str, u32, &'a str, &'a str, &'a str, Vec<&'a str>, HashMap<&'a str, Value<'a>>, i32);

/// The notification a `Notify(app_name s, replaces_id u, app_icon s, summary s, body s, actions as,
/// hints a{sv}, expire_timeout i)` call carries (Desktop Notifications specification), if it is one.
fn notification_of(message: &Message) -> Option<Notification> {
    let header = message.header();
    if header.interface().map(|i| i.as_str()) != Some(INTERFACE)
        || header.member().map(|m| m.as_str()) != Some("Notify")
    {
        return None;
    }
    let body = message.body();
    let (app_name, _replaces, _icon, summary, text, actions, _hints, _timeout) =
        body.deserialize::<NotifyArgs<'_>>().ok()?;
    Some(Notification {
        app_name: app_name.to_string(),
        summary: summary.to_string(),
        body: text.to_string(),
        actions: actions.into_iter().map(str::to_string).collect(),
        id: None,
    })
}

/// A bus connection that became a monitor of `Notify` calls and method returns, read by a
/// thread into [`Captured`].
struct Capture {
    /// What was captured, and a condition variable notified on each captured message.
    state: Arc<(Mutex<Captured>, Condvar)>,
    connection: Option<Connection>,
    reader: Option<JoinHandle<()>>,
}

impl Capture {
    /// Connects, starts reading, and turns the connection into a monitor. Once this returns,
    /// every later `Notify` call on the bus is captured.
    fn start() -> Capture {
        let connection = bus::connect();
        // The reader exists before the connection becomes a monitor, so nothing is missed.
        let messages = MessageIterator::from(&connection);
        let rules = [
            MatchRule::builder()
                .msg_type(MessageType::MethodCall)
                .interface(INTERFACE)
                .and_then(|r| r.member("Notify"))
                .and_then(|r| r.path(PATH))
                .unwrap()
                .build(),
            // The replies: one of them carries each notification's id.
            MatchRule::builder().msg_type(MessageType::MethodReturn).build(),
        ];
        let monitoring = zbus::blocking::fdo::MonitoringProxy::new(&connection)
            .unwrap_or_else(|e| panic!("no org.freedesktop.DBus.Monitoring proxy: {e}"));
        monitoring
            .become_monitor(&rules, 0)
            .unwrap_or_else(|e| panic!("the session bus refused BecomeMonitor: {e}"));
        let state: Arc<(Mutex<Captured>, Condvar)> = Arc::default();
        let reader = {
            let state = Arc::clone(&state);
            std::thread::Builder::new()
                .name("notify-capture".into())
                .spawn(move || {
                    let (captured, changed) = &*state;
                    let mut ended = "the connection closed".to_string();
                    for message in messages {
                        match message {
                            Ok(message) => {
                                captured.lock().unwrap_or_else(|p| p.into_inner()).record(&message)
                            }
                            Err(e) => {
                                ended = e.to_string();
                                break;
                            }
                        }
                        changed.notify_all();
                    }
                    captured.lock().unwrap_or_else(|p| p.into_inner()).ended = Some(ended);
                    changed.notify_all();
                })
                .unwrap()
        };
        Capture { state, connection: Some(connection), reader: Some(reader) }
    }

    fn lock(&self) -> MutexGuard<'_, Captured> {
        self.state.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        // Closing the socket ends the reader's iteration.
        if let Some(connection) = self.connection.take() {
            let _ = connection.close();
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notify_call(sender: &str, args: &NotifyArgs<'_>) -> Message {
        Message::method_call(PATH, "Notify")
            .unwrap()
            .interface(INTERFACE)
            .unwrap()
            .destination(INTERFACE)
            .unwrap()
            .sender(sender)
            .unwrap()
            .build(args)
            .unwrap()
    }

    #[test]
    fn notify_calls_and_their_ids_are_read_from_monitored_messages() {
        let hints = HashMap::from([("urgency", Value::from(1u8))]);
        let first = notify_call(
            ":1.9",
            &(
                "Tapgate",
                0,
                "dialog-password",
                "prod ready on 127.0.0.1:5432",
                "two\nlines",
                vec!["renew", "Renew"],
                hints,
                -1,
            ),
        );
        let second = notify_call(":1.9", &("notify-send", 0, "", "hello", "", vec![], HashMap::new(), -1));
        let unrelated = Message::method_call("/org/freedesktop/DBus", "ListNames")
            .unwrap()
            .interface("org.freedesktop.DBus")
            .unwrap()
            .sender(":1.9")
            .unwrap()
            .build(&())
            .unwrap();
        let reply_to_first = Message::method_return(&first.header())
            .unwrap()
            .sender(":1.3")
            .unwrap()
            .build(&(42u32,))
            .unwrap();

        let mut captured = Captured::default();
        for message in [&first, &unrelated, &second, &reply_to_first] {
            captured.record(message);
        }
        let calls = captured.calls;
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert_eq!(calls[0].app_name, "Tapgate");
        assert_eq!(calls[0].summary, "prod ready on 127.0.0.1:5432");
        assert_eq!(calls[0].body, "two\nlines");
        assert_eq!(calls[0].actions, ["renew", "Renew"]);
        assert_eq!(calls[0].id, Some(42));
        assert_eq!(calls[1].summary, "hello");
        assert_eq!(calls[1].id, None, "the second call was not answered");
    }
}
