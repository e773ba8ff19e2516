#![no_main]
//! See `pstbot::fuzzing::whatsapp`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| pstbot::fuzzing::whatsapp(data));
