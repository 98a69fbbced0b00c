//! [`Verifier`]: one configuration's checks end to end: header, key, signature and claims, then
//! the token policy (amr, client, lifetime, typ, email_verified) and the role policy, ending in a
//! [`Decision`].

use tapgate_clock::{SharedClock, SystemClock};

use crate::VerifyError;
use crate::cache::JwksCacheFile;
use crate::config::VerifyConfig;
use crate::decision::{Decision, TokenFacts};
use crate::fetch::{HttpsJwks, JwksSource};
use crate::file_trust::FileTrust;
use crate::jwks::{PublicKeys, decoding_key};
use crate::keys::{CacheTiming, KeyStore};
use crate::policy::RolePolicy;
use crate::token::{Expectations, VerifiedToken, check, read_header};

/// Verifies tokens for one `verify.toml`. Cheap to build: nothing is read or fetched until a
/// token needs a key.
#[derive(Debug)]
pub struct Verifier<S = HttpsJwks> {
    config: VerifyConfig,
    policy: RolePolicy,
    keys: KeyStore<S>,
    /// Token times and the JWKS cache's age are judged on it: the system's, or a test's.
    clock: SharedClock,
}

impl Verifier<HttpsJwks> {
    /// A verifier fetching the JWKS over HTTPS as the configuration says, within its
    /// `fetch_timeout`.
    pub fn new(config: VerifyConfig) -> Verifier<HttpsJwks> {
        let source = HttpsJwks::new(&config.issuer, &config.discovery_url(), config.ca_file.clone());
        let timing = CacheTiming { fetch_timeout: config.fetch_timeout, ..CacheTiming::default() };
        Verifier::with_source(config, source, timing)
    }
}

impl<S: JwksSource> Verifier<S> {
    /// A verifier with another key source and cache timing (tests, and hosts with their own
    /// transport). The cache is believed when owned by root or this process's user.
    pub fn with_source(config: VerifyConfig, source: S, timing: CacheTiming) -> Verifier<S> {
        let cache = JwksCacheFile::new(config.jwks_cache.clone(), FileTrust::for_this_process());
        let keys = KeyStore::new(&config.issuer, source, cache, timing);
        let policy = RolePolicy::new(config.roles.clone());
        Verifier { config, policy, keys, clock: SystemClock::shared() }
    }

    /// The same verifier on another clock.
    pub fn with_clock(self, clock: SharedClock) -> Verifier<S> {
        Verifier { clock, ..self }
    }

    pub fn config(&self) -> &VerifyConfig {
        &self.config
    }

    /// Checks `token` (signature, issuer, audience, times, then the token policy) without
    /// looking at roles. Problems that did not decide the outcome are pushed to `warnings`.
    pub fn verify(&self, token: &str, warnings: &mut Vec<String>) -> Result<VerifiedToken, VerifyError> {
        let verified = self.verify_signed(token, warnings)?;
        self.config.policy.check(&verified)?;
        Ok(verified)
    }

    /// The signature and the claims every token needs; not yet the token policy.
    fn verify_signed(&self, token: &str, warnings: &mut Vec<String>) -> Result<VerifiedToken, VerifyError> {
        let header = read_header(token)?;
        let now = self.clock.unix_seconds();
        let jwk = self.keys.key(&header.kid, u64::try_from(now).unwrap_or_default(), warnings)?;
        let key = decoding_key(&header.kid, &jwk, header.alg)?;
        let expect = Expectations {
            issuer: &self.config.issuer,
            audience: &self.config.audience,
            leeway: self.config.leeway,
            identity_claim: &self.config.identity_claim,
            now,
        };
        check(token, &header, &key, &expect)
    }

