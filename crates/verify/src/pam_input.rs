//! What PAM hands the verifier binary: the token on stdin and the role in `PAM_USER`.
//!
//! pam_exec.so and pam_tapgate.so both write the password with no trailing newline or NUL; a
//! person testing by hand with `echo` adds a newline, so one trailing line ending is tolerated.

use std::io::Read;

use crate::VerifyError;
use crate::token::MAX_TOKEN_BYTES;

/// The environment variable holding the user name PostgreSQL authenticates: the role.
pub const PAM_USER_ENV: &str = "PAM_USER";

/// How many bytes of a password pam_exec.so passes on (its buffer is PAM_MAX_RESP_SIZE, 512,
/// NUL included). A token of exactly this length was almost certainly cut.
pub const PAM_EXEC_LIMIT: usize = 511;

/// Reads the token from `input` (stdin), refusing more than [`MAX_TOKEN_BYTES`].
pub fn read_token(input: impl Read) -> Result<String, VerifyError> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_TOKEN_BYTES + 2).unwrap_or(u64::MAX);
    input
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| VerifyError::Input { reason: format!("cannot read the token from stdin: {e}") })?;
    for ending in [&b"\r\n"[..], b"\n", b"\0"] {
        if let Some(stripped) = bytes.strip_suffix(ending) {
            bytes.truncate(stripped.len());
            break;
        }
    }
    if bytes.is_empty() {
        return Err(VerifyError::Input {
            reason: "no token on stdin: the PAM line must run this program through pam_tapgate.so"
                .to_string(),
        });
    }
    if bytes.len() > MAX_TOKEN_BYTES {
        return Err(VerifyError::Malformed { reason: format!("it is longer than {MAX_TOKEN_BYTES} bytes") });
    }
    String::from_utf8(bytes)
        .map_err(|_| VerifyError::Malformed { reason: "it is not UTF-8 text".to_string() })
}

/// The role from `PAM_USER`, given the value of the variable.
pub fn role_from(value: Option<std::ffi::OsString>) -> Result<String, VerifyError> {
    let role = value.and_then(|v| v.into_string().ok()).unwrap_or_default();
    if role.trim().is_empty() {
        return Err(VerifyError::Input {
            reason: format!(
                "{PAM_USER_ENV} is not set: this program is run by PAM (see docs/server-setup.md)"
            ),
        });
    }
    Ok(role)
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_token_is_read_as_is_or_with_one_line_ending() {
        assert_eq!(read_token(&b"a.b.c"[..]).expect("plain"), "a.b.c");
        assert_eq!(read_token(&b"a.b.c\n"[..]).expect("newline"), "a.b.c");
        assert_eq!(read_token(&b"a.b.c\r\n"[..]).expect("crlf"), "a.b.c");
        assert_eq!(read_token(&b"a.b.c\0"[..]).expect("nul"), "a.b.c");
        // Only one ending is removed: what is left is refused later as not base64url.
        assert_eq!(read_token(&b"a.b.c\n\n"[..]).expect("two"), "a.b.c\n");
    }

    #[test]
    fn empty_oversized_and_binary_input_is_refused() {
        assert!(read_token(&b""[..]).expect_err("empty").to_string().contains("no token on stdin"));
        assert!(read_token(&b"\n"[..]).is_err());
        let big = vec![b'a'; MAX_TOKEN_BYTES + 10];
        assert!(read_token(&big[..]).expect_err("big").to_string().contains("longer than"));
        assert!(read_token(&[0xff, 0xfe][..]).expect_err("binary").to_string().contains("UTF-8"));
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(input in vec(any::<u8>(), 0..64)) {
            let _ = read_token(&input[..]);
        }

        #[test]
        fn a_token_comes_back_as_written_with_or_without_one_line_ending(
            token in "[A-Za-z0-9_.-]{1,64}",
            ending in prop::sample::select(vec!["", "\n", "\r\n", "\0"]),
        ) {
            let input = format!("{token}{ending}");
            prop_assert_eq!(read_token(input.as_bytes()).expect("a token"), token);
        }
    }

    #[test]
    fn the_role_comes_from_pam_user() {
        assert_eq!(role_from(Some("app_rw".into())).expect("role"), "app_rw");
        assert!(role_from(None).expect_err("unset").to_string().contains("PAM_USER is not set"));
    }
}
