//! Fuzz target: A JWK Set document or JWKS cache file through key selection and verification.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tapgate_fuzz::jwks(data));
