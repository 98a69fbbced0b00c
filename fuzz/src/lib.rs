//! What each fuzz target does with its input, and the properties it asserts beyond "no panic".
//!
//! The targets under `fuzz_targets/` are one line each; the work is here so the five of them share
//! the fixed signing key and the verifier's expectations.
//!
//! # Layout
//! - [`startup`]: a client's first packets, as the forwarder's `read_hello` loops over them.
//! - [`backend_auth`]: a server's byte stream through the upstream authentication exchange.
//! - [`token`]: bytes on the PAM verifier's stdin through every token check.
//! - [`token_claims`]: arbitrary claims through the claim checks, one in 16 validly signed.
//! - [`jwks`]: a JWK Set document (or a whole JWKS cache file) through key selection and use.
//!
//! Only public APIs of `tapgate-pgwire` and `tapgate-verify` are called; one was made public for
//! fuzzing, `tapgate_verify::token::check_claims` (`#[doc(hidden)]`, the checks `check` makes after
//! the signature), so `token_claims` does not pay an ECDSA signature per input.

use std::sync::LazyLock;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::BytesMut;
use jsonwebtoken::Algorithm;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use secrecy::SecretString;
use serde_json::{Value, json};
use tapgate_pgwire::backend::MAX_HANDSHAKE_MESSAGE_LENGTH;
use tapgate_pgwire::{
    AuthMethod, AuthStep, StartupPacket, UpstreamAuth, parse_startup, split_backend_message,
};
use tapgate_verify::cache::CachedJwks;
use tapgate_verify::jwks::{PublicKeys, decoding_key};
use tapgate_verify::pam_input::read_token;
use tapgate_verify::token::{self, Expectations};

/// The `kid` of the fixed ES256 key that signs [`token_claims`] inputs and the committed seeds.
pub const KID: &str = "fuzz-es256";

/// The fixed P-256 private scalar (fuzz/corpus/README.md names it too, for the seed generator).
const SECRET_SCALAR: [u8; 32] = [0x11; 32];

/// The verifier's "now" (2027-01-15T08:00:00Z); seeds carry times around it.
pub const NOW: i64 = 1_800_000_000;

/// What the verifier expects of the fuzzed tokens: the dev IdP's issuer and audience.
pub fn expectations() -> Expectations<'static> {
    Expectations {
        issuer: "https://127.0.0.1:8443",
        audience: "postgres",
        leeway: Duration::from_secs(30),
        identity_claim: "email",
        now: NOW,
    }
}

struct FixedKey {
    signing: SigningKey,
    jwks: PublicKeys,
}

static FIXED_KEY: LazyLock<FixedKey> = LazyLock::new(|| {
    let signing = SigningKey::from_bytes(&SECRET_SCALAR.into()).expect("a valid P-256 scalar");
    let point = signing.verifying_key().to_encoded_point(false);
    let coordinate = |c: Option<&p256::FieldBytes>| URL_SAFE_NO_PAD.encode(c.expect("an uncompressed point"));
    let document = json!({"keys": [{
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": KID,
        "x": coordinate(point.x()), "y": coordinate(point.y()),
    }]});
    let jwks = PublicKeys::from_document(&document).expect("the fixed key's JWKS");
    FixedKey { signing, jwks }
});

