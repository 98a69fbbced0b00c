//! The checks on one token (protocols.md §6): shape, pinned algorithm, `kid`, signature, then
//! `iss`, `aud`, `exp` and `nbf` with leeway. Claims are read only from a token whose signature
//! verified.

use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::VerifyError;
use crate::error::one_line;

/// The only algorithms a token may use. `none` and the HMAC family are refused by name before any
/// key is looked at: an HMAC "signature" made with a public key as the secret is the classic
/// algorithm-confusion forgery.
pub const ALLOWED_ALGORITHMS: [Algorithm; 2] = [Algorithm::ES256, Algorithm::RS256];

/// Longer than any access token an IdP issues; more is refused before decoding anything.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// What the header says, once it passed the pinning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHeader {
    pub alg: Algorithm,
    pub kid: String,
    /// `typ`, when present (RFC 9068 access tokens say `at+jwt`).
    pub typ: Option<String>,
}

/// What the claims must say.
#[derive(Debug, Clone)]
pub struct Expectations<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub leeway: Duration,
    pub identity_claim: &'a str,
    /// Now, in Unix seconds, on the verifier's clock: `exp` and `nbf` are compared with it.
    pub now: i64,
}

/// A token whose signature and claims passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    /// The value of the identity claim (e.g. `alice@example.com`).
    pub identity: String,
    /// The `groups` claim exactly as the IdP wrote it (an absent claim is no groups). Only a
    /// claim named `groups` is read: IdPs that put groups elsewhere (Entra `roles`, Keycloak
    /// `realm_access.roles`) need a mapper that emits `groups`.
    pub groups: Vec<String>,
    /// `sub`, when present.
    pub subject: Option<String>,
    /// `exp`, unix seconds.
    pub expires_at: i64,
    /// `iat`, unix seconds, when present.
    pub issued_at: Option<i64>,
    /// The `kid` that verified it.
    pub kid: String,
    /// The header's `typ`.
    pub typ: Option<String>,
    /// `amr` (RFC 8176): how the person signed in, e.g. `["hwk"]`.
    pub amr: Vec<String>,
    /// `azp`: the client the token was issued to (OIDC Core §2).
    pub azp: Option<String>,
    /// `client_id`: the client the token was issued to (RFC 9068 §2.2).
    pub client_id: Option<String>,
    /// `jti`: the token's id, for joining logs.
    pub jti: Option<String>,
    /// `email_verified`, when present as a boolean.
    pub email_verified: Option<bool>,
    /// Every claim, for callers that map more than groups.
    pub claims: Map<String, Value>,
}

/// Reads the header: shape, size, pinned algorithm, `kid`.
pub fn read_header(token: &str) -> Result<TokenHeader, VerifyError> {
    let malformed = |reason: &str| VerifyError::Malformed { reason: reason.to_string() };
    if token.is_empty() {
        return Err(malformed("it is empty"));
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(malformed(&format!("it is longer than {MAX_TOKEN_BYTES} bytes")));
    }
    let parts: Vec<&str> = token.split('.').collect();
    match parts.len() {
        3 => {}
        5 => return Err(malformed("it is an encrypted token (JWE); ask the IdP for a signed access token")),
        _ => return Err(malformed("a JWT has three dot-separated parts")),
    }
    if parts.iter().any(|p| p.is_empty() || !p.bytes().all(is_base64url)) {
        return Err(malformed("a part is empty or not base64url"));
    }
    let header_bytes =
        URL_SAFE_NO_PAD.decode(parts[0]).map_err(|_| malformed("the header is not base64url"))?;
    let header: Map<String, Value> =
        serde_json::from_slice(&header_bytes).map_err(|_| malformed("the header is not a JSON object"))?;

    let alg_name = header.get("alg").and_then(Value::as_str).unwrap_or("(none given)");
    let alg = match alg_name {
        "ES256" => Algorithm::ES256,
        "RS256" => Algorithm::RS256,
        other => return Err(VerifyError::AlgorithmNotAllowed { alg: one_line(other) }),
    };
    // RFC 7515 §4.1.11: a header extension we do not understand must not be ignored.
    if header.contains_key("crit") {
        return Err(malformed("the header has critical extensions (crit) this verifier does not implement"));
    }
    let kid = match header.get("kid").and_then(Value::as_str) {
        Some(kid) if !kid.is_empty() => kid.to_string(),
        _ => return Err(VerifyError::NoKeyId),
    };
    let typ = header.get("typ").and_then(Value::as_str).map(one_line);
    Ok(TokenHeader { alg, kid, typ })
}

