#![no_main]
//! See `pstbot::fuzzing::engine`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| pstbot::fuzzing::engine(data));
