//! The fixture vault with one file replaced, opened with a wrong key (must fail), and with
//! the replaced file sealed under the wrong key, opened with the right one (must fail).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fidex_fuzz::run_open_wrong_key(data);
});
