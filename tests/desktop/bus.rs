//! The session bus, through zbus's blocking API: connecting to the bus `scripts/with-keyring.sh`
//! provides, and the few questions the harness asks the bus daemon and the app (who owns a
//! name, which names a process owns, an object's children and properties).
#![allow(clippy::panic)]

use std::time::Duration;

use zbus::blocking::Connection;
use zbus::blocking::fdo::DBusProxy;
use zbus::names::BusName;
use zbus::zvariant::OwnedValue;

/// The session bus address, or a panic saying how to get one.
pub fn session_bus() -> String {
    std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap_or_else(|_| {
        panic!(
            "no session bus (DBUS_SESSION_BUS_ADDRESS): run the desktop tests under scripts/with-keyring.sh"
        )
    })
}

/// How long a method call may wait for its reply. Some connections never answer (a library's
/// private connection with nothing exported), and the harness asks every connection of a process.
pub const METHOD_TIMEOUT: Duration = Duration::from_secs(10);

/// A new connection to the session bus, or a panic saying why there is none.
pub fn connect() -> Connection {
    let address = session_bus();
    zbus::blocking::connection::Builder::address(address.as_str())
        .and_then(|builder| builder.method_timeout(METHOD_TIMEOUT).build())
        .unwrap_or_else(|e| panic!("cannot connect to the session bus {address}: {e}"))
}

fn bus_name(name: &str) -> Result<BusName<'_>, String> {
    BusName::try_from(name).map_err(|e| format!("{name:?} is not a bus name: {e}"))
}

fn daemon(conn: &Connection) -> Result<DBusProxy<'_>, String> {
    DBusProxy::new(conn).map_err(|e| format!("org.freedesktop.DBus: {e}"))
}

/// Whether `name` has an owner on the bus now (`NameHasOwner`).
pub fn name_has_owner(conn: &Connection, name: &str) -> Result<bool, String> {
    daemon(conn)?.name_has_owner(bus_name(name)?).map_err(|e| format!("NameHasOwner({name}): {e}"))
}

/// Every name on the bus owned by the process `pid`, unique names (`:1.42`) included
/// (`ListNames`, then `GetConnectionUnixProcessID` for each).
pub fn names_of_process(conn: &Connection, pid: u32) -> Result<Vec<String>, String> {
    let daemon = daemon(conn)?;
    let names = daemon.list_names().map_err(|e| format!("ListNames: {e}"))?;
    Ok(names
        .into_iter()
        .filter(|name| daemon.get_connection_unix_process_id(name.inner().clone()).ok() == Some(pid))
        .map(|name| name.to_string())
        .collect())
}

/// The child nodes of `path` on `dest` (`Introspect`; `<node name="…"/>` elements of the XML).
pub fn child_nodes(conn: &Connection, dest: &str, path: &str) -> Vec<String> {
    let reply =
        conn.call_method(Some(dest), path, Some("org.freedesktop.DBus.Introspectable"), "Introspect", &());
    let Ok(xml) = reply.and_then(|r| r.body().deserialize::<String>()) else { return Vec::new() };
    child_nodes_of(&xml)
}

/// The direct child `<node name="…">` elements of an introspection document (D-Bus
/// specification, "Introspection Data Format": the root node is the only one without a name).
fn child_nodes_of(xml: &str) -> Vec<String> {
    xml.split("<node name=\"").skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_string).collect()
}

/// The value of property `iface.name` of `dest` at `path` (`org.freedesktop.DBus.Properties.Get`).
pub fn property(
    conn: &Connection,
    dest: &str,
    path: &str,
    iface: &str,
    name: &str,
) -> Result<OwnedValue, String> {
    let reply = conn
        .call_method(Some(dest), path, Some("org.freedesktop.DBus.Properties"), "Get", &(iface, name))
        .map_err(|e| format!("Get {iface}.{name}: {e}"))?;
    reply.body().deserialize::<OwnedValue>().map_err(|e| format!("Get {iface}.{name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_nodes_are_read_from_introspection_xml() {
        let xml = r#"<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
  <interface name="org.freedesktop.DBus.Introspectable"><method name="Introspect"><arg type="s" direction="out"/></method></interface>
  <node name="tapgate_1"/>
  <node name="Menu"/>
</node>"#;
        assert_eq!(child_nodes_of(xml), ["tapgate_1", "Menu"]);
    }
}
