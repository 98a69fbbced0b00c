//! PKCE (RFC 7636) with S256 only: the syntax of challenges and verifiers, and the check at
//! the token endpoint.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Checks a `code_challenge` sent to `/authorize`: RFC 7636 4.2 S256 output, 32 bytes in
/// base64url without padding (43 characters).
pub(crate) fn check_challenge(challenge: &str) -> Result<(), String> {
    match URL_SAFE_NO_PAD.decode(challenge) {
        Ok(bytes) if bytes.len() == 32 && challenge.len() == 43 => Ok(()),
        _ => Err("code_challenge must be the base64url SHA-256 of the verifier (43 characters)".to_owned()),
    }
}

/// RFC 7636 4.6: `BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge`, after checking
/// the verifier's syntax (4.1: 43 to 128 unreserved characters).
pub(crate) fn verify(verifier: &str, challenge: &str) -> Result<(), String> {
    let unreserved = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~');
    if !(43..=128).contains(&verifier.len()) || !verifier.chars().all(unreserved) {
        return Err("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~".to_owned());
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if constant_time_eq(computed.as_bytes(), challenge.as_bytes()) {
        Ok(())
    } else {
        Err("code_verifier does not match the code_challenge".to_owned())
    }
}

/// Compares without an early exit, so the time taken says nothing about where two secrets
/// differ. The lengths are not secret (a challenge is always 43 characters).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_example_verifies() {
        assert!(check_challenge(CHALLENGE).is_ok());
        assert!(verify(VERIFIER, CHALLENGE).is_ok());
    }

    #[test]
    fn another_verifier_is_refused() {
        let other = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(verify(other, CHALLENGE), Err("code_verifier does not match the code_challenge".into()));
    }

    #[test]
    fn the_plain_method_does_not_verify() {
        // A client sending the verifier itself as the challenge ("plain") cannot pass S256.
        assert!(check_challenge(VERIFIER).is_ok()); // 43 characters of base64url: syntax alone cannot tell
        assert!(verify(VERIFIER, VERIFIER).is_err());
    }

    #[test]
    fn malformed_values_are_refused() {
        assert!(check_challenge("short").is_err());
        assert!(check_challenge(&"A".repeat(44)).is_err());
        assert!(verify("too-short", CHALLENGE).is_err());
        assert!(verify(&"a".repeat(129), CHALLENGE).is_err());
        assert!(verify(&format!("{}+", &VERIFIER[..43]), CHALLENGE).is_err());
    }

    #[test]
    fn equality_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
