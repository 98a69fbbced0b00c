//! Fuzz target: Arbitrary claims, validly signed by a fixed key, through the verifier's claim checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tapgate_fuzz::token_claims(data));
