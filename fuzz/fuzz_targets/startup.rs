//! Fuzz target: A client's first packets (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tapgate_fuzz::startup(data));
