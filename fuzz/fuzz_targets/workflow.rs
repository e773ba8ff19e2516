#![no_main]
//! See `pstbot::fuzzing::workflow`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| pstbot::fuzzing::workflow(data));
