//! The C ABI entry points that take bytes or strings, fed the fuzzer's input (and slices
//! of it). Every call must return a status (never panic, never read out of bounds — the
//! target runs under AddressSanitizer), and out-params must stay untouched on failure.
#![no_main]

use fidex::ffi::*;
use libfuzzer_sys::fuzz_target;
use std::ptr::null_mut;

fuzz_target!(|data: &[u8]| {
    // Split the input into up to three parts at 0xff bytes, so multi-input calls get
    // independent texts.
    let mut parts = data.splitn(3, |b| *b == 0xff);
    let a = parts.next().unwrap_or(&[]);
    let b = parts.next().unwrap_or(&[]);
    let c = parts.next().unwrap_or(&[]);
    let (ap, al) = (a.as_ptr().cast::<std::ffi::c_char>(), a.len());
    let (bp, bl) = (b.as_ptr().cast::<std::ffi::c_char>(), b.len());
    let (cp, cl) = (c.as_ptr().cast::<std::ffi::c_char>(), c.len());
    // SAFETY: every (pointer, length) pair describes a live slice of the fuzzer's input;
    // every out-pointer points at a local.
    unsafe {
        let mut key = null_mut();
        if fidex_key_import_text(ap, al, &mut key) == FIDEX_OK {
            assert!(!key.is_null());
            fidex_key_free(key);
        } else {
            assert!(key.is_null(), "out_key written on failure");
        }
        let _ = fidex_consent_validate(ap, al, FIDEX_CLOCK_FIXED, 1_750_000_000);
        let mut id = fidex_facial_id { bytes: [0xaa; 16] };
        if fidex_facial_id_parse(ap, al, &mut id) != FIDEX_OK {
            assert_eq!(id.bytes, [0xaa; 16], "out_id written on failure");
        }
        let mut kind = 0xdead_beef;
        if fidex_receipt_verify(ap, al, bp, bl, &mut kind) != FIDEX_OK {
            assert_eq!(kind, 0xdead_beef, "out_kind written on failure");
        }
        let _ = fidex_verify_consistency(ap, al, bp, bl, cp, cl, bp, bl);
        // A path that does not exist (or is not a vault): read_header must fail cleanly.
        let mut out = null_mut();
        let st = fidex_vault_read_header(ap, al, &mut out);
        if st == FIDEX_OK {
            fidex_bytes_free(out);
        }
        let mut text = null_mut();
        let _ = fidex_status_message(u32::from_le_bytes([a.first().copied().unwrap_or(0), 4, 0, 0]));
        let _ = fidex_last_error(&mut kind, &mut text);
        fidex_bytes_free(text);
    }
});
