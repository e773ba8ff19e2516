#![no_main]
//! See `pstbot::fuzzing::dialog`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| pstbot::fuzzing::dialog(data));
