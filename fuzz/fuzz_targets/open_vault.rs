//! Opens the fixture vault with one file replaced (raw bytes, an authenticated body the
//! fuzzer chose, or the file removed) with the right key: must be an error or a vault
//! whose searches and reads work and that survives commit + reopen. See src/lib.rs.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fidex_fuzz::run_open(data);
});
