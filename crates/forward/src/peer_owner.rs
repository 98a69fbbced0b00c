//! Who is on the other end of a loopback connection: the OS user owning the client's socket.
//!
//! A loopback port is open to every user and program on the machine. The forwarder presents the
//! person's token for whoever connects, so it must know that the client is one of the person's
//! own programs. On Linux the kernel's socket tables (`/proc/net/tcp` and `tcp6`, read with the
//! `procfs` crate) list each socket with its owner's uid: the client's socket is the entry whose
//! local address is our peer and whose remote address is our side of the connection.
//!
//! On the Unix-domain socket the kernel says it directly: `SO_PEERCRED` gives the connecting
//! process's uid and pid.
//!
//! Elsewhere (no procfs) a TCP client's owner is unknown, and an unknown owner is refused unless
//! the database is configured with `local_access = "any"`.

use std::net::{IpAddr, SocketAddr};

/// The client socket of the connection `ours` (our end) ⇄ `peer` (theirs), if it can be found.
pub(crate) fn client_socket(ours: SocketAddr, peer: SocketAddr) -> Option<ClientSocket> {
    let (ours, peer) = (unmapped(ours), unmapped(peer));
    let tables = [procfs::net::tcp(), procfs::net::tcp6()];
    tables
        .into_iter()
        .filter_map(Result::ok)
        .flatten()
        .find(|entry| unmapped(entry.local_address) == peer && unmapped(entry.remote_address) == ours)
        .map(|entry| ClientSocket { uid: entry.uid, holder: Holder::Inode(entry.inode) })
}

/// The client of a Unix-domain socket connection, from the kernel's `SO_PEERCRED`.
pub(crate) fn unix_client(stream: &tokio::net::UnixStream) -> Option<ClientSocket> {
    let cred = stream.peer_cred().ok()?;
    let holder = match cred.pid().and_then(|pid| u32::try_from(pid).ok()) {
        Some(pid) => Holder::Pid(pid),
        None => Holder::Unknown,
    };
    Some(ClientSocket { uid: cred.uid(), holder })
}

/// A client's socket as the kernel lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSocket {
    /// Its owner.
    pub uid: u32,
    /// How to find the process holding it.
    holder: Holder,
}

/// The key to the process holding a client socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    /// A TCP socket's inode: found by walking the processes' open files.
    Inode(u64),
    /// The process that connected to the Unix-domain socket (`SO_PEERCRED`).
    Pid(u32),
    /// Not known.
    Unknown,
}

/// The program holding a client's socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientProgram {
    /// Its name as the kernel has it (`comm`, e.g. `psql`, `java`).
    pub name: String,
    pub pid: u32,
}

impl ClientSocket {
    /// The process holding this socket: a walk over the processes' open files, so only done
    /// when a person is about to be asked something (a sign-in prompt), not per connection.
    /// Processes of other users are not readable without privileges; the forwarder only asks
    /// about its own user's.
    pub fn program(&self) -> Option<ClientProgram> {
        let target = match self.holder {
            Holder::Inode(inode) => inode,
            Holder::Pid(pid) => {
                let stat = procfs::process::Process::new(i32::try_from(pid).ok()?).ok()?.stat().ok()?;
                return Some(ClientProgram { name: stat.comm, pid });
            }
            Holder::Unknown => return None,
        };
        let processes = procfs::process::all_processes().ok()?;
        processes.filter_map(Result::ok).find_map(|process| {
            let holds =
                process.fd().ok()?.filter_map(Result::ok).any(
                    |fd| matches!(fd.target, procfs::process::FDTarget::Socket(inode) if inode == target),
                );
            if !holds {
                return None;
            }
            let stat = process.stat().ok()?;
            Some(ClientProgram { name: stat.comm, pid: u32::try_from(process.pid).ok()? })
        })
    }
}

/// The uid of whoever listens on loopback `port` (IPv4 or IPv6), if anyone does and the kernel's
/// tables say so: when a forwarder cannot take its remembered port, this tells a port held by
/// another user (whose program a saved client would then talk to) from one of the person's own.
pub fn loopback_listener_uid(port: u16) -> Option<u32> {
    let tables = [procfs::net::tcp(), procfs::net::tcp6()];
    tables
        .into_iter()
        .filter_map(Result::ok)
        .flatten()
        .find(|entry| {
            entry.state == procfs::net::TcpState::Listen
                && entry.local_address.port() == port
                && (entry.local_address.ip().is_loopback() || entry.local_address.ip().is_unspecified())
        })
        .map(|entry| entry.uid)
}

/// The uid this process runs as: the person whose token the forwarder holds.
pub fn own_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// IPv4 addresses seen through a dual-stack socket (`::ffff:127.0.0.1`) as plain IPv4, so the two
/// tables compare alike.
fn unmapped(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), addr.port()),
            None => addr,
        },
        IpAddr::V4(_) => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_connection_of_this_process_is_owned_by_this_user() -> std::io::Result<()> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let client = std::net::TcpStream::connect(listener.local_addr()?)?;
        let (server_side, peer) = listener.accept()?;
        assert_eq!(peer, client.local_addr()?);
        let socket = client_socket(server_side.local_addr()?, peer).expect("listed");
        assert_eq!(socket.uid, own_uid());
        let program = socket.program().expect("this process holds it");
        assert_eq!(program.pid, std::process::id());
        // A connection that does not exist has no owner.
        let elsewhere = SocketAddr::from(([127, 0, 0, 1], 1));
        assert_eq!(client_socket(server_side.local_addr()?, elsewhere), None);
        Ok(())
    }

    #[test]
    fn mapped_ipv4_compares_as_ipv4() {
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:5432".parse().expect("addr");
        assert_eq!(unmapped(mapped), SocketAddr::from(([127, 0, 0, 1], 5432)));
    }
}
