#![no_main]
//! See `pstbot::fuzzing::sms`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| pstbot::fuzzing::sms(data));
