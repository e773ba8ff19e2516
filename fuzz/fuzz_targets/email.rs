#![no_main]
//! See `pstbot::fuzzing::email`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| pstbot::fuzzing::email(data));
