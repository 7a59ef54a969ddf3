//! The C ABI entry points that take bytes or strings, fed the fuzzer's input (and slices
//! of it). Every call must return a status (never panic, never read out of bounds — the
//! target runs under AddressSanitizer), out-params must stay untouched on failure, and the
//! per-call error object must agree with the status (NULL on success; on failure the same
//! code and a message that is one C string).
#![no_main]

use fidex::ffi::*;
use libfuzzer_sys::fuzz_target;
use std::ffi::CStr;
use std::ptr::null_mut;

/// Checks the error object a call stored against its status, then frees it.
///
/// # Safety
/// `e` is what a fidex call stored in its `out_error`.
unsafe fn check(st: fidex_status, e: *mut fidex_error) {
    if st == FIDEX_OK {
        assert!(e.is_null(), "an error object after success");
    } else {
        assert!(!e.is_null(), "no error object after failure {st}");
        // SAFETY: a live error object from fidex.
        unsafe {
            assert_eq!(fidex_error_code(e), st);
            let m = CStr::from_ptr(fidex_error_message(e));
            assert!(!m.to_bytes().is_empty());
            std::str::from_utf8(m.to_bytes()).expect("messages are UTF-8");
            fidex_error_free(e);
        }
    }
}

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
        let mut e = null_mut();
        let mut key = null_mut();
        let st = fidex_key_import_text(ap, al, &mut key, &mut e);
        check(st, e);
        if st == FIDEX_OK {
            assert!(!key.is_null());
            fidex_key_free(key);
        } else {
            assert!(key.is_null(), "out_key written on failure");
        }
        let mut covered = null_mut();
        let st = fidex_consent_validate(ap, al, bp, bl, FIDEX_CLOCK_FIXED, 1_750_000_000, &mut covered, &mut e);
        check(st, e);
        if st == FIDEX_OK {
            fidex_bytes_free(covered);
        } else {
            assert!(covered.is_null(), "out_covered_json written on failure");
        }
        let mut id = fidex_facial_id { bytes: [0xaa; 16] };
        let st = fidex_facial_id_parse(ap, al, &mut id, &mut e);
        check(st, e);
        if st != FIDEX_OK {
            assert_eq!(id.bytes, [0xaa; 16], "out_id written on failure");
        }
        let mut kind = 0xdead_beef;
        let st = fidex_receipt_verify(ap, al, bp, bl, &mut kind, &mut e);
        check(st, e);
        if st != FIDEX_OK {
            assert_eq!(kind, 0xdead_beef, "out_kind written on failure");
        }
        let st = fidex_verify_consistency(ap, al, bp, bl, cp, cl, bp, bl, &mut e);
        check(st, e);
        let mut report = null_mut();
        let st = fidex_receipt_monitor(ap, al, bp, bl, cp, cl, &mut report, &mut e);
        check(st, e);
        if st == FIDEX_OK {
            fidex_bytes_free(report);
        } else {
            assert!(report.is_null(), "out_report_json written on failure");
        }
        // A path that does not exist (or is not a vault): read_header must fail cleanly.
        let mut out = null_mut();
        let st = fidex_vault_read_header(ap, al, &mut out, &mut e);
        check(st, e);
        if st == FIDEX_OK {
            fidex_bytes_free(out);
        }
        let _ = fidex_status_message(u32::from_le_bytes([a.first().copied().unwrap_or(0), 4, 0, 0]));
    }
});
