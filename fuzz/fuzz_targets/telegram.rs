#![no_main]
//! See `pstbot::fuzzing::telegram`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| pstbot::fuzzing::telegram(data));
