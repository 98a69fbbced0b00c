//! Fuzz target: arbitrary claims (as JSON text and as structured values) through the verifier's
//! claim checks, one input in 16 also validly signed and checked the whole way.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tapgate_fuzz::token_claims(data));
