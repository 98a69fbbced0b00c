//! Connection strings for the loopback forwarder, in the formats clients want.
//!
//! Where the forwarder has a Unix-domain socket, the libpq-style formats (URI, keyword, psql)
//! name it first: only the person can reach it. libpq, psycopg, asyncpg, pgx and node-postgres
//! all read `host=/folder` as "the socket `.s.PGSQL.PORT` in that folder". JDBC names the TCP
//! port: the PostgreSQL JDBC driver reaches a socket only through junixsocket's socket
//! factory (docs/security.md shows how).
//!
//! The TCP loopback leg is plaintext by design (the forwarder does TLS upstream), so TCP forms
//! say `sslmode=disable`: clients then skip a pointless SSLRequest round trip. No password:
//! the forwarder authenticates upstream.

use std::path::Path;

pub use tapgate_forward::socket_path;

/// Formats of [`connection_string`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsnFormat {
    /// `postgresql://role@127.0.0.1:54321/app?sslmode=disable`
    Uri,
    /// `host=127.0.0.1 port=54321 dbname=app user=role sslmode=disable`
    Keyword,
    /// `jdbc:postgresql://127.0.0.1:54321/app?user=role&sslmode=disable`
    Jdbc,
    /// `psql "host=... "`
    Psql,
}

impl DsnFormat {
    pub fn parse(text: &str) -> Option<DsnFormat> {
        match text {
            "uri" => Some(DsnFormat::Uri),
            "keyword" => Some(DsnFormat::Keyword),
            "jdbc" => Some(DsnFormat::Jdbc),
            "psql" => Some(DsnFormat::Psql),
            _ => None,
        }
    }
}

/// Where a forwarder listens.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    /// The TCP port on 127.0.0.1 (and the number in the socket's name).
    pub port: u16,
    /// The socket's folder, when there is a socket and the client should use it.
    pub socket_dir: Option<&'a Path>,
}

impl Endpoint<'_> {
    /// TCP only.
    pub fn tcp(port: u16) -> Endpoint<'static> {
        Endpoint { port, socket_dir: None }
    }
}

/// The connection string for a forwarder at `endpoint` for `dbname` as `role`.
pub fn connection_string(format: DsnFormat, endpoint: Endpoint<'_>, dbname: &str, role: &str) -> String {
    let port = endpoint.port;
    let keyword = match endpoint.socket_dir {
        Some(folder) => format!(
            "host={} port={port} dbname={} user={}",
            keyword_value(&folder.to_string_lossy()),
            keyword_value(dbname),
            keyword_value(role)
        ),
        None => format!(
            "host=127.0.0.1 port={port} dbname={} user={} sslmode=disable",
            keyword_value(dbname),
            keyword_value(role)
        ),
    };
    match format {
        DsnFormat::Uri => match endpoint.socket_dir {
            // The socket folder as a query parameter: the form libpq documents and other
            // drivers read alike.
            Some(folder) => format!(
                "postgresql://{}@/{}?host={}&port={port}",
                percent(role),
                percent(dbname),
                percent_path(&folder.to_string_lossy())
            ),
            None => {
                format!("postgresql://{}@127.0.0.1:{port}/{}?sslmode=disable", percent(role), percent(dbname))
            }
        },
        DsnFormat::Keyword => keyword,
        // assumeMinServerVersion=9.0: pgjdbc then sends its application_name at login, where the
        // forwarder adds the person's identity, instead of setting it after login over ours.
        DsnFormat::Jdbc => format!(
            "jdbc:postgresql://127.0.0.1:{port}/{}?user={}&sslmode=disable&assumeMinServerVersion=9.0",
            percent(dbname),
            percent(role)
        ),
        DsnFormat::Psql => format!("psql \"{}\"", keyword.replace('"', "\\\"")),
    }
}

/// libpq keyword values: quoted when they contain spaces or quotes.
fn keyword_value(value: &str) -> String {
    if !value.is_empty() && value.chars().all(|c| !c.is_whitespace() && c != '\'' && c != '\\') {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

/// A folder path in a URI query: `/` kept (readable, and valid in a query), the rest as
/// [`percent`].
fn percent_path(path: &str) -> String {
    path.split('/').map(percent).collect::<Vec<_>>().join("/")
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
fn percent(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format() {
        assert_eq!(
            connection_string(DsnFormat::Uri, Endpoint::tcp(54321), "app", "app_rw"),
            "postgresql://app_rw@127.0.0.1:54321/app?sslmode=disable"
        );
        assert_eq!(
            connection_string(DsnFormat::Keyword, Endpoint::tcp(54321), "app", "app_rw"),
            "host=127.0.0.1 port=54321 dbname=app user=app_rw sslmode=disable"
        );
        assert_eq!(
            connection_string(DsnFormat::Jdbc, Endpoint::tcp(54321), "app", "app_rw"),
            "jdbc:postgresql://127.0.0.1:54321/app?user=app_rw&sslmode=disable&assumeMinServerVersion=9.0"
        );
        assert_eq!(
            connection_string(DsnFormat::Psql, Endpoint::tcp(54321), "app", "app_rw"),
            "psql \"host=127.0.0.1 port=54321 dbname=app user=app_rw sslmode=disable\""
        );
    }

    #[test]
    fn the_socket_comes_first_where_the_format_can_name_it() {
        let socket = Endpoint { port: 54321, socket_dir: Some(Path::new("/run/user/1000/tapgate")) };
        assert_eq!(
            connection_string(DsnFormat::Uri, socket, "app", "app_rw"),
            "postgresql://app_rw@/app?host=/run/user/1000/tapgate&port=54321"
        );
        assert_eq!(
            connection_string(DsnFormat::Keyword, socket, "app", "app_rw"),
            "host=/run/user/1000/tapgate port=54321 dbname=app user=app_rw"
        );
        assert_eq!(
            connection_string(DsnFormat::Psql, socket, "app", "app_rw"),
            "psql \"host=/run/user/1000/tapgate port=54321 dbname=app user=app_rw\""
        );
        // JDBC reaches sockets only through an extra library: TCP.
        assert_eq!(
            connection_string(DsnFormat::Jdbc, socket, "app", "app_rw"),
            "jdbc:postgresql://127.0.0.1:54321/app?user=app_rw&sslmode=disable&assumeMinServerVersion=9.0"
        );
        let odd = Endpoint { port: 1, socket_dir: Some(Path::new("/home/a b/run")) };
        assert!(connection_string(DsnFormat::Uri, odd, "app", "r").contains("host=/home/a%20b/run&"));
        assert!(connection_string(DsnFormat::Keyword, odd, "app", "r").starts_with("host='/home/a b/run' "));
    }

    #[test]
    fn odd_names_are_escaped() {
        assert_eq!(
            connection_string(DsnFormat::Uri, Endpoint::tcp(1), "my db", "a@b"),
            "postgresql://a%40b@127.0.0.1:1/my%20db?sslmode=disable"
        );
        assert!(
            connection_string(DsnFormat::Keyword, Endpoint::tcp(1), "my db", "r").contains("dbname='my db'")
        );
    }
}