/// A compact JWS of `claims` (any bytes) signed by the fixed key, header as the dev IdP writes it.
pub fn sign(claims: &[u8]) -> String {
    let header = format!(r#"{{"typ":"at+jwt","alg":"ES256","kid":"{KID}"}}"#);
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let signature: Signature = FIXED_KEY.signing.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// The client's first packets, parsed as `read_hello` does until it has a StartupMessage or a
/// CancelRequest. Asserts the parser's contract: "incomplete" consumes nothing, a packet consumes
/// exactly its length word's bytes, and those bytes are what encoding the packet gives back.
pub fn startup(data: &[u8]) {
    let mut buf = BytesMut::from(data);
    // read_hello takes at most an SSLRequest and a GSSENCRequest before the real packet.
    for _ in 0..3 {
        let before = buf.clone();
        match parse_startup(&mut buf) {
            Ok(None) => {
                assert_eq!(buf, before, "an incomplete packet must consume nothing");
                return;
            }
            Ok(Some(packet)) => {
                let length = u32::from_be_bytes([before[0], before[1], before[2], before[3]]) as usize;
                assert_eq!(buf.len(), before.len() - length, "a packet consumes exactly its length");
                let mut encoded = BytesMut::new();
                packet.encode(&mut encoded).expect("a parsed packet encodes");
                assert_eq!(&encoded[..], &before[..length], "parse then encode gives the same bytes");
                if !matches!(packet, StartupPacket::SslRequest | StartupPacket::GssEncRequest) {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// A server's stream through [`UpstreamAuth`]. The first byte picks the method and whether the
/// channel is "encrypted"; the rest is the stream. Asserts that the token never leaves on an
/// unencrypted channel, that a refusal never follows a send of the token it refuses, and the
/// splitter's contract.
pub fn backend_auth(data: &[u8]) {
    let Some((&flags, stream)) = data.split_first() else { return };
    let method = if flags & 1 == 0 { AuthMethod::Password } else { AuthMethod::OAuthBearer };
    let encrypted = flags & 2 != 0;
    let mut auth = UpstreamAuth::new(method, SecretString::from("eyJ.fuzz.token"), encrypted);
    let mut buf = BytesMut::from(stream);
    loop {
        let before = buf.clone();
        let message = match split_backend_message(&mut buf, MAX_HANDSHAKE_MESSAGE_LENGTH) {
            Ok(Some(message)) => message,
            Ok(None) => {
                assert_eq!(buf, before, "an incomplete message must consume nothing");
                return;
            }
            Err(_) => return,
        };
        assert_eq!(message.as_bytes(), &before[..before.len() - buf.len()], "cut verbatim");
        // What the forwarder reads from handshake messages besides the exchange itself.
        let _ = message.report();
        let _ = message.backend_key_data();
        let _ = message.parse();
        let sent_before = auth.token_sent();
        match auth.on_message(message) {
            Ok(AuthStep::Refuse(_)) => {
                assert_eq!(auth.token_sent(), sent_before, "a refusal sends nothing");
                return;
            }
            Ok(AuthStep::ServerRefused(_) | AuthStep::Authenticated(_)) | Err(_) => return,
            Ok(AuthStep::Send(_) | AuthStep::Forward(_) | AuthStep::Continue) => {}
        }
        assert!(encrypted || !auth.token_sent(), "the token left on an unencrypted channel");
    }
}

/// Bytes on the PAM verifier's stdin: read, header checks, then the signature and claims against
/// the fixed key. Asserts that a header is only accepted from three non-empty base64url parts.
pub fn token(data: &[u8]) {
    let Ok(text) = read_token(data) else { return };
    let Ok(header) = token::read_header(&text) else { return };
    let parts: Vec<&str> = text.split('.').collect();
    assert_eq!(parts.len(), 3, "a header was accepted from a token that is not three parts");
    assert!(
        parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')),
        "a header was accepted from a part that is not base64url"
    );
    verify_with_fixed_key(&text, &header);
}

/// Arbitrary claims through the checks after the signature, twice: the input as JSON text, and the
/// input read as claim values ([`ClaimValues`]; numbers as numbers, which mutating JSON text
/// rarely makes). Claims that are a JSON object go through `check_claims` directly; for one input
/// in [`SIGNED_ONE_IN`] (chosen by its bytes, so a crash replays) they are also signed by the
/// fixed key and go the whole way through `check`, where jsonwebtoken's own claim checks run
/// first. Asserts that an accepted token names someone and has not expired, and that `check`
/// accepts nothing `check_claims` refuses.
pub fn token_claims(data: &[u8]) {
    // The bytes as JSON text, and the same bytes read as claim values (structure-aware).
    let structured = Unstructured::new(data)
        .arbitrary::<ClaimValues>()
        .ok()
        .and_then(|values| serde_json::to_vec(&values.into_claims()).ok());
    let signed = fnv1a(data).is_multiple_of(SIGNED_ONE_IN);
    claims_both_ways(data, signed);
    if let Some(claims) = structured {
        claims_both_ways(&claims, signed);
    }
}

/// A value the verifier might find in a claim.
#[derive(Debug, Arbitrary)]
enum ClaimValue {
    Absent,
    /// What the verifier expects here (the issuer, the audience, an e-mail address).
    Expected,
    Int(i64),
    /// A time around [`NOW`].
    NearNow(i16),
    Float(f64),
    Text(String),
    Bool(bool),
    Null,
    List(Vec<String>),
}

#[derive(Debug, Arbitrary)]
struct ClaimValues {
    iss: ClaimValue,
    aud: ClaimValue,
    exp: ClaimValue,
    nbf: ClaimValue,
    email: ClaimValue,
    sub: ClaimValue,
    groups: ClaimValue,
}

impl ClaimValues {
    fn into_claims(self) -> serde_json::Map<String, Value> {
        let mut claims = serde_json::Map::new();
        let fields = [
            ("iss", self.iss, Value::from(expectations().issuer)),
            ("aud", self.aud, Value::from(expectations().audience)),
            ("exp", self.exp, Value::from(NOW + 300)),
            ("nbf", self.nbf, Value::from(NOW - 60)),
            ("email", self.email, Value::from("alice@example.com")),
            ("sub", self.sub, Value::from("5b1d3c2a")),
            ("groups", self.groups, Value::from(vec!["db-app-rw"])),
        ];
        for (name, value, expected) in fields {
            let value = match value {
                ClaimValue::Absent => continue,
                ClaimValue::Expected => expected,
                ClaimValue::Int(n) => Value::from(n),
                ClaimValue::NearNow(delta) => Value::from(NOW + i64::from(delta)),
                ClaimValue::Float(x) => Value::from(x),
                ClaimValue::Text(text) => Value::from(text),
                ClaimValue::Bool(b) => Value::from(b),
                ClaimValue::Null => Value::Null,
                ClaimValue::List(items) => Value::from(items),
            };
            claims.insert(name.to_owned(), value);
        }
        claims
    }
}

/// The header every signed input carries (ES256, the fixed key's kid, an access token's typ).
fn fixed_header() -> token::TokenHeader {
    token::TokenHeader {
        alg: Algorithm::ES256,
        kid: KID.to_owned(),
        typ: Some("at+jwt".to_owned()),
    }
}

fn claims_both_ways(claims: &[u8], signed: bool) {
    let expect = expectations();
    let fast = serde_json::from_slice::<serde_json::Map<String, Value>>(claims)
        .ok()
        .map(|map| token::check_claims(map, &fixed_header(), &expect));
    if let Some(Ok(verified)) = &fast {
        assert_accepted_rightly(verified);
    }
    if !signed {
        return;
    }
    let text = sign(claims);
    let header = match token::read_header(&text) {
        Ok(header) => header,
        Err(_) => {
            // The header is fixed and valid: only an empty (so not base64url) payload fails here.
            assert!(claims.is_empty(), "the fixed header was refused");
            return;
        }
    };
    if let Some(verified) = verify_with_fixed_key(&text, &header) {
        assert_accepted_rightly(&verified);
        assert!(matches!(fast, Some(Ok(_))), "check accepted what check_claims refused");
    }
}

/// The share of [`token_claims`] inputs that are signed and verified (ES256 costs about 7 ms an
/// input under AddressSanitizer, the claim checks alone a few microseconds).
pub const SIGNED_ONE_IN: u64 = 16;

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn assert_accepted_rightly(verified: &token::VerifiedToken) {
    assert!(!verified.identity.is_empty(), "an accepted token names someone");
    let leeway = i64::try_from(expectations().leeway.as_secs()).unwrap_or(i64::MAX);
    assert!(verified.expires_at.saturating_add(leeway) >= NOW, "an expired token was accepted");
}

fn verify_with_fixed_key(text: &str, header: &token::TokenHeader) -> Option<token::VerifiedToken> {
    let jwk = FIXED_KEY.jwks.get(&header.kid)?;
    let key = decoding_key(&header.kid, jwk, header.alg).ok()?;
    token::check(text, header, &key, &expectations()).ok()
}

/// One ES256 and one RS256 token (the RS256 signature is not valid: verifying it still runs the
/// RSA operation with whatever modulus and exponent the document holds).
static PROBE_TOKENS: LazyLock<[String; 2]> = LazyLock::new(|| {
    let claims = format!(
        r#"{{"iss":"https://127.0.0.1:8443","aud":"postgres","email":"alice@example.com","exp":{}}}"#,
        NOW + 300
    );
    let rs256_header = format!(r#"{{"alg":"RS256","kid":"{KID}"}}"#);
    let rs256 = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(rs256_header),
        URL_SAFE_NO_PAD.encode(&claims),
        URL_SAFE_NO_PAD.encode([0x5a; 256])
    );
    [sign(claims.as_bytes()), rs256]
});

/// A JWK Set document, or a whole JWKS cache file, as the verifier would read it: every key is
/// chosen for both algorithms and, where usable, verifies a token.
pub fn jwks(data: &[u8]) {
    let document = match serde_json::from_slice::<CachedJwks>(data) {
        Ok(record) => record.jwks,
        Err(_) => match serde_json::from_slice::<Value>(data) {
            Ok(value) => value,
            Err(_) => return,
        },
    };
    let Ok(keys) = PublicKeys::from_document(&document) else { return };
    assert_eq!(keys.kids().len(), keys.len());
    for kid in keys.kids() {
        let jwk = keys.get(&kid).expect("a listed kid is found");
        for (alg, probe) in [(Algorithm::ES256, &PROBE_TOKENS[0]), (Algorithm::RS256, &PROBE_TOKENS[1])] {
            let Ok(key) = decoding_key(&kid, jwk, alg) else { continue };
            let header = token::TokenHeader { alg, kid: kid.clone(), typ: None };
            let _ = token::check(probe, &header, &key, &expectations());
        }
    }
}
