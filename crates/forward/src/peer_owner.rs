//! Who is on the other end of a loopback connection: the OS user owning the client's socket.
//!
//! A loopback port is open to every user and program on the machine. The forwarder presents the
//! person's token for whoever connects, so it must know that the client is one of the person's
//! own programs. On Linux the kernel's socket tables (`/proc/net/tcp` and `tcp6`, read with the
//! `procfs` crate) list each socket with its owner's uid: the client's socket is the entry whose
//! local address is our peer and whose remote address is our side of the connection.
//!
//! Elsewhere (no procfs) the owner is unknown, and an unknown owner is refused unless the
//! database is configured with `local_access = "any"`.

use std::net::{IpAddr, SocketAddr};

/// The uid owning the client socket of the connection `ours` (our end) ⇄ `peer` (theirs), if it
/// can be found.
pub(crate) fn owner_uid(ours: SocketAddr, peer: SocketAddr) -> Option<u32> {
    let (ours, peer) = (unmapped(ours), unmapped(peer));
    let tables = [procfs::net::tcp(), procfs::net::tcp6()];
    tables
        .into_iter()
        .filter_map(Result::ok)
        .flatten()
        .find(|entry| unmapped(entry.local_address) == peer && unmapped(entry.remote_address) == ours)
        .map(|entry| entry.uid)
}

/// The uid this process runs as: the person whose token the forwarder holds.
pub(crate) fn own_uid() -> u32 {
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
        assert_eq!(owner_uid(server_side.local_addr()?, peer), Some(own_uid()));
        // A connection that does not exist has no owner.
        let elsewhere = SocketAddr::from(([127, 0, 0, 1], 1));
        assert_eq!(owner_uid(server_side.local_addr()?, elsewhere), None);
        Ok(())
    }

    #[test]
    fn mapped_ipv4_compares_as_ipv4() {
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:5432".parse().expect("addr");
        assert_eq!(unmapped(mapped), SocketAddr::from(([127, 0, 0, 1], 5432)));
    }
}