    /// Whether `token` may log in as `role`, and why. A configuration with checks off adds one
    /// warning naming them to every decision.
    pub fn decide(&self, token: &str, role: &str) -> Decision {
        let mut warnings = Vec::new();
        let mut decision = match self.verify_signed(token, &mut warnings) {
            Ok(verified) => {
                let facts = TokenFacts {
                    subject: verified.subject.clone(),
                    jti: verified.jti.clone(),
                    amr: verified.amr.clone(),
                    client: verified.azp.clone().or_else(|| verified.client_id.clone()),
                };
                let mut decision = match self.config.policy.check(&verified) {
                    Err(error) => Decision::deny(Some(verified.identity), role, error.to_string()),
                    Ok(()) if self.config.own_role && role == verified.identity => Decision::allow(
                        verified.identity.clone(),
                        role,
                        format!("{role} is the token's own {} (own_role)", self.config.identity_claim),
                    ),
                    Ok(()) => {
                        let authorization = self.policy.authorize(role, &verified.groups);
                        if authorization.allowed {
                            Decision::allow(verified.identity, role, authorization.reason)
                        } else {
                            Decision::deny(Some(verified.identity), role, authorization.reason)
                        }
                    }
                };
                decision.token = Some(facts);
                decision
            }
            Err(error) => Decision::deny(error.identity().map(str::to_string), role, error.to_string()),
        };
        warnings.extend(self.config.decision_warning());
        decision.warnings = warnings;
        decision
    }

