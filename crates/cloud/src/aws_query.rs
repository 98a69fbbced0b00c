//! AWS's percent-encoding for query strings and form bodies: every byte but the RFC 3986
//! unreserved characters (`A-Z a-z 0-9 - _ . ~`) as `%XX`, upper-case hex.
//!
//! This is what SigV4's canonical query string requires and what botocore writes into presigned
//! URLs (`percent_encode_sequence`), so a token built with it matches botocore's byte for byte.
//! `url`'s form encoder is close but not the same: it writes a space as `+`, keeps `*` and
//! encodes `~`.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything except the RFC 3986 unreserved characters.
const AWS_ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `value` encoded for a query string or a form body, as AWS expects.
pub(crate) fn encode(value: &str) -> String {
    utf8_percent_encode(value, AWS_ENCODE).to_string()
}

/// `name=value&...`, each part encoded.
pub(crate) fn join<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_unreserved_characters() {
        assert_eq!(encode("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(encode("a b+c/d=e@f*g"), "a%20b%2Bc%2Fd%3De%40f%2Ag");
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[test]
    fn joins_pairs_in_order() {
        assert_eq!(join([("b", "2 3"), ("a", "1")]), "b=2%203&a=1");
    }
}