/// Verifies the signature with `key`, then the claims, and extracts the identity and groups.
pub fn check(
    token: &str,
    header: &TokenHeader,
    key: &DecodingKey,
    expect: &Expectations<'_>,
) -> Result<VerifiedToken, VerifyError> {
    let mut validation = Validation::new(header.alg);
    validation.algorithms = vec![header.alg];
    validation.set_issuer(&[expect.issuer]);
    validation.set_audience(&[expect.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    // Times are checked below on the verifier's clock; jsonwebtoken would read the system's.
    validation.validate_exp = false;
    validation.validate_nbf = false;

    let claims = match jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation) {
        Ok(data) => data.claims,
        Err(error) => return Err(explain(token, header, key, expect, error.kind())),
    };
    check_claims(claims, header, expect)
}

/// The checks [`check`] makes after the signature and jsonwebtoken's `iss`/`aud` checks passed:
/// `exp` and `nbf` on the verifier's clock, the identity claim, groups.
///
/// Public only for the `token_claims` fuzz target (`fuzz/src/lib.rs`), so that most of its
/// inputs reach these checks without an ECDSA signature and verification each (which cost it
/// 50 times the executions); callers use [`check`].
#[doc(hidden)]
pub fn check_claims(
    claims: Map<String, Value>,
    header: &TokenHeader,
    expect: &Expectations<'_>,
) -> Result<VerifiedToken, VerifyError> {
    check_times(&claims, expect)?;

    let identity = identity_of(&claims, expect.identity_claim).ok_or_else(|| VerifyError::MissingClaim {
        identity: None,
        claim: expect.identity_claim.to_string(),
    })?;
    let expires_at = claims.get("exp").and_then(Value::as_i64).unwrap_or_default();
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(one_line);
    Ok(VerifiedToken {
        identity,
        groups: groups_of(&claims),
        subject: text("sub"),
        expires_at,
        issued_at: claims.get("iat").and_then(Value::as_i64),
        kid: header.kid.clone(),
        typ: header.typ.clone(),
        amr: strings_of(&claims, "amr"),
        azp: text("azp"),
        client_id: text("client_id"),
        jti: text("jti"),
        email_verified: claims.get("email_verified").and_then(Value::as_bool),
        claims,
    })
}

/// `exp` (required, a number) and `nbf` (when present) against `expect.now`, with the leeway, as
/// RFC 7519 §4.1.4 and §4.1.5 define them.
fn check_times(claims: &Map<String, Value>, expect: &Expectations<'_>) -> Result<(), VerifyError> {
    let leeway = expect.leeway.as_secs();
    let slack = i64::try_from(leeway).unwrap_or(i64::MAX);
    let identity = || identity_of(claims, expect.identity_claim);
    let malformed = |reason: &str| VerifyError::Malformed { reason: reason.to_string() };
    let Some(exp) = claims.get("exp").and_then(Value::as_i64) else {
        return Err(malformed("the exp claim is not a number of seconds"));
    };
    if exp.saturating_add(slack) < expect.now {
        return Err(VerifyError::Expired {
            identity: identity(),
            expired_at: rfc3339(exp),
            ago: expect.now.saturating_sub(exp),
            leeway,
        });
    }
    match claims.get("nbf") {
        None => Ok(()),
        Some(nbf) => match nbf.as_i64() {
            None => Err(malformed("the nbf claim is not a number of seconds")),
            Some(nbf) if nbf > expect.now.saturating_add(slack) => Err(VerifyError::NotYetValid {
                identity: identity(),
                not_before: rfc3339(nbf),
                ahead: nbf.saturating_sub(expect.now),
                leeway,
            }),
            Some(_) => Ok(()),
        },
    }
}

/// Turns a refusal from jsonwebtoken into a reason with the values that matter.
///
/// jsonwebtoken checks the signature before the claims, so for a claim refusal the token is
/// genuine; it is decoded again with the signature check alone to say who it was and what the
/// claim held.
fn explain(
    token: &str,
    header: &TokenHeader,
    key: &DecodingKey,
    expect: &Expectations<'_>,
    kind: &ErrorKind,
) -> VerifyError {
    let kid = header.kid.clone();
    let claims = || signed_claims(token, header.alg, key).unwrap_or_default();
    match kind {
        ErrorKind::InvalidSignature => VerifyError::BadSignature { kid },
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidKeyFormat | ErrorKind::InvalidEcdsaKey => {
            VerifyError::KeyUnusable {
                kid,
                alg: format!("{:?}", header.alg),
                reason: "the key does not fit the algorithm".to_string(),
            }
        }
        ErrorKind::InvalidIssuer => {
            let claims = claims();
            VerifyError::WrongIssuer {
                identity: identity_of(&claims, expect.identity_claim),
                found: claims.get("iss").map(show).unwrap_or_else(|| "(none)".to_string()),
                expected: expect.issuer.to_string(),
            }
        }
        ErrorKind::InvalidAudience => {
            let claims = claims();
            VerifyError::WrongAudience {
                identity: identity_of(&claims, expect.identity_claim),
                found: claims.get("aud").map(show).unwrap_or_else(|| "(none)".to_string()),
                expected: expect.audience.to_string(),
            }
        }
        ErrorKind::MissingRequiredClaim(claim) | ErrorKind::InvalidClaimFormat(claim) => {
            let claims = claims();
            VerifyError::MissingClaim {
                identity: identity_of(&claims, expect.identity_claim),
                claim: one_line(claim),
            }
        }
        ErrorKind::Json(_) | ErrorKind::Utf8(_) | ErrorKind::Base64(_) | ErrorKind::InvalidToken => {
            VerifyError::Malformed { reason: "its claims are not a JSON object".to_string() }
        }
        other => VerifyError::Malformed { reason: one_line(&format!("{other:?}")) },
    }
}

/// The claims of a token whose signature verifies, without any claim check.
fn signed_claims(token: &str, alg: Algorithm, key: &DecodingKey) -> Option<Map<String, Value>> {
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation).ok().map(|data| data.claims)
}

