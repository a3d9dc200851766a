#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dukcapil_fuzz::multipart(data));
