//! User codes of the device flow (RFC 8628 §6.1): eight characters from an alphabet without
//! vowels (no words) or look-alikes (no 0/O, 1/I/L confusions survive), shown as `XXXX-XXXX`,
//! read back case-insensitively with any dashes or spaces the person typed.
//!
//! 20^8 is about 2.6e10 codes; a code lives 10 minutes, so guessing one in that time takes
//! far more requests than a dev IdP on loopback will ever see.

use rand::RngCore;

/// RFC 8628 §6.1's example alphabet: consonants only, no vowels, so no words by chance.
pub(crate) const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Characters in a user code, without the dash.
pub(crate) const LENGTH: usize = 8;

/// A fresh user code in canonical form (eight alphabet characters, no dash).
pub(crate) fn generate() -> String {
    let mut code = String::with_capacity(LENGTH);
    let mut bytes = [0u8; 32];
    while code.len() < LENGTH {
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        // Rejection sampling: 240 is the largest multiple of 20 below 256, so every letter is
        // equally likely.
        for byte in bytes.iter().filter(|b| **b < 240) {
            if code.len() == LENGTH {
                break;
            }
            code.push(char::from(ALPHABET[usize::from(*byte % 20)]));
        }
    }
    code
}

/// How a canonical code is shown: `BCDF-GHJK`.
pub(crate) fn display(code: &str) -> String {
    let (head, tail) = code.split_at(code.len().min(LENGTH / 2));
    format!("{head}-{tail}")
}

/// What the person typed, in canonical form; `None` when it cannot be a user code.
pub(crate) fn normalize(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\u{a0}'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_eight_unambiguous_consonants() {
        for _ in 0..200 {
            let code = generate();
            assert_eq!(code.len(), LENGTH);
            assert!(code.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
            assert!(!code.contains(['A', 'E', 'I', 'O', 'U', 'Y', '0', '1']), "{code}");
        }
        assert_ne!(generate(), generate());
    }

    #[test]
    fn codes_are_shown_with_a_dash_and_read_back_however_typed() {
        assert_eq!(display("BCDFGHJK"), "BCDF-GHJK");
        for typed in ["BCDF-GHJK", "bcdf-ghjk", "bcdfghjk", " BcDf GhJk ", "BCDF--GHJK"] {
            assert_eq!(normalize(typed).as_deref(), Some("BCDFGHJK"), "{typed:?}");
        }
        for typed in ["BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ0", "", "BCDF_GHJK"] {
            assert_eq!(normalize(typed), None, "{typed:?}");
        }
    }

    #[test]
    fn every_letter_of_the_alphabet_turns_up() {
        let seen: std::collections::BTreeSet<char> =
            (0..200).flat_map(|_| generate().chars().collect::<Vec<_>>()).collect();
        assert_eq!(seen.len(), ALPHABET.len());
    }
}
