//! A database's loopback port (its `local_port`, or the one remembered for it) is free for its
//! forwarder, or already held by that forwarder. A port held by another user's program is the
//! dangerous case: a client saved with it would hand its connection to that program.

use std::net::{Ipv4Addr, TcpListener};

use tapgate_config::DbConfig;

use super::Check;
use crate::Engine;
use crate::status::running_processes;

/// Who holds a port that is in use.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Holder {
    /// A forwarder of this user's Tapgate, as its status file says.
    Tapgate { database: String, program: String, pid: u32 },
    /// Another program of this user.
    OwnProgram,
    /// A program of another user.
    OtherUser { uid: u32 },
    /// The kernel's tables did not say.
    Unknown,
}

pub(super) async fn port(engine: &Engine, db: &DbConfig) -> Check {
    let name = format!("db.{}.port", db.name);
    // The remembered port, chosen now if there is none yet (as `tapgate dsn` does); choosing
    // may wait on the lock of ports.json: off the runtime.
    let (book, chosen_for) = (engine.ports.clone(), db.clone());
    let port = match tokio::task::spawn_blocking(move || book.port_for(&chosen_for)).await {
        Ok(Ok(port)) => port,
        Ok(Err(error)) => {
            return Check::fail(name, error.to_string(), "check that Tapgate's data folder is writable");
        }
        Err(error) => return Check::fail(name, format!("the port choice stopped: {error}"), "run it again"),
    };
    let runtime_dir = engine.context().runtime_dir.clone();
    let holder = match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
        Ok(_free) => None,
        Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => {
            Some(holder(port, running_processes(&runtime_dir)))
        }
        Err(error) => {
            return Check::fail(
                name,
                format!("cannot listen on 127.0.0.1:{port}: {error}"),
                change_port(engine, db),
            );
        }
    };
    judge(name, engine, db, port, holder)
}

fn holder(port: u16, processes: Vec<crate::status::ProcessStatus>) -> Holder {
    let tapgate = processes.into_iter().find_map(|process| {
        let forwarder = process.forwarders.iter().find(|f| f.local_port == port)?;
        Some(Holder::Tapgate {
            database: forwarder.database.clone(),
            program: process.program.clone(),
            pid: process.pid,
        })
    });
    if let Some(tapgate) = tapgate {
        return tapgate;
    }
    match tapgate_forward::loopback_listener_uid(port) {
        Some(uid) if uid == tapgate_forward::own_uid() => Holder::OwnProgram,
        Some(uid) => Holder::OtherUser { uid },
        None => Holder::Unknown,
    }
}

fn judge(name: String, engine: &Engine, db: &DbConfig, port: u16, holder: Option<Holder>) -> Check {
    let at = format!("127.0.0.1:{port}");
    match holder {
        None => Check::pass(name, format!("{at} is free for its forwarder")),
        Some(Holder::Tapgate { database, program, pid }) if database == db.name => {
            Check::pass(name, format!("{at} is held by its own forwarder ({program}, pid {pid})"))
        }
        Some(Holder::Tapgate { database, program, pid }) => Check::fail(
            name,
            format!("{at} is held by the forwarder of {database} ({program}, pid {pid})"),
            format!("give {} or {database} another local_port", db.name),
        ),
        Some(Holder::OwnProgram) => Check::fail(
            name,
            format!("{at} is held by another program of yours, not a Tapgate forwarder"),
            format!("stop that program, or {}", change_port(engine, db)),
        ),
        Some(Holder::OtherUser { uid }) => Check::fail(
            name,
            format!(
                "{at} is held by a program of another user (uid {uid}): a client saved with this port would talk to their program"
            ),
            change_port(engine, db),
        ),
        Some(Holder::Unknown) => Check::warn(
            name,
            format!("{at} is in use, and who holds it could not be found"),
            format!("if no forwarder of yours runs for {}: {}", db.name, change_port(engine, db)),
        ),
    }
}

/// How this database gets another port: its own `local_port`, or a new remembered one.
fn change_port(engine: &Engine, db: &DbConfig) -> String {
    match db.local_port {
        Some(_) => format!("set another local_port in [db.{}]", db.name),
        None => format!(
            "remove the line of {} from {} to get a new port, or set local_port in [db.{}]",
            db.name,
            engine.context().data_dir.join("ports.json").display(),
            db.name
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{ForwarderStatus, ProcessStatus};

    #[test]
    fn a_port_held_by_a_tapgate_forwarder_is_named_with_its_process() {
        let processes = vec![ProcessStatus {
            pid: 4242,
            program: "tapgate connect".into(),
            started_at: 0,
            forwarders: vec![ForwarderStatus {
                database: "prod".into(),
                idp: "corp".into(),
                local_port: 54321,
                open_connections: 0,
            }],
        }];
        assert_eq!(
            holder(54321, processes),
            Holder::Tapgate { database: "prod".into(), program: "tapgate connect".into(), pid: 4242 }
        );
    }
}
