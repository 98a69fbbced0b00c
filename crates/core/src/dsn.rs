//! Connection strings for the loopback forwarder, in the formats clients want.
//!
//! The loopback leg is plaintext by design (the forwarder does TLS upstream), so every format
//! says `sslmode=disable`: clients then skip a pointless SSLRequest round trip. No password:
//! the forwarder authenticates upstream.

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

/// The connection string for a forwarder on `port` for `dbname` as `role`.
pub fn connection_string(format: DsnFormat, port: u16, dbname: &str, role: &str) -> String {
    let keyword = format!(
        "host=127.0.0.1 port={port} dbname={} user={} sslmode=disable",
        keyword_value(dbname),
        keyword_value(role)
    );
    match format {
        DsnFormat::Uri => {
            format!("postgresql://{}@127.0.0.1:{port}/{}?sslmode=disable", percent(role), percent(dbname))
        }
        DsnFormat::Keyword => keyword,
        DsnFormat::Jdbc => format!(
            "jdbc:postgresql://127.0.0.1:{port}/{}?user={}&sslmode=disable",
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
            connection_string(DsnFormat::Uri, 54321, "app", "app_rw"),
            "postgresql://app_rw@127.0.0.1:54321/app?sslmode=disable"
        );
        assert_eq!(
            connection_string(DsnFormat::Keyword, 54321, "app", "app_rw"),
            "host=127.0.0.1 port=54321 dbname=app user=app_rw sslmode=disable"
        );
        assert_eq!(
            connection_string(DsnFormat::Jdbc, 54321, "app", "app_rw"),
            "jdbc:postgresql://127.0.0.1:54321/app?user=app_rw&sslmode=disable"
        );
        assert_eq!(
            connection_string(DsnFormat::Psql, 54321, "app", "app_rw"),
            "psql \"host=127.0.0.1 port=54321 dbname=app user=app_rw sslmode=disable\""
        );
    }

    #[test]
    fn odd_names_are_escaped() {
        assert_eq!(
            connection_string(DsnFormat::Uri, 1, "my db", "a@b"),
            "postgresql://a%40b@127.0.0.1:1/my%20db?sslmode=disable"
        );
        assert!(connection_string(DsnFormat::Keyword, 1, "my db", "r").contains("dbname='my db'"));
    }
}