    /// Fetches the JWKS now and caches it, ignoring freshness and the rate limit (for `--check`).
    pub fn refresh_keys(&self, warnings: &mut Vec<String>) -> Result<PublicKeys, VerifyError> {
        self.keys.refresh(u64::try_from(self.clock.unix_seconds()).unwrap_or_default(), warnings)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::path::Path;
    use std::rc::Rc;

    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::{Value, json};

    use super::*;

    const ISSUER: &str = "https://idp.test";

    /// An IdP signing key: the private half signs test tokens, the public half is in the JWKS.
    struct SigningKey {
        kid: String,
        alg: Algorithm,
        encoding: EncodingKey,
    }

    impl SigningKey {
        fn es256(kid: &str) -> SigningKey {
            use p256::pkcs8::{EncodePrivateKey, LineEnding};
            let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
            let pem = secret.to_pkcs8_pem(LineEnding::LF).expect("pem");
            let encoding = EncodingKey::from_ec_pem(pem.as_bytes()).expect("ec key");
            SigningKey { kid: kid.to_string(), alg: Algorithm::ES256, encoding }
        }

        fn rs256(kid: &str) -> SigningKey {
            use rsa::pkcs8::{EncodePrivateKey, LineEnding};
            let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("rsa key");
            let pem = private.to_pkcs8_pem(LineEnding::LF).expect("pem");
            let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("rsa key");
            SigningKey { kid: kid.to_string(), alg: Algorithm::RS256, encoding }
        }

        fn jwk(&self) -> Value {
            let mut jwk = Jwk::from_encoding_key(&self.encoding, self.alg).expect("jwk");
            jwk.common.key_id = Some(self.kid.clone());
            serde_json::to_value(jwk).expect("json")
        }

        /// An RFC 9068 access token (`typ: at+jwt`), as the IdPs the policy expects issue.
        fn sign(&self, claims: &Value) -> String {
            self.sign_typed(claims, Some("at+jwt"))
        }

        fn sign_typed(&self, claims: &Value, typ: Option<&str>) -> String {
            let mut header = Header::new(self.alg);
            header.kid = Some(self.kid.clone());
            header.typ = typ.map(str::to_string);
            jsonwebtoken::encode(&header, claims, &self.encoding).expect("signed")
        }
    }

    /// Serves a fixed JWKS and counts fetches.
    struct StaticJwks {
        jwks: Value,
        fetches: Cell<u32>,
    }

    impl JwksSource for Rc<StaticJwks> {
        fn fetch(&self, _deadline: std::time::Instant) -> Result<Value, VerifyError> {
            self.fetches.set(self.fetches.get() + 1);
            Ok(self.jwks.clone())
        }
    }

    /// The policy a new installation writes: a hardware key, Tapgate's client, 1 h tokens.
    const POLICY: &str = "require_amr = [\"hwk\"]\nallowed_clients = [\"tapgate\"]\n\
                          max_token_lifetime = \"1h\"\nrequire_typ = \"at+jwt\"\n";

    fn config_with(dir: &Path, policy: &str) -> VerifyConfig {
        let text = format!(
            "issuer = \"{ISSUER}\"\naudience = \"postgres\"\njwks_cache = \"jwks.json\"\n{policy}\
             [roles]\napp_rw = [\"dba\", \"backend\"]\napp_ro = [\"analysts\"]\n"
        );
        VerifyConfig::parse(&dir.join("verify.toml"), &text).expect("config")
    }

    fn now() -> i64 {
        tapgate_clock::Clock::unix_seconds(&tapgate_clock::SystemClock)
    }

    fn claims() -> Value {
        json!({
            "iss": ISSUER, "aud": "postgres", "sub": "u-1", "email": "alice@example.com",
            "email_verified": true, "amr": ["hwk"], "azp": "tapgate", "client_id": "tapgate",
            "jti": "j-1", "groups": ["dba"], "iat": now(), "nbf": now(), "exp": now() + 600,
        })
    }

    fn with(mut claims: Value, key: &str, value: Value) -> Value {
        claims[key] = value;
        claims
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        source: Rc<StaticJwks>,
        verifier: Verifier<Rc<StaticJwks>>,
    }

    fn fixture(keys: &[&SigningKey]) -> Fixture {
        fixture_with(keys, POLICY)
    }

    fn fixture_with(keys: &[&SigningKey], policy: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let jwks = json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() });
        let source = Rc::new(StaticJwks { jwks, fetches: Cell::new(0) });
        let verifier = Verifier::with_source(
            config_with(dir.path(), policy),
            Rc::clone(&source),
            CacheTiming::default(),
        );
        Fixture { _dir: dir, source, verifier }
    }

    fn without(mut claims: Value, key: &str) -> Value {
        claims.as_object_mut().expect("object").remove(key);
        claims
    }

    #[test]
    fn a_token_without_amr_is_denied_with_the_identity_and_the_token_facts() {
        let key = SigningKey::es256("k1");
        let f = fixture(&[&key]);
        let decision = f.verifier.decide(&key.sign(&without(claims(), "amr")), "app_rw");
        assert_eq!(
            decision.to_string(),
            "denied alice@example.com as app_rw: the token's amr [] has none of the required sign-in methods [hwk] (require_amr): sign in with a security key"
        );
        let facts = decision.token.expect("facts of a verified token");
        assert_eq!((facts.subject.as_deref(), facts.jti.as_deref()), (Some("u-1"), Some("j-1")));
        assert_eq!(facts.client.as_deref(), Some("tapgate"));
    }

    #[test]
    fn own_role_lets_a_person_in_as_their_own_user_only() {
        let key = SigningKey::es256("k1");
        let f = fixture_with(&[&key], &format!("{POLICY}own_role = true\n"));
        let token = key.sign(&with(claims(), "groups", json!([])));
        let own = f.verifier.decide(&token, "alice@example.com");
        assert!(own.allowed, "{own}");
        assert!(own.reason.contains("own email (own_role)"), "{own}");
        let someone_else = f.verifier.decide(&token, "bob@example.com");
        assert!(!someone_else.allowed, "{someone_else}");
        // The policy still applies to one's own user.
        let soft = f.verifier.decide(&key.sign(&with(claims(), "amr", json!(["swk"]))), "alice@example.com");
        assert!(!soft.allowed && soft.reason.contains("require_amr"), "{soft}");
        // Without own_role the person's name is no role.
        let plain = fixture(&[&key]);
        assert!(!plain.verifier.decide(&token, "alice@example.com").allowed);
    }

    #[test]
    fn a_software_key_or_password_sign_in_is_denied_where_hwk_is_required() {
        let key = SigningKey::es256("k1");
        let f = fixture(&[&key]);
        for amr in [json!(["swk"]), json!(["pwd", "otp"]), json!("pwd")] {
            let decision = f.verifier.decide(&key.sign(&with(claims(), "amr", amr.clone())), "app_rw");
            assert!(!decision.allowed && decision.reason.contains("require_amr"), "{amr}: {decision}");
        }
    }

    #[test]
    fn a_token_for_another_client_is_denied() {
        let key = SigningKey::es256("k1");
        let f = fixture(&[&key]);
        let other = with(with(claims(), "azp", json!("billing-app")), "client_id", json!("billing-app"));
        let decision = f.verifier.decide(&key.sign(&other), "app_rw");
        assert_eq!(
            decision.reason,
            "the token was issued to client billing-app, not one of allowed_clients [tapgate]"
        );
    }

    #[test]
    fn a_token_living_longer_than_max_token_lifetime_is_denied() {
        let key = SigningKey::es256("k1");
        let f = fixture(&[&key]);
        let long = with(claims(), "exp", json!(now() + 86_400));
        let decision = f.verifier.decide(&key.sign(&long), "app_rw");
        assert_eq!(
            decision.reason,
            "the token lives 86400 s (exp - iat), more than max_token_lifetime 3600 s"
        );
    }

    #[test]
    fn an_id_token_typ_is_denied_where_at_jwt_is_required() {
        let key = SigningKey::es256("k1");
        let f = fixture(&[&key]);
        let decision = f.verifier.decide(&key.sign_typed(&claims(), Some("JWT")), "app_rw");
        assert!(decision.reason.starts_with("token type JWT is not the required at+jwt"), "{decision}");
        let decision = f.verifier.decide(&key.sign_typed(&claims(), None), "app_rw");
        assert!(decision.reason.starts_with("token type (none)"), "{decision}");
    }

    #[test]
    fn an_unverified_email_does_not_name_anyone() {
        let key = SigningKey::es256("k1");
        let f = fixture(&[&key]);
        let decision =
            f.verifier.decide(&key.sign(&with(claims(), "email_verified", json!(false))), "app_rw");
        assert!(decision.reason.starts_with("email_verified is false"), "{decision}");
        let decision = f.verifier.decide(&key.sign(&without(claims(), "email_verified")), "app_rw");
        assert!(decision.reason.starts_with("email_verified is absent"), "{decision}");
        // A string "true" is not a verified address either.
        let decision =
            f.verifier.decide(&key.sign(&with(claims(), "email_verified", json!("true"))), "app_rw");
        assert!(!decision.allowed, "{decision}");
    }

    #[test]
    fn a_group_with_trailing_whitespace_does_not_pass_for_the_real_one() {
        let key = SigningKey::es256("k1");
        let f = fixture(&[&key]);
        let decision = f.verifier.decide(&key.sign(&with(claims(), "groups", json!(["dba "]))), "app_rw");
        assert_eq!(
            decision.to_string(),
            "denied alice@example.com as app_rw: groups [\"dba \"] are not allowed for app_rw (allowed: dba, backend)"
        );
    }

    #[test]
    fn a_one_megabyte_token_is_refused_before_any_key_is_fetched() {
        let key = SigningKey::es256("k1");
        let f = fixture(&[&key]);
        let huge = format!("{}.{}.{}", "e".repeat(1 << 20), "e", "e");
        let decision = f.verifier.decide(&huge, "app_rw");
        assert_eq!(
            decision.to_string(),
            "denied (unverified token) as app_rw: the password is not a JWT: it is longer than 16384 bytes"
        );
        assert_eq!(f.source.fetches.get(), 0);
    }

    #[test]
    fn a_legacy_configuration_still_verifies_and_every_decision_says_what_it_skips() {
        let key = SigningKey::es256("k1");
        let f = fixture_with(&[&key], "");
        let bare = without(without(without(claims(), "amr"), "azp"), "client_id");
        let decision = f.verifier.decide(&key.sign_typed(&bare, None), "app_rw");
        assert!(decision.allowed, "{decision}");
        assert_eq!(decision.warnings.len(), 1, "{:?}", decision.warnings);
        let warning = &decision.warnings[0];
        assert!(warning.starts_with("legacy configuration "), "{warning}");
        for what in ["amr", "azp", "lifetime", "email_verified"] {
            assert!(warning.contains(what), "{what}: {warning}");
        }
    }

    #[test]
    fn a_valid_es256_token_with_a_mapped_group_is_allowed() {
        let key = SigningKey::es256("k1");
        let f = fixture(&[&key]);
        let decision = f.verifier.decide(&key.sign(&claims()), "app_rw");
        assert_eq!(
            decision.to_string(),
            "allowed alice@example.com as app_rw: group dba is allowed for app_rw"
        );
        // Next logins are served from the cache file.
        assert!(f.verifier.decide(&key.sign(&claims()), "app_rw").allowed);
        assert_eq!(f.source.fetches.get(), 1);
    }

    #[test]
    fn a_valid_rs256_token_is_allowed() {
        let key = SigningKey::rs256("rsa1");
        let f = fixture(&[&key]);
        let decision = f.verifier.decide(&key.sign(&claims()), "app_rw");
        assert!(decision.allowed, "{decision}");
    }

    #[test]
    fn a_group_that_does_not_map_is_denied_with_the_identity() {
        let key = SigningKey::es256("k1");
        let f = fixture(&[&key]);
        let decision = f.verifier.decide(&key.sign(&with(claims(), "groups", json!(["dev"]))), "app_rw");
        assert_eq!(
            decision.to_string(),
            "denied alice@example.com as app_rw: groups [dev] are not allowed for app_rw (allowed: dba, backend)"
        );
    }

    #[test]
    fn wrong_issuer_and_wrong_audience_are_denied() {
        let key = SigningKey::es256("k1");
        let f = fixture(&[&key]);
        let decision =
            f.verifier.decide(&key.sign(&with(claims(), "iss", json!("https://evil.test"))), "app_rw");
        assert!(!decision.allowed);
        assert!(
            decision
                .reason
                .contains("token issuer https://evil.test is not the configured issuer https://idp.test"),
            "{decision}"
        );
        assert_eq!(decision.identity.as_deref(), Some("alice@example.com"));

        let decision =
            f.verifier.decide(&key.sign(&with(claims(), "aud", json!(["billing", "crm"]))), "app_rw");
        assert!(
            decision
                .reason
                .contains("token audience [billing, crm] does not include the configured audience postgres"),
            "{decision}"
        );
        let decision = f.verifier.decide(&key.sign(&with(claims(), "aud", Value::Null)), "app_rw");
        assert!(!decision.allowed, "{decision}");
    }

    #[test]
    fn expiry_is_checked_with_leeway() {
        let key = SigningKey::es256("k1");
        let f = fixture(&[&key]);
        let expired = with(claims(), "exp", json!(now() - 100));
        let decision = f.verifier.decide(&key.sign(&expired), "app_rw");
        assert!(!decision.allowed);
        assert!(decision.reason.starts_with("token expired at "), "{decision}");
        assert!(decision.reason.contains("leeway 30 s"), "{decision}");

        let just_expired = with(claims(), "exp", json!(now() - 10));
        assert!(f.verifier.decide(&key.sign(&just_expired), "app_rw").allowed, "within the leeway");
    }

    #[test]
    fn not_before_in_the_future_is_accepted_within_the_leeway_only() {
        let key = SigningKey::es256("k1");
        let f = fixture(&[&key]);
        let soon = with(with(claims(), "nbf", json!(now() + 20)), "iat", json!(now() + 20));
        assert!(f.verifier.decide(&key.sign(&soon), "app_rw").allowed);

        let later = with(claims(), "nbf", json!(now() + 120));
        let decision = f.verifier.decide(&key.sign(&later), "app_rw");
        assert!(!decision.allowed);
        assert!(decision.reason.contains("token not valid before"), "{decision}");
        assert!(decision.reason.contains("clock"), "{decision}");
    }

    /// The `token_claims` fuzz target's crash, through the whole verifier: a signed `nbf` past
    /// year 9999 is a refusal with a reason, not a panic inside PAM or a PostgreSQL backend.
    #[test]
    fn a_not_before_beyond_year_9999_is_denied_not_a_panic() {
        let key = SigningKey::es256("k1");
        let f = fixture(&[&key]);
        let decision =
            f.verifier.decide(&key.sign(&with(claims(), "nbf", json!(300_000_000_000_i64))), "app_rw");
        assert!(!decision.allowed);
        assert!(decision.reason.contains("not valid before unix time 300000000000"), "{decision}");
    }

    #[test]
    fn a_token_signed_by_another_key_with_a_known_kid_is_a_bad_signature() {
        let real = SigningKey::es256("k1");
        let forger = SigningKey::es256("k1");
        let f = fixture(&[&real]);
        let decision = f.verifier.decide(&forger.sign(&claims()), "app_rw");
        assert_eq!(
            decision.to_string(),
            "denied (unverified token) as app_rw: bad signature (key k1): the token was not signed by the IdP or was altered"
        );
    }

    #[test]
    fn alg_none_and_hmac_forgeries_are_denied() {
        use base64::Engine as _;
        let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let key = SigningKey::es256("k1");
        let f = fixture(&[&key]);

        let none = format!("{}.{}.", b64(&json!({"alg": "none", "kid": "k1"})), b64(&claims()));
        let decision = f.verifier.decide(&none, "app_rw");
        assert!(!decision.allowed);

        // HS256 "signed" with the IdP's public key as the HMAC secret.
        let public = key.jwk().to_string();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        let forged = jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(public.as_bytes()))
            .expect("hs256");
        let decision = f.verifier.decide(&forged, "app_rw");
        assert_eq!(
            decision.to_string(),
            "denied (unverified token) as app_rw: token algorithm HS256 is not allowed (allowed: ES256, RS256)"
        );
        assert_eq!(f.source.fetches.get(), 0, "refused before any key was fetched");
    }

    #[test]
    fn an_es256_header_on_an_rsa_key_is_refused() {
        let rsa = SigningKey::rs256("shared");
        let f = fixture(&[&rsa]);
        let ec = SigningKey::es256("shared");
        let decision = f.verifier.decide(&ec.sign(&claims()), "app_rw");
        assert!(decision.reason.contains("cannot verify a ES256 token"), "{decision}");
    }

    #[test]
    fn a_token_without_the_identity_claim_is_denied() {
        let key = SigningKey::es256("k1");
        let f = fixture(&[&key]);
        let decision = f.verifier.decide(&key.sign(&without(claims(), "email")), "app_rw");
        assert_eq!(decision.reason, "the token has no usable email claim");
    }

    #[test]
    fn an_unknown_kid_right_after_a_fetch_waits_for_the_rate_limit() {
        let old = SigningKey::es256("old");
        let f = fixture(&[&old]);
        assert!(f.verifier.decide(&old.sign(&claims()), "app_rw").allowed);
        let new = SigningKey::es256("new");
        let decision = f.verifier.decide(&new.sign(&claims()), "app_rw");
        assert!(decision.reason.contains("signing key new is not in the IdP's JWKS"), "{decision}");
        assert!(decision.reason.contains("limited to one per 30 s"), "{decision}");
        assert_eq!(f.source.fetches.get(), 1);
    }

    #[test]
    fn time_is_the_verifiers_clock_for_expiry_and_the_refetch_limit() {
        let (old, new) = (SigningKey::es256("old"), SigningKey::es256("new"));
        let f = fixture(&[&old, &new]);
        let clock = tapgate_clock::ManualClock::starting_now();
        let verifier = f.verifier.with_clock(clock.clone());
        // Fetch the keys, then let the IdP publish a key the cache does not have yet.
        assert!(verifier.decide(&old.sign(&claims()), "app_rw").allowed);
        let newest = SigningKey::es256("newest");
        let token = newest.sign(&claims());
        assert!(verifier.decide(&token, "app_rw").reason.contains("limited to one per 30 s"));

        clock.advance(std::time::Duration::from_secs(31));
        let decision = verifier.decide(&token, "app_rw");
        assert!(decision.reason.contains("signing key newest is not in the IdP's JWKS"), "{decision}");
        assert_eq!(f.source.fetches.get(), 2, "refetched once the limit had passed on the clock");

        // A 10-minute token, 10 minutes and 31 s later: past the 30 s leeway.
        clock.advance(std::time::Duration::from_secs(600));
        let decision = verifier.decide(&new.sign(&claims()), "app_rw");
        assert!(decision.reason.starts_with("token expired at "), "{decision}");
    }
}
