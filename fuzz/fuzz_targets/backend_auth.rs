//! Fuzz target: A server's stream through the upstream authentication exchange (cleartext, SASL OAUTHBEARER, refusals).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tapgate_fuzz::backend_auth(data));