fn identity_of(claims: &Map<String, Value>, claim: &str) -> Option<String> {
    // Emptiness is judged after `one_line`: a value of only control characters names no one.
    let value = one_line(claims.get(claim)?.as_str()?.trim());
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// `groups` as a list of strings; a single string is one group (some IdPs do that for one).
/// Kept exactly as written: `"dba "` is not `dba` (no trimming, no case or space folding), so a
/// group an IdP admin named with a stray space cannot pass for the real one. Messages show
/// them through `one_line`.
fn groups_of(claims: &Map<String, Value>) -> Vec<String> {
    strings_of(claims, "groups")
}

/// A claim that is a list of strings (`groups`, `amr`); a single string is a list of one.
fn strings_of(claims: &Map<String, Value>, name: &str) -> Vec<String> {
    match claims.get(name) {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// A claim value for a message: strings bare, arrays as `[a, b]`.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => one_line(s),
        Value::Array(items) => {
            let shown: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", shown.join(", "))
        }
        other => one_line(&other.to_string()),
    }
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// A claim's time for a message. humantime formats 1970 to 9999 only (and `to_string` panics on
/// its error), so a time outside that, which only a broken or hostile IdP signs, is shown as the
/// number the token holds.
fn rfc3339(unix: i64) -> String {
    let time = u64::try_from(unix).ok().and_then(|secs| UNIX_EPOCH.checked_add(Duration::from_secs(secs)));
    let mut text = String::new();
    match time.map(|time| write!(text, "{}", humantime::format_rfc3339_seconds(time))) {
        Some(Ok(())) => text,
        _ => format!("unix time {unix}"),
    }
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;

    fn b64(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    fn with_header(header: &str) -> String {
        format!("{}.{}.{}", b64(header), b64("{}"), b64("sig"))
    }

    #[test]
    fn alg_none_is_refused_by_name() {
        let err = read_header(&with_header(r#"{"alg":"none","kid":"k"}"#)).expect_err("none");
        assert_eq!(err.to_string(), "token algorithm none is not allowed (allowed: ES256, RS256)");
    }

    #[test]
    fn hmac_algorithms_are_refused_before_any_key_is_looked_at() {
        for alg in ["HS256", "HS384", "HS512"] {
            let err =
                read_header(&with_header(&format!(r#"{{"alg":"{alg}","kid":"k"}}"#))).expect_err("hmac");
            assert!(matches!(err, VerifyError::AlgorithmNotAllowed { .. }), "{alg}: {err}");
        }
        let err = read_header(&with_header(r#"{"kid":"k"}"#)).expect_err("no alg");
        assert!(err.to_string().contains("(none given)"), "{err}");
    }

    #[test]
    fn the_header_needs_a_kid() {
        let err = read_header(&with_header(r#"{"alg":"ES256"}"#)).expect_err("no kid");
        assert!(matches!(err, VerifyError::NoKeyId));
        let ok = read_header(&with_header(r#"{"alg":"ES256","kid":"k1"}"#)).expect("ok");
        assert_eq!(ok, TokenHeader { alg: Algorithm::ES256, kid: "k1".into(), typ: None });
    }

    #[test]
    fn shapes_that_are_not_a_jws_are_refused() {
        for (token, expected) in [
            ("", "empty"),
            ("abc", "three dot-separated parts"),
            ("a.b.c.d.e", "JWE"),
            ("a..c", "not base64url"),
            ("a+b.c.d", "not base64url"),
            ("e30.e30.e30 ", "not base64url"),
        ] {
            let err = read_header(token).expect_err(token).to_string();
            assert!(err.contains(expected), "{token:?}: {err}");
        }
        let long = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert!(read_header(&long).expect_err("long").to_string().contains("longer than"));
    }

    #[test]
    fn critical_header_extensions_are_refused() {
        let err = read_header(&with_header(r#"{"alg":"ES256","kid":"k","crit":["x"]}"#)).expect_err("crit");
        assert!(err.to_string().contains("crit"), "{err}");
    }

    /// Parts that are base64url, empty, or carry a character outside base64url.
    fn part() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_-]{0,8}|[A-Za-z0-9_+/= \n.-]{1,8}"
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics_the_header_check(token in any::<String>()) {
            let _ = read_header(&token);
        }

        #[test]
        fn any_exp_and_nbf_get_a_decision_without_a_panic(
            exp in any::<i64>(),
            nbf in prop::option::of(any::<i64>()),
            now in any::<i64>(),
            leeway in 0u64..=300,
        ) {
            let mut claims = Map::new();
            claims.insert("exp".into(), exp.into());
            if let Some(nbf) = nbf {
                claims.insert("nbf".into(), nbf.into());
            }
            let expect = Expectations { leeway: Duration::from_secs(leeway), ..expect_at(now) };
            if let Err(err) = check_times(&claims, &expect) {
                let _ = err.to_string();
            }
        }

        #[test]
        fn only_three_nonempty_base64url_parts_get_past_the_shape_check(rest in vec(part(), 0..6)) {
            // A valid header, so the shape alone decides.
            let mut parts = vec![b64(r#"{"alg":"ES256","kid":"k"}"#)];
            parts.extend(rest);
            let token = parts.join(".");
            let pieces: Vec<&str> = token.split('.').collect();
            let well_formed = pieces.len() == 3
                && pieces.iter().all(|p| !p.is_empty() && p.bytes().all(is_base64url));
            prop_assert_eq!(read_header(&token).is_ok(), well_formed, "{:?}", token);
        }
    }

    fn expect_at(now: i64) -> Expectations<'static> {
        Expectations {
            issuer: "https://idp.test",
            audience: "postgres",
            leeway: Duration::from_secs(30),
            identity_claim: "email",
            now,
        }
    }

    fn times(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).expect("json")
    }

    /// Found by the `token_claims` fuzz target (its structure-aware half, on the 8th input of its
    /// first run; the input is `fuzz/corpus/token_claims/crash_nbf_after_year_9999`): a signed
    /// `nbf` past 9999-12-31 made the refusal's message panic (humantime's formatter errs there
    /// and `to_string` panics on a formatter error).
    #[test]
    fn an_identity_of_only_control_characters_names_no_one() {
        let mut claims = Map::new();
        claims.insert("email".into(), Value::from("\u{7f}\u{1b}"));
        assert_eq!(identity_of(&claims, "email"), None);
        claims.insert("email".into(), Value::from(" alice@example.com "));
        assert_eq!(identity_of(&claims, "email").as_deref(), Some("alice@example.com"));
    }

    #[test]
    fn a_not_before_beyond_year_9999_is_refused_without_a_panic() {
        let claims = times(r#"{"exp":1800000600,"nbf":300000000000}"#);
        let err = check_times(&claims, &expect_at(1_800_000_000)).expect_err("not yet valid");
        assert!(matches!(err, VerifyError::NotYetValid { ahead: 298_200_000_000, .. }), "{err:?}");
        assert!(err.to_string().contains("not valid before unix time 300000000000"), "{err}");
        let claims = times(&format!(r#"{{"exp":1800000600,"nbf":{}}}"#, i64::MAX));
        assert!(matches!(check_times(&claims, &expect_at(i64::MIN)), Err(VerifyError::NotYetValid { .. })));
    }

    /// jsonwebtoken refuses a negative `exp` before `check_times` sees it; were that to change,
    /// the "how long ago" arithmetic must still not overflow.
    #[test]
    fn an_expiry_at_the_bottom_of_i64_is_refused_without_overflow() {
        let claims = times(&format!(r#"{{"exp":{}}}"#, i64::MIN));
        let err = check_times(&claims, &expect_at(1_800_000_000)).expect_err("expired");
        assert!(matches!(err, VerifyError::Expired { ago: i64::MAX, .. }), "{err:?}");
        assert!(err.to_string().contains(&format!("expired at unix time {}", i64::MIN)), "{err}");
    }

    #[test]
    fn times_in_range_are_shown_as_rfc3339() {
        assert_eq!(rfc3339(1_800_000_000), "2027-01-15T08:00:00Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_800), "unix time 253402300800");
    }

    #[test]
    fn groups_accept_a_list_or_a_single_string() {
        let claims: Map<String, Value> = serde_json::from_str(r#"{"groups":["a","b",3]}"#).expect("json");
        assert_eq!(groups_of(&claims), vec!["a", "b"]);
        let claims: Map<String, Value> = serde_json::from_str(r#"{"groups":"a"}"#).expect("json");
        assert_eq!(groups_of(&claims), vec!["a"]);
        // Exactly as written: surrounding or inner whitespace is part of the name.
        let claims: Map<String, Value> =
            serde_json::from_str(r#"{"groups":["dba ", " dba", "d  ba"]}"#).expect("json");
        assert_eq!(groups_of(&claims), vec!["dba ", " dba", "d  ba"]);
        assert!(groups_of(&Map::new()).is_empty());
    }
}
