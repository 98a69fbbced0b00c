//! Where in a TOML file something went wrong: the line of a byte offset, and the dotted key a
//! parse or serde error is about. Shared by every Tapgate config file (this crate's and the
//! server-side `verify.toml`), so all of them name file, line and key the same way.

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

/// A TOML or serde error placed in `text`: (byte offset, dotted key, message).
///
/// The key comes from the message when serde names a field ("unknown field `isuer`", "missing
/// field `client_id`"), within the nearest table header above the error.
pub fn place_error(text: &str, error: &toml::de::Error) -> (usize, String, String) {
    let offset = error.span().map(|s| s.start).unwrap_or(0);
    let message = error.message().trim().to_string();
    let key = match (table_at(text, offset), backticked(&message)) {
        (Some(t), Some(f)) => format!("{t}.{f}"),
        (Some(t), None) => t,
        (None, Some(f)) => f,
        (None, None) => "(file)".to_string(),
    };
    (offset, key, message)
}

/// The `[a.b]` header governing byte `offset`, if any.
fn table_at(text: &str, offset: usize) -> Option<String> {
    let end = offset.min(text.len());
    // A missing-field error points at the table itself, so include the line it starts on.
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
    text[..line_end]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && !l.starts_with("[["))
        .map(|l| l.trim_start_matches('[').split(']').next().unwrap_or("").trim().to_string())
}

/// The first `name` in a serde message such as "missing field `client_id`".
fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 4), 3);
        assert_eq!(line_of("a", 99), 1);
    }

    #[test]
    fn an_unknown_field_is_placed_in_its_table() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            a: Option<i64>,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Doc {
            t: T,
        }
        let text = "[t]\nb = 1\n";
        let error = toml::from_str::<Doc>(text).expect_err("unknown field");
        let (offset, key, message) = place_error(text, &error);
        assert_eq!(line_of(text, offset), 2);
        assert_eq!(key, "t.b");
        assert!(message.contains("unknown field"), "{message}");
    }
}
