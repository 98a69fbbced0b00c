//! Fuzz target: Bytes on the PAM verifier's stdin through the JWT header, signature and claim checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tapgate_fuzz::token(data));
