//! The C ABI called directly from Rust, as a C program would: every function, every bad
//! input (NULL for each pointer, zero and huge lengths, NaN/Inf, wrong dimension, invalid
//! UTF-8, invalid enum values), out-params untouched on failure, close/use-after-close,
//! and concurrency through the ABI.
//!
//! Tests named `pure_*` touch neither the filesystem nor heavy crypto; `ffi/miri.sh` runs
//! exactly those under Miri.

mod common;

use fidex::ffi::*;
use std::ffi::{c_char, CStr};
use std::ptr::{null, null_mut};

// ---------------------------------------------------------------------------------------
// Helpers.

fn s(x: &str) -> (*const c_char, usize) {
    (x.as_ptr().cast(), x.len())
}

/// Reads and frees a fidex_bytes.
fn take(b: *mut fidex_bytes) -> String {
    assert!(!b.is_null());
    // SAFETY (test): `b` came from a successful fidex call and is freed once here.
    unsafe {
        let len = fidex_bytes_len(b);
        let data = std::slice::from_raw_parts(fidex_bytes_data(b), len).to_vec();
        assert_eq!(*fidex_bytes_data(b).add(len), 0, "fidex_bytes must be NUL-terminated");
        assert_eq!(fidex_bytes_cstr(b).cast::<u8>(), fidex_bytes_data(b));
        fidex_bytes_free(b);
        String::from_utf8(data).expect("text result is UTF-8")
    }
}

/// This thread's error slot: every fallible call in this file passes `err()` as its
/// `out_error`, and [`expect`] reads what that call stored there.
struct ErrSlot(std::cell::UnsafeCell<*mut fidex_error>);
impl Drop for ErrSlot {
    fn drop(&mut self) {
        // SAFETY (test): the slot holds NULL or an error object fidex returned.
        unsafe { fidex_error_free(*self.0.get()) }
    }
}
thread_local! {
    static ERR: ErrSlot = const { ErrSlot(std::cell::UnsafeCell::new(std::ptr::null_mut())) };
}

/// The `out_error` argument for the next call: frees whatever an earlier call left in this
/// thread's slot, then sets it to a sentinel that the call must overwrite (with NULL on
/// success, an error object on failure).
fn err() -> *mut *mut fidex_error {
    ERR.with(|e| {
        let p = e.0.get();
        // SAFETY (test): the slot holds NULL, the sentinel, or an error object from fidex.
        unsafe {
            if *p != sentinel::<fidex_error>() {
                fidex_error_free(*p);
            }
            *p = sentinel();
        }
        p
    })
}

/// Takes the error object the last call stored in this thread's slot: `(code, message,
/// item)`, or `None` if the call stored NULL (success).
fn take_error() -> Option<(fidex_status, String, i64)> {
    ERR.with(|e| {
        // SAFETY (test): reads and frees what fidex stored in the slot.
        unsafe {
            let p = *e.0.get();
            assert_ne!(p, sentinel::<fidex_error>(), "the call did not write its out_error");
            *e.0.get() = null_mut();
            if p.is_null() {
                return None;
            }
            let out = (fidex_error_code(p), CStr::from_ptr(fidex_error_message(p)).to_str().expect("UTF-8").to_owned(), fidex_error_item(p));
            fidex_error_free(p);
            Some(out)
        }
    })
}

/// Asserts `status == want` and that the call's own error object agrees: NULL on success;
/// on failure an object with the same code and a non-empty message.
#[track_caller]
fn expect(status: fidex_status, want: fidex_status) {
    let e = take_error();
    assert_eq!(status, want, "got {status} ({:?}), wanted {want}; error object: {e:?}", msg(status));
    match e {
        None => assert_eq!(want, FIDEX_OK, "a failed call stored no error object"),
        Some((code, m, _)) => {
            assert_eq!(code, want);
            assert!(!m.is_empty());
        }
    }
}

fn msg(code: fidex_status) -> String {
    unsafe { CStr::from_ptr(fidex_status_message(code)) }.to_string_lossy().into_owned()
}

/// A pointer value that fidex must never write over on failure.
fn sentinel<T>() -> *mut T {
    0x5a5a_5a50usize as *mut T
}

const T0: i64 = common::T0;

/// A vault pointer shared with test threads.
struct P(*mut fidex_vault);
// SAFETY (test): fidex_vault is internally synchronized and outlives the threads.
unsafe impl Send for P {}
unsafe impl Sync for P {}
impl P {
    fn get(&self) -> *mut fidex_vault {
        self.0
    }
}

fn consent_json(subject: &str, purposes: &[&str]) -> String {
    fidex::ConsentReceipt::explicit(subject, "Acme Corp", "https://acme.example/privacy", purposes, T0 - 10).unwrap().to_json()
}

fn new_key() -> *mut fidex_key {
    let mut k = null_mut();
    expect(unsafe { fidex_key_generate(&mut k, err()) }, FIDEX_OK);
    k
}

/// An open vault in a temp dir, with its clock fixed at T0. Freed on drop.
struct TestVault {
    v: *mut fidex_vault,
    key: *mut fidex_key,
    dir: tempfile::TempDir,
}

impl TestVault {
    fn new(dim: usize) -> TestVault {
        Self::with_config(&format!("{{\"dimension\": {dim}}}"))
    }

    fn with_config(config: &str) -> TestVault {
        let dir = tempfile::tempdir().unwrap();
        let key = new_key();
        let path = dir.path().join("vault").to_str().unwrap().to_string();
        let mut v = null_mut();
        let (p, pl) = s(&path);
        let (c, cl) = s(config);
        expect(unsafe { fidex_vault_create(p, pl, key, c, cl, &mut v, err()) }, FIDEX_OK);
        expect(unsafe { fidex_test_vault_set_clock(v, FIDEX_CLOCK_FIXED, T0, err()) }, FIDEX_OK);
        TestVault { v, key, dir }
    }

    fn path(&self) -> String {
        self.dir.path().join("vault").to_str().unwrap().to_string()
    }

    fn enroll(&self, t: &[f32], subject: &str) -> (fidex_facial_id, ()) {
        let c = consent_json(subject, &["authentication", "identification"]);
        let mut id = fidex_facial_id::default();
        expect(
            unsafe { fidex_vault_enroll(self.v, t.as_ptr(), t.len(), c.as_ptr().cast(), c.len(), b"p".as_ptr(), 1, &mut id, err()) },
            FIDEX_OK,
        );
        (id, ())
    }

    fn enrollment_receipt(&self, id: &fidex_facial_id) -> Result<String, fidex_status> {
        let mut r = sentinel();
        let st = unsafe { fidex_vault_enrollment_receipt(self.v, id, &mut r, err()) };
        if st == FIDEX_OK {
            Ok(take(r))
        } else {
            assert_eq!(r, sentinel(), "out-param written on failure");
            Err(st)
        }
    }

    fn vk(&self) -> String {
        let mut b = null_mut();
        expect(unsafe { fidex_vault_verification_key(self.v, &mut b, err()) }, FIDEX_OK);
        take(b)
    }

    fn identify(&self, probe: &[f32], k: usize) -> Result<Vec<fidex_match>, fidex_status> {
        let mut out = vec![fidex_match::default(); k];
        let mut n = 0usize;
        let (p, pl) = s("identification");
        let st = unsafe {
            fidex_vault_identify(self.v, probe.as_ptr(), probe.len(), k, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0, p, pl, FIDEX_PAYLOADS_NONE, out.as_mut_ptr(), k, &mut n, null_mut(), err())
        };
        if st != FIDEX_OK {
            return Err(st);
        }
        out.truncate(n);
        Ok(out)
    }
}

impl Drop for TestVault {
    fn drop(&mut self) {
        unsafe {
            fidex_vault_free(self.v);
            fidex_key_free(self.key);
        }
    }
}

fn verify_receipt(receipt: &str, vk: &str) -> Result<fidex_receipt_kind, fidex_status> {
    let mut kind = 0;
    let st = unsafe { fidex_receipt_verify(receipt.as_ptr().cast(), receipt.len(), vk.as_ptr().cast(), vk.len(), &mut kind, err()) };
    if st == FIDEX_OK {
        Ok(kind)
    } else {
        Err(st)
    }
}

fn faces(dim: usize, seed: u64) -> common::Faces {
    common::Faces::new(dim, seed)
}

/// RFC 8032 test vector 1 public key: a valid Ed25519 point for key-text tests.
const RFC8032_PK: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

// ---------------------------------------------------------------------------------------
// Pure tests (no filesystem, no heavy crypto): also run under Miri.

#[test]
fn pure_version_macros_match_cargo() {
    let major: u32 = env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap();
    let minor: u32 = env!("CARGO_PKG_VERSION_MINOR").parse().unwrap();
    let patch: u32 = env!("CARGO_PKG_VERSION_PATCH").parse().unwrap();
    assert_eq!((FIDEX_VERSION_MAJOR, FIDEX_VERSION_MINOR, FIDEX_VERSION_PATCH), (major, minor, patch));
    assert_eq!(FIDEX_VERSION_NUMBER, major * 1_000_000 + minor * 1000 + patch);
    let v = unsafe { CStr::from_ptr(fidex_version()) }.to_str().unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
    assert_eq!(v, format!("{major}.{minor}.{patch}"));
}

#[test]
fn pure_status_codes_match_core_and_are_unique() {
    use fidex::Error as E;
    let id = fidex::FacialId::from_bytes([0; 16]);
    let pairs = [
        (E::InvalidArgument(String::new()), FIDEX_INVALID_ARGUMENT),
        (E::DimensionMismatch { expected: 1, got: 2 }, FIDEX_DIMENSION_MISMATCH),
        (E::NonFiniteValue { index: 0 }, FIDEX_NON_FINITE_VALUE),
        (E::ZeroVector, FIDEX_ZERO_VECTOR),
        (E::NoConsent, FIDEX_NO_CONSENT),
        (E::ConsentExpired { expired_at: 0 }, FIDEX_CONSENT_EXPIRED),
        (E::PurposeNotCovered { purpose: String::new(), consented: Box::default() }, FIDEX_PURPOSE_NOT_COVERED),
        (E::Duplicate { existing: id, score: 1.0 }, FIDEX_DUPLICATE),
        (E::NotFound, FIDEX_NOT_FOUND),
        (E::WrongKey, FIDEX_WRONG_KEY),
        (E::Corrupt(String::new()), FIDEX_CORRUPT),
        (E::Io { kind: std::io::ErrorKind::Other, message: String::new() }, FIDEX_IO),
        (E::QuotaExceeded { quota: 1 }, FIDEX_QUOTA_EXCEEDED),
        (E::PayloadTooLarge { len: 1, max: 0 }, FIDEX_PAYLOAD_TOO_LARGE),
        (E::InvalidConsent(String::new()), FIDEX_INVALID_CONSENT),
        (E::InvalidKeyText(String::new()), FIDEX_INVALID_KEY_TEXT),
        (E::InvalidConfig(String::new()), FIDEX_INVALID_CONFIG),
        (E::AlreadyExists(String::new()), FIDEX_ALREADY_EXISTS),
        (E::UnsupportedVersion { found: 2, supported: 1 }, FIDEX_UNSUPPORTED_VERSION),
        (E::Locked, FIDEX_LOCKED),
        (E::VerificationFailed(String::new()), FIDEX_VERIFICATION_FAILED),
        (E::NotAVault(String::new()), FIDEX_NOT_A_VAULT),
        (E::InvalidJson(String::new()), FIDEX_INVALID_JSON),
        (E::Closed, FIDEX_CLOSED),
        (E::UnknownPurpose(String::new()), FIDEX_UNKNOWN_PURPOSE),
        (E::NotCommitted(String::new()), FIDEX_NOT_COMMITTED),
        (E::ForkedChild { owner_pid: 1 }, FIDEX_LOCKED),
        (E::DuplicateInBatch { other: 0, score: 1.0 }, FIDEX_DUPLICATE),
        (E::BatchItem { index: 3, error: Box::new(E::NoConsent) }, FIDEX_NO_CONSENT),
    ];
    for (e, c) in &pairs {
        assert_eq!(e.code(), *c, "{e:?}");
    }
    let all = fidex::ffi::all_status_codes();
    let mut sorted = all.to_vec();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), all.len(), "a status code is listed twice");
    // Every core code of this build is covered by a C constant.
    for code in 1000..1100 {
        if fidex::Error::describe_code(code) != "unknown status code" {
            assert!(all.contains(&code), "core code {code} has no FIDEX_ constant");
        }
    }
    // ABI-only codes live at 1100 and above, never colliding with a core error's code.
    for c in [FIDEX_NULL_PARAMETER, FIDEX_PANIC, FIDEX_INVALID_UTF8, FIDEX_INVALID_ENUM, FIDEX_BUFFER_TOO_LARGE, FIDEX_BUFFER_TOO_SMALL, FIDEX_MISALIGNED_POINTER] {
        assert!(c >= 1100);
        assert!(pairs.iter().all(|(_, core)| *core != c));
    }
}

#[test]
fn pure_status_message_for_every_code() {
    for code in fidex::ffi::all_status_codes() {
        let m = msg(code);
        assert!(!m.is_empty(), "empty message for {code}");
        assert_ne!(m, "unknown status code", "code {code} has no message");
    }
    assert_eq!(msg(FIDEX_OK), "ok");
    assert_eq!(msg(FIDEX_CLOSED), fidex::Error::describe_code(1024));
    for unknown in [1, 999, 1029, 1099, 1107, 5000, u32::MAX] {
        assert_eq!(msg(unknown), "unknown status code");
    }
    // The text is the documented one from the status table (not an echo of a second call).
    for row in fidex::STATUS_TABLE {
        assert_eq!(msg(row.code), row.description, "{}", row.name);
    }
}

#[cfg(feature = "test-hooks")]
#[test]
fn pure_panic_becomes_status_with_message() {
    assert_eq!(fidex::ffi::__panic_boundary_selftest(err()), FIDEX_PANIC);
    let (code, m, item) = take_error().expect("an error object");
    assert_eq!((code, item), (FIDEX_PANIC, -1));
    assert!(m.contains("panic boundary self-test"), "{m}");
}

#[test]
fn pure_error_object_belongs_to_its_call() {
    let mut k = sentinel();
    let (t, l) = s("not a key");
    assert_eq!(unsafe { fidex_key_import_text(t, l, &mut k, err()) }, FIDEX_INVALID_KEY_TEXT);
    assert_eq!(k, sentinel(), "out-param written on failure");
    let (code, m, item) = take_error().expect("an error object");
    assert_eq!((code, item), (FIDEX_INVALID_KEY_TEXT, -1));
    assert!(m.contains("fidex-key-1:"), "{m}");
    // A successful call stores NULL (the slot held a sentinel before the call).
    let mut key = null_mut();
    assert_eq!(unsafe { fidex_key_generate(&mut key, err()) }, FIDEX_OK);
    assert!(take_error().is_none());
    unsafe { fidex_key_free(key) };
    // NULL out_error: the status alone, nothing stored anywhere.
    assert_eq!(unsafe { fidex_key_import_text(t, l, &mut k, null_mut()) }, FIDEX_INVALID_KEY_TEXT);
    // A misaligned out_error is not written (the status still tells).
    let mut buf = [0u8; 24];
    let misaligned = buf.as_mut_ptr().wrapping_add(1).cast::<*mut fidex_error>();
    assert_eq!(unsafe { fidex_key_import_text(t, l, &mut k, misaligned) }, FIDEX_INVALID_KEY_TEXT);
    assert_eq!(buf, [0u8; 24]);
    // The accessors accept NULL.
    unsafe {
        assert_eq!(fidex_error_code(null()), FIDEX_OK);
        assert_eq!(CStr::from_ptr(fidex_error_message(null())).to_bytes(), b"");
        assert_eq!(fidex_error_item(null()), -1);
        fidex_error_free(null_mut());
    }
}

#[test]
fn pure_constants_json_matches_the_header() {
    let json: serde_json::Value =
        serde_json::from_str(unsafe { CStr::from_ptr(fidex_constants_json()) }.to_str().unwrap()).unwrap();
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    // Every `#define FIDEX_...` of the committed header, with its value, and nothing else.
    let header = include_str!("../include/fidex_cdef.h");
    let mut defines = std::collections::BTreeMap::new();
    for line in header.lines().filter_map(|l| l.strip_prefix("#define ")) {
        let mut it = line.split_whitespace();
        defines.insert(it.next().unwrap().to_string(), it.next().unwrap().parse::<u64>().unwrap());
    }
    let constants = json["constants"].as_object().unwrap();
    let listed: std::collections::BTreeMap<String, u64> = constants.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect();
    assert_eq!(listed, defines);
    // Every status row: code equal to its constant, a family, the static message.
    let status = json["status"].as_array().unwrap();
    assert_eq!(status.len(), fidex::ffi::all_status_codes().len());
    let families = ["ok", "invalid_input", "consent", "purpose_not_covered", "duplicate", "not_found", "wrong_key", "corrupt", "io", "quota", "already_exists", "locked", "verification_failed", "closed", "not_committed", "internal"];
    for row in status {
        let name = row["name"].as_str().unwrap();
        let code = row["code"].as_u64().unwrap();
        assert_eq!(defines[name], code, "{name}");
        assert!(families.contains(&row["family"].as_str().unwrap()), "{row}");
        assert_eq!(row["message"].as_str().unwrap(), msg(code as u32));
    }
    // Static storage: the text is still intact and unchanged after being read once.
    let again = unsafe { CStr::from_ptr(fidex_constants_json()) }.to_str().unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(again).unwrap(), json);
}

#[test]
fn pure_free_functions_accept_null() {
    unsafe {
        fidex_bytes_free(null_mut());
        fidex_key_free(null_mut());
        fidex_vault_free(null_mut());
        fidex_error_free(null_mut());
        assert!(fidex_bytes_data(null()).is_null());
        assert!(fidex_bytes_cstr(null()).is_null());
        assert_eq!(fidex_bytes_len(null()), 0);
    }
}

#[test]
fn pure_key_round_trip_and_bad_inputs() {
    let key = new_key();
    unsafe {
        let mut t = null_mut();
        expect(fidex_key_export_text(key, &mut t, err()), FIDEX_OK);
        let text = take(t);
        assert!(text.starts_with("fidex-key-1:"));
        let mut back = null_mut();
        expect(fidex_key_import_text(text.as_ptr().cast(), text.len(), &mut back, err()), FIDEX_OK);
        let fp = |k| {
            let mut f = null_mut();
            expect(fidex_key_fingerprint(k, &mut f, err()), FIDEX_OK);
            take(f)
        };
        assert_eq!(fp(key), fp(back));
        assert_eq!(fp(key).len(), 16);

        // Raw bytes.
        let mut raw = [0u8; 40];
        expect(fidex_key_expose_secret(key, raw.as_mut_ptr(), 31, err()), FIDEX_BUFFER_TOO_SMALL);
        assert_eq!(raw, [0u8; 40], "written on failure");
        expect(fidex_key_expose_secret(key, raw.as_mut_ptr(), 40, err()), FIDEX_OK);
        assert_eq!(raw[32..], [0u8; 8]);
        let mut from = null_mut();
        expect(fidex_key_from_bytes(raw.as_ptr(), 32, &mut from, err()), FIDEX_OK);
        assert_eq!(fp(from), fp(key));
        let mut k2 = sentinel();
        expect(fidex_key_from_bytes(raw.as_ptr(), 31, &mut k2, err()), FIDEX_INVALID_ARGUMENT);
        expect(fidex_key_from_bytes(raw.as_ptr(), 0, &mut k2, err()), FIDEX_INVALID_ARGUMENT);
        expect(fidex_key_from_bytes(null(), 32, &mut k2, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_key_from_bytes(raw.as_ptr(), usize::MAX, &mut k2, err()), FIDEX_BUFFER_TOO_LARGE);
        expect(fidex_key_from_bytes(raw.as_ptr(), 32, null_mut(), err()), FIDEX_NULL_PARAMETER);
        assert_eq!(k2, sentinel());

        // NULL for each pointer.
        expect(fidex_key_generate(null_mut(), err()), FIDEX_NULL_PARAMETER);
        expect(fidex_key_export_text(null(), &mut t, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_key_export_text(key, null_mut(), err()), FIDEX_NULL_PARAMETER);
        expect(fidex_key_fingerprint(null(), &mut t, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_key_fingerprint(key, null_mut(), err()), FIDEX_NULL_PARAMETER);
        expect(fidex_key_expose_secret(null(), raw.as_mut_ptr(), 32, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_key_expose_secret(key, null_mut(), 32, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_key_expose_secret(key, null_mut(), 0, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_key_import_text(null(), 5, &mut k2, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_key_import_text(text.as_ptr().cast(), text.len(), null_mut(), err()), FIDEX_NULL_PARAMETER);
        // Zero length: empty text, reported by the core.
        expect(fidex_key_import_text(null(), 0, &mut k2, err()), FIDEX_INVALID_KEY_TEXT);
        // Huge length: refused unread.
        expect(fidex_key_import_text(text.as_ptr().cast(), usize::MAX, &mut k2, err()), FIDEX_BUFFER_TOO_LARGE);
        expect(fidex_key_import_text(text.as_ptr().cast(), FIDEX_MAX_INPUT_BYTES + 1, &mut k2, err()), FIDEX_BUFFER_TOO_LARGE);
        // Invalid UTF-8.
        let bad = b"fidex-key-1:\xff\xfe";
        expect(fidex_key_import_text(bad.as_ptr().cast(), bad.len(), &mut k2, err()), FIDEX_INVALID_UTF8);
        // A typo.
        let mut typo = text.clone().into_bytes();
        typo[20] = if typo[20] == b'0' { b'1' } else { b'0' };
        expect(fidex_key_import_text(typo.as_ptr().cast(), typo.len(), &mut k2, err()), FIDEX_INVALID_KEY_TEXT);
        assert_eq!(k2, sentinel(), "out_key written on failure");

        fidex_key_free(back);
        fidex_key_free(from);
        fidex_key_free(key);
    }
}

#[test]
fn pure_facial_id_text() {
    let id = fidex_facial_id { bytes: [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x47, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00] };
    let mut buf = [0x7f as c_char; 40];
    unsafe {
        expect(fidex_facial_id_to_text(&id, buf.as_mut_ptr(), 36, err()), FIDEX_BUFFER_TOO_SMALL);
        assert!(buf.iter().all(|&c| c == 0x7f), "written on failure");
        expect(fidex_facial_id_to_text(&id, buf.as_mut_ptr(), 37, err()), FIDEX_OK);
        let text = CStr::from_ptr(buf.as_ptr()).to_str().unwrap().to_string();
        assert_eq!(text, "11223344-5566-4788-99aa-bbccddeeff00");
        assert_eq!(text.len(), FIDEX_FACIAL_ID_TEXT_LEN);
        assert_eq!(buf[37], 0x7f, "wrote past the NUL");
        let mut back = fidex_facial_id::default();
        let (t, l) = s(&text);
        expect(fidex_facial_id_parse(t, l, &mut back, err()), FIDEX_OK);
        assert_eq!(back, id);
        let upper = text.to_uppercase();
        expect(fidex_facial_id_parse(upper.as_ptr().cast(), upper.len(), &mut back, err()), FIDEX_OK);
        assert_eq!(back, id);

        let mut untouched = fidex_facial_id { bytes: [9; 16] };
        let (t, l) = s("not-a-uuid");
        expect(fidex_facial_id_parse(t, l, &mut untouched, err()), FIDEX_INVALID_ARGUMENT);
        expect(fidex_facial_id_parse(null(), 0, &mut untouched, err()), FIDEX_INVALID_ARGUMENT);
        expect(fidex_facial_id_parse(null(), 36, &mut untouched, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_facial_id_parse(t, usize::MAX, &mut untouched, err()), FIDEX_BUFFER_TOO_LARGE);
        expect(fidex_facial_id_parse(b"\xc3\x28".as_ptr().cast(), 2, &mut untouched, err()), FIDEX_INVALID_UTF8);
        expect(fidex_facial_id_parse(t, l, null_mut(), err()), FIDEX_NULL_PARAMETER);
        assert_eq!(untouched.bytes, [9; 16]);
        expect(fidex_facial_id_to_text(null(), buf.as_mut_ptr(), 40, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_facial_id_to_text(&id, null_mut(), 40, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_facial_id_to_text(&id, null_mut(), 0, err()), FIDEX_NULL_PARAMETER);
    }
}

#[test]
fn pure_consent_helpers() {
    let purposes = r#"["authentication"]"#;
    let (sub, subl) = s("user-1");
    let (ctl, ctll) = s("Acme");
    let (url, urll) = s("https://acme.example/privacy");
    let (pj, pjl) = s(purposes);
    unsafe {
        let mut out = null_mut();
        expect(fidex_consent_explicit_json(sub, subl, ctl, ctll, url, urll, pj, pjl, T0 - 10, &mut out, err()), FIDEX_OK);
        let json = take(out);
        let c = fidex::ConsentReceipt::from_json(&json).unwrap();
        assert!(c.covers("authentication") && !c.covers("identification"));
        let (j, jl) = s(&json);
        let (vp, vpl) = s(r#"["authentication", "identification"]"#);
        let mut covered = null_mut();
        expect(fidex_consent_validate(j, jl, vp, vpl, FIDEX_CLOCK_FIXED, T0, &mut covered, err()), FIDEX_OK);
        assert_eq!(take(covered), r#"["authentication"]"#);
        expect(fidex_consent_validate(j, jl, vp, vpl, FIDEX_CLOCK_DEFAULT, 0, &mut covered, err()), FIDEX_OK);
        take(covered);
        let mut untouched_cov = sentinel();
        // A vault serving only identification would refuse this receipt.
        let (only_id, only_idl) = s(r#"["identification"]"#);
        expect(fidex_consent_validate(j, jl, only_id, only_idl, FIDEX_CLOCK_FIXED, T0, &mut untouched_cov, err()), FIDEX_PURPOSE_NOT_COVERED);
        expect(fidex_consent_validate(j, jl, vp, vpl, 2, T0, &mut untouched_cov, err()), FIDEX_INVALID_ENUM);
        expect(fidex_consent_validate(j, jl, vp, vpl, u32::MAX, T0, &mut untouched_cov, err()), FIDEX_INVALID_ENUM);
        // Consent given "in the future" relative to the fixed clock.
        expect(fidex_consent_validate(j, jl, vp, vpl, FIDEX_CLOCK_FIXED, T0 - 100_000, &mut untouched_cov, err()), FIDEX_INVALID_CONSENT);
        expect(fidex_consent_validate(null(), 0, vp, vpl, FIDEX_CLOCK_DEFAULT, 0, &mut untouched_cov, err()), FIDEX_NO_CONSENT);
        expect(fidex_consent_validate(null(), 3, vp, vpl, FIDEX_CLOCK_DEFAULT, 0, &mut untouched_cov, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_consent_validate(j, usize::MAX, vp, vpl, FIDEX_CLOCK_DEFAULT, 0, &mut untouched_cov, err()), FIDEX_BUFFER_TOO_LARGE);
        // The out-parameter is checked before anything is read.
        expect(fidex_consent_validate(j, usize::MAX, vp, vpl, FIDEX_CLOCK_DEFAULT, 0, null_mut(), err()), FIDEX_NULL_PARAMETER);
        expect(fidex_consent_validate(b"{\"a\":\"\xff\"}".as_ptr().cast(), 9, vp, vpl, FIDEX_CLOCK_DEFAULT, 0, &mut untouched_cov, err()), FIDEX_INVALID_UTF8);
        let (bad, badl) = s("{not json");
        expect(fidex_consent_validate(bad, badl, vp, vpl, FIDEX_CLOCK_DEFAULT, 0, &mut untouched_cov, err()), FIDEX_INVALID_CONSENT);
        let (notlist, notlistl) = s("authentication");
        expect(fidex_consent_validate(j, jl, notlist, notlistl, FIDEX_CLOCK_DEFAULT, 0, &mut untouched_cov, err()), FIDEX_INVALID_JSON);
        assert_eq!(untouched_cov, sentinel());

        let mut untouched = sentinel();
        let (np, npl) = s(r#"{"purposes": 1}"#);
        expect(fidex_consent_explicit_json(sub, subl, ctl, ctll, url, urll, np, npl, T0, &mut untouched, err()), FIDEX_INVALID_JSON);
        expect(fidex_consent_explicit_json(null(), 1, ctl, ctll, url, urll, pj, pjl, T0, &mut untouched, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_consent_explicit_json(sub, subl, null(), 1, url, urll, pj, pjl, T0, &mut untouched, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_consent_explicit_json(sub, subl, ctl, ctll, null(), 1, pj, pjl, T0, &mut untouched, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_consent_explicit_json(sub, subl, ctl, ctll, url, urll, null(), 1, T0, &mut untouched, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_consent_explicit_json(sub, subl, ctl, ctll, url, urll, pj, pjl, T0, null_mut(), err()), FIDEX_NULL_PARAMETER);
        expect(fidex_consent_explicit_json(b"\xff".as_ptr().cast(), 1, ctl, ctll, url, urll, pj, pjl, T0, &mut untouched, err()), FIDEX_INVALID_UTF8);
        assert_eq!(untouched, sentinel());
    }
}

#[test]
fn pure_receipt_verification_rejects_bad_input() {
    let vk = format!("fidex-vk-1:{}:{}", "00".repeat(16), RFC8032_PK);
    let (v, vl) = s(&vk);
    unsafe {
        let mut kind = 77;
        let (r, rl) = s(r#"{"type": "fidex-deletion-receipt"}"#);
        expect(fidex_receipt_verify(r, rl, v, vl, &mut kind, err()), FIDEX_VERIFICATION_FAILED);
        expect(fidex_receipt_verify(null(), 0, v, vl, &mut kind, err()), FIDEX_VERIFICATION_FAILED);
        let (bk, bkl) = s("fidex-vk-1:nothex");
        expect(fidex_receipt_verify(r, rl, bk, bkl, &mut kind, err()), FIDEX_INVALID_KEY_TEXT);
        expect(fidex_receipt_verify(null(), 4, v, vl, &mut kind, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_receipt_verify(r, rl, null(), 4, &mut kind, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_receipt_verify(r, rl, v, vl, null_mut(), err()), FIDEX_NULL_PARAMETER);
        expect(fidex_receipt_verify(r, usize::MAX, v, vl, &mut kind, err()), FIDEX_BUFFER_TOO_LARGE);
        expect(fidex_receipt_verify(b"\xff\xff".as_ptr().cast(), 2, v, vl, &mut kind, err()), FIDEX_INVALID_UTF8);
        expect(fidex_receipt_verify(r, rl, b"\xff".as_ptr().cast(), 1, &mut kind, err()), FIDEX_INVALID_UTF8);
        assert_eq!(kind, 77);

        let (h, hl) = s("{}");
        let (p, pl) = s("[]");
        expect(fidex_verify_consistency(h, hl, h, hl, p, pl, v, vl, err()), FIDEX_INVALID_JSON);
        expect(fidex_verify_consistency(h, hl, h, hl, p, pl, bk, bkl, err()), FIDEX_INVALID_KEY_TEXT);
        expect(fidex_verify_consistency(null(), 2, h, hl, p, pl, v, vl, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_verify_consistency(h, hl, null(), 2, p, pl, v, vl, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_verify_consistency(h, hl, h, hl, null(), 2, v, vl, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_verify_consistency(h, hl, h, hl, p, pl, null(), 2, err()), FIDEX_NULL_PARAMETER);
    }
}

/// Every function taking a vault rejects a NULL vault before touching anything else.
#[test]
fn pure_null_vault_is_rejected_everywhere() {
    let id = fidex_facial_id::default();
    let t = [1.0f32; 4];
    let (p, pl) = s("identification");
    let mut b = sentinel::<fidex_bytes>();
    let mut n = 0usize;
    let mut u = 0u64;
    let mut flag = false;
    let mut m = [fidex_match::default(); 2];
    let mut counts = [0usize; 2];
    let mut ver = fidex_verification::default();
    let mut fid = fidex_facial_id::default();
    let mut ids = [fidex_facial_id::default(); 2];
    let offsets = [0usize, 1];
    let k = new_key();
    let nv: *const fidex_vault = null();
    unsafe {
        let statuses = [
            fidex_vault_close(nv, err()),
            fidex_vault_commit(nv, &mut b, err()),
            fidex_vault_compact(nv, &mut b, err()),
            fidex_test_vault_set_clock(nv, FIDEX_CLOCK_DEFAULT, 0, err()),
            fidex_vault_config(nv, &mut b, err()),
            fidex_vault_header(nv, &mut b, err()),
            fidex_vault_id(nv, &mut b, err()),
            fidex_vault_verification_key(nv, &mut b, err()),
            fidex_vault_previous_verification_keys(nv, &mut b, err()),
            fidex_vault_key_fingerprint(nv, &mut b, err()),
            fidex_vault_len(nv, &mut u, err()),
            fidex_vault_contains(nv, &id, &mut flag, err()),
            fidex_vault_facial_ids(nv, null(), ids.as_mut_ptr(), ids.len(), &mut n, err()),
            fidex_vault_uncommitted(nv, &mut u, err()),
            fidex_vault_check_consent(nv, p, pl, &mut b, err()),
            fidex_vault_enroll_many(nv, t.as_ptr(), 4, p, pl, offsets.as_ptr(), 2, null(), 0, null(), 0, &mut fid, 1, err()),
            fidex_vault_consent(nv, &id, &mut b, err()),
            fidex_vault_payload(nv, &id, &mut b, err()),
            fidex_vault_enroll(nv, t.as_ptr(), 4, p, pl, null(), 0, &mut fid, err()),
            fidex_vault_enrollment_receipt(nv, &id, &mut b, err()),
            fidex_vault_delete(nv, &id, FIDEX_DELETION_ADMIN, &mut b, err()),
            fidex_vault_delete_many(nv, &id, 1, FIDEX_DELETION_ADMIN, &mut b, err()),
            fidex_vault_withdraw_consent(nv, &id, &mut b, err()),
            fidex_vault_purge_expired(nv, FIDEX_CLOCK_DEFAULT, 0, &mut b, err()),
            fidex_vault_stats(nv, &mut b, err()),
            fidex_vault_audit_entries(nv, 0, FIDEX_AUDIT_END, &mut b, err()),
            fidex_vault_export_subject(nv, &id, FIDEX_EXPORT_WITHOUT_TEMPLATE, &mut b, err()),
            fidex_vault_processing_record(nv, &mut b, err()),
            fidex_vault_rotate_key(nv, k, err()),
            fidex_vault_tree_head(nv, &mut b, err()),
            fidex_vault_consistency_proof(nv, 0, 1, &mut b, err()),
            fidex_vault_pending_removals(nv, &mut b, err()),
            fidex_vault_check(nv, err()),
            fidex_vault_identify(nv, t.as_ptr(), 4, 1, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0, p, pl, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), 2, &mut n, null_mut(), err()),
            fidex_vault_identify_batch(nv, t.as_ptr(), 4, 1, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0, p, pl, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), 2, counts.as_mut_ptr(), 2, null_mut(), err()),
            fidex_vault_verify(nv, &id, t.as_ptr(), 4, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0, p, pl, &mut ver, err()),
        ];
        for (i, st) in statuses.iter().enumerate() {
            assert_eq!(*st, FIDEX_NULL_PARAMETER, "function #{i}");
        }
        // And the path-taking constructors reject NULL paths / keys / outs.
        let mut v = sentinel::<fidex_vault>();
        let (c, cl) = s(r#"{"dimension": 4}"#);
        expect(fidex_vault_create(null(), 3, k, c, cl, &mut v, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_vault_create(p, pl, null(), c, cl, &mut v, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_vault_create(p, pl, k, null(), 3, &mut v, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_vault_create(p, pl, k, c, cl, null_mut(), err()), FIDEX_NULL_PARAMETER);
        expect(fidex_vault_create(p, usize::MAX, k, c, cl, &mut v, err()), FIDEX_BUFFER_TOO_LARGE);
        expect(fidex_vault_create(b"\xff/x".as_ptr().cast(), 3, k, c, cl, &mut v, err()), FIDEX_INVALID_UTF8);
        expect(fidex_vault_create(null(), 0, k, c, cl, &mut v, err()), FIDEX_INVALID_ARGUMENT);
        expect(fidex_vault_open(null(), 3, k, &mut v, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_vault_open(p, pl, null(), &mut v, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_vault_open(p, pl, k, null_mut(), err()), FIDEX_NULL_PARAMETER);
        expect(fidex_vault_open(b"\xfe".as_ptr().cast(), 1, k, &mut v, err()), FIDEX_INVALID_UTF8);
        expect(fidex_vault_open(null(), 0, k, &mut v, err()), FIDEX_INVALID_ARGUMENT);
        expect(fidex_vault_read_header(null(), 3, &mut b, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_vault_read_header(p, pl, null_mut(), err()), FIDEX_NULL_PARAMETER);
        expect(fidex_vault_read_header(b"\xfe".as_ptr().cast(), 1, &mut b, err()), FIDEX_INVALID_UTF8);
        assert_eq!(v, sentinel());
        assert_eq!(b, sentinel());
        fidex_key_free(k);
    }
}

// ---------------------------------------------------------------------------------------
// Vault tests (filesystem).

#[test]
fn login_flow_through_the_abi() {
    let tv = TestVault::new(32);
    let mut f = faces(32, 7);
    let alice = f.identity();
    let bob = f.identity();
    let (a_id, _) = tv.enroll(&f.capture(&alice), "alice");
    let (b_id, _) = tv.enroll(&f.capture(&bob), "bob");
    let vk = tv.vk();
    // Enrollment receipts sign committed state only.
    assert_eq!(tv.enrollment_receipt(&a_id), Err(FIDEX_NOT_COMMITTED));
    let mut info = null_mut();
    expect(unsafe { fidex_vault_commit(tv.v, &mut info, err()) }, FIDEX_OK);
    let a_receipt = tv.enrollment_receipt(&a_id).unwrap();
    assert_eq!(verify_receipt(&a_receipt, &vk), Ok(FIDEX_RECEIPT_ENROLLMENT));
    assert_eq!(tv.enrollment_receipt(&fidex_facial_id { bytes: [7; 16] }), Err(FIDEX_NOT_FOUND));
    let info: serde_json::Value = serde_json::from_str(&take(info)).unwrap();
    assert!(info["generation"].as_u64().unwrap() >= 1);
    assert_eq!(info["purged"], serde_json::json!([]));

    // Identify.
    let hits = tv.identify(&f.capture(&alice), 2).unwrap();
    assert_eq!(hits[0].facial_id, a_id);
    assert!(hits.iter().all(|h| h.facial_id != b_id || h.score < hits[0].score));

    // Verify.
    let mut ver = fidex_verification::default();
    let probe = f.capture(&alice);
    let (p, pl) = s("authentication");
    unsafe {
        expect(fidex_vault_verify(tv.v, &a_id, probe.as_ptr(), probe.len(), FIDEX_THRESHOLD_VAULT_DEFAULT, f32::NAN, p, pl, &mut ver, err()), FIDEX_OK);
        assert!(ver.matched && ver.score > 0.5 && ver.threshold == 0.5, "{ver:?}");
        expect(fidex_vault_verify(tv.v, &b_id, probe.as_ptr(), probe.len(), FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0, p, pl, &mut ver, err()), FIDEX_OK);
        assert!(!ver.matched);
        expect(fidex_vault_verify(tv.v, &a_id, probe.as_ptr(), probe.len(), FIDEX_THRESHOLD_EXPLICIT, 0.999, p, pl, &mut ver, err()), FIDEX_OK);
        assert!(!ver.matched && ver.threshold == 0.999);
    }

    // Payload, consent, contains, ids, len.
    unsafe {
        let mut b = null_mut();
        expect(fidex_vault_payload(tv.v, &a_id, &mut b, err()), FIDEX_OK);
        assert_eq!(take(b), "p");
        expect(fidex_vault_consent(tv.v, &a_id, &mut b, err()), FIDEX_OK);
        assert!(take(b).contains("\"piiPrincipalId\": \"alice\""));
        let mut yes = false;
        expect(fidex_vault_contains(tv.v, &a_id, &mut yes, err()), FIDEX_OK);
        assert!(yes);
        let mut n = 0u64;
        expect(fidex_vault_len(tv.v, &mut n, err()), FIDEX_OK);
        assert_eq!(n, 2);
        let mut page = [fidex_facial_id::default(); 4];
        let mut count = 99usize;
        expect(fidex_vault_facial_ids(tv.v, null(), page.as_mut_ptr(), 4, &mut count, err()), FIDEX_OK);
        assert_eq!(count, 2);
        let mut want = [a_id, b_id];
        want.sort_by_key(|i| i.bytes);
        assert_eq!(&page[..2], &want[..], "ascending byte order");
    }

    // Delete with receipt; verify; tamper.
    let mut r = null_mut();
    expect(unsafe { fidex_vault_delete(tv.v, &a_id, FIDEX_DELETION_SUBJECT_REQUEST, &mut r, err()) }, FIDEX_OK);
    let receipt = take(r);
    assert_eq!(verify_receipt(&receipt, &vk), Ok(FIDEX_RECEIPT_DELETION));
    assert_eq!(verify_receipt(&format!("{receipt}\n"), &vk), Ok(FIDEX_RECEIPT_DELETION));
    let tampered = receipt.replacen("subject_request", "admin", 1);
    assert_ne!(tampered, receipt);
    assert_eq!(verify_receipt(&tampered, &vk), Err(FIDEX_VERIFICATION_FAILED));
    let other = TestVault::new(4);
    assert_eq!(verify_receipt(&receipt, &other.vk()), Err(FIDEX_VERIFICATION_FAILED));
    // Deleted: not found any more.
    let mut r2 = sentinel();
    expect(unsafe { fidex_vault_delete(tv.v, &a_id, FIDEX_DELETION_SUBJECT_REQUEST, &mut r2, err()) }, FIDEX_NOT_FOUND);
    assert_eq!(r2, sentinel());
    assert!(tv.identify(&f.capture(&alice), 2).unwrap().iter().all(|h| h.facial_id != a_id));

    // Close, double close, use after close, free after close.
    expect(unsafe { fidex_vault_close(tv.v, err()) }, FIDEX_OK);
    expect(unsafe { fidex_vault_close(tv.v, err()) }, FIDEX_CLOSED);
    assert_eq!(tv.identify(&f.capture(&bob), 1), Err(FIDEX_CLOSED));
    let mut n = 7u64;
    expect(unsafe { fidex_vault_len(tv.v, &mut n, err()) }, FIDEX_CLOSED);
    assert_eq!(n, 7);
    assert_eq!(unsafe { fidex_vault_len(tv.v, &mut n, err()) }, FIDEX_CLOSED);
    assert!(take_error().unwrap().1.contains("closed"));

    // Reopen: bob is still there, alice is gone (the lock was released by close).
    let mut v2 = null_mut();
    let path = tv.path();
    expect(unsafe { fidex_vault_open(path.as_ptr().cast(), path.len(), tv.key, &mut v2, err()) }, FIDEX_OK);
    let mut n = 0u64;
    expect(unsafe { fidex_vault_len(v2, &mut n, err()) }, FIDEX_OK);
    assert_eq!(n, 1);
    unsafe { fidex_vault_free(v2) };
}

#[test]
fn null_for_each_pointer_of_vault_functions_and_outputs_untouched() {
    let tv = TestVault::new(8);
    let mut f = faces(8, 1);
    let t = f.identity();
    let (id, _) = tv.enroll(&t, "s");
    let v = tv.v;
    let (p, pl) = s("identification");
    let c = consent_json("x", &["identification"]);
    let (cj, cjl) = (c.as_ptr().cast::<c_char>(), c.len());
    let mut b = sentinel::<fidex_bytes>();
    let mut fid = fidex_facial_id { bytes: [3; 16] };
    let mut m = [fidex_match { facial_id: fidex_facial_id { bytes: [4; 16] }, score: -7.0, payload_len: 9, payload_offset: 9 }; 4];
    let mut n = 99usize;
    let mut counts = [99usize; 2];
    let mut ver = fidex_verification { score: -1.0, threshold: -1.0, matched: true };
    unsafe {
        let checks: Vec<(&str, fidex_status)> = vec![
            ("commit out", fidex_vault_commit(v, null_mut(), err())),
            ("compact out", fidex_vault_compact(v, null_mut(), err())),
            ("config out", fidex_vault_config(v, null_mut(), err())),
            ("header out", fidex_vault_header(v, null_mut(), err())),
            ("id out", fidex_vault_id(v, null_mut(), err())),
            ("vk out", fidex_vault_verification_key(v, null_mut(), err())),
            ("prev vk out", fidex_vault_previous_verification_keys(v, null_mut(), err())),
            ("fingerprint out", fidex_vault_key_fingerprint(v, null_mut(), err())),
            ("len out", fidex_vault_len(v, null_mut(), err())),
            ("contains id", fidex_vault_contains(v, null(), &mut false, err())),
            ("contains out", fidex_vault_contains(v, &id, null_mut(), err())),
            ("ids out", fidex_vault_facial_ids(v, null(), null_mut(), 4, &mut n, err())),
            ("ids count", fidex_vault_facial_ids(v, null(), &mut fid, 1, null_mut(), err())),
            ("uncommitted out", fidex_vault_uncommitted(v, null_mut(), err())),
            ("check consent out", fidex_vault_check_consent(v, cj, cjl, null_mut(), err())),
            ("check consent in", fidex_vault_check_consent(v, null(), 3, &mut b, err())),
            ("enroll_many out", fidex_vault_enroll_many(v, t.as_ptr(), 8, cj, cjl, [0, cjl].as_ptr(), 2, null(), 0, null(), 0, null_mut(), 1, err())),
            ("enroll_many templates", fidex_vault_enroll_many(v, null(), 8, cj, cjl, [0, cjl].as_ptr(), 2, null(), 0, null(), 0, &mut fid, 1, err())),
            ("enroll_many consents", fidex_vault_enroll_many(v, t.as_ptr(), 8, null(), cjl, [0, cjl].as_ptr(), 2, null(), 0, null(), 0, &mut fid, 1, err())),
            ("enroll_many offsets", fidex_vault_enroll_many(v, t.as_ptr(), 8, cj, cjl, null(), 2, null(), 0, null(), 0, &mut fid, 1, err())),
            ("enroll_many payload offsets", fidex_vault_enroll_many(v, t.as_ptr(), 8, cj, cjl, [0, cjl].as_ptr(), 2, null(), 0, null(), 2, &mut fid, 1, err())),
            ("identify payloads out", fidex_vault_identify(v, t.as_ptr(), 8, 1, 0, 0.0, p, pl, FIDEX_PAYLOADS_INCLUDE, m.as_mut_ptr(), 4, &mut n, null_mut(), err())),
            ("batch payloads out", fidex_vault_identify_batch(v, t.as_ptr(), 8, 1, 0, 0.0, p, pl, FIDEX_PAYLOADS_INCLUDE, m.as_mut_ptr(), 4, counts.as_mut_ptr(), 2, null_mut(), err())),
            ("consent id", fidex_vault_consent(v, null(), &mut b, err())),
            ("consent out", fidex_vault_consent(v, &id, null_mut(), err())),
            ("payload id", fidex_vault_payload(v, null(), &mut b, err())),
            ("payload out", fidex_vault_payload(v, &id, null_mut(), err())),
            ("enroll template", fidex_vault_enroll(v, null(), 8, cj, cjl, null(), 0, &mut fid, err())),
            ("enroll consent", fidex_vault_enroll(v, t.as_ptr(), 8, null(), 5, null(), 0, &mut fid, err())),
            ("enroll payload", fidex_vault_enroll(v, t.as_ptr(), 8, cj, cjl, null(), 3, &mut fid, err())),
            ("enroll out_id", fidex_vault_enroll(v, t.as_ptr(), 8, cj, cjl, null(), 0, null_mut(), err())),
            ("enrollment receipt id", fidex_vault_enrollment_receipt(v, null(), &mut b, err())),
            ("enrollment receipt out", fidex_vault_enrollment_receipt(v, &fid, null_mut(), err())),
            ("delete id", fidex_vault_delete(v, null(), FIDEX_DELETION_ADMIN, &mut b, err())),
            ("delete out", fidex_vault_delete(v, &id, FIDEX_DELETION_ADMIN, null_mut(), err())),
            ("delete_many ids", fidex_vault_delete_many(v, null(), 1, FIDEX_DELETION_ADMIN, &mut b, err())),
            ("delete_many out", fidex_vault_delete_many(v, &id, 1, FIDEX_DELETION_ADMIN, null_mut(), err())),
            ("withdraw id", fidex_vault_withdraw_consent(v, null(), &mut b, err())),
            ("withdraw out", fidex_vault_withdraw_consent(v, &id, null_mut(), err())),
            ("purge out", fidex_vault_purge_expired(v, FIDEX_CLOCK_DEFAULT, 0, null_mut(), err())),
            ("stats out", fidex_vault_stats(v, null_mut(), err())),
            ("audit out", fidex_vault_audit_entries(v, 0, FIDEX_AUDIT_END, null_mut(), err())),
            ("export id", fidex_vault_export_subject(v, null(), 0, &mut b, err())),
            ("export out", fidex_vault_export_subject(v, &id, 0, null_mut(), err())),
            ("processing out", fidex_vault_processing_record(v, null_mut(), err())),
            ("rotate key", fidex_vault_rotate_key(v, null(), err())),
            ("tree head out", fidex_vault_tree_head(v, null_mut(), err())),
            ("consistency out", fidex_vault_consistency_proof(v, 0, 1, null_mut(), err())),
            ("pending out", fidex_vault_pending_removals(v, null_mut(), err())),
            ("identify probe", fidex_vault_identify(v, null(), 8, 1, 0, 0.0, p, pl, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), 4, &mut n, null_mut(), err())),
            ("identify purpose", fidex_vault_identify(v, t.as_ptr(), 8, 1, 0, 0.0, null(), 3, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), 4, &mut n, null_mut(), err())),
            ("identify matches", fidex_vault_identify(v, t.as_ptr(), 8, 1, 0, 0.0, p, pl, FIDEX_PAYLOADS_NONE, null_mut(), 4, &mut n, null_mut(), err())),
            ("identify matches cap 0", fidex_vault_identify(v, t.as_ptr(), 8, 1, 0, 0.0, p, pl, FIDEX_PAYLOADS_NONE, null_mut(), 0, &mut n, null_mut(), err())),
            ("identify count", fidex_vault_identify(v, t.as_ptr(), 8, 1, 0, 0.0, p, pl, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), 4, null_mut(), null_mut(), err())),
            ("batch probes", fidex_vault_identify_batch(v, null(), 8, 1, 0, 0.0, p, pl, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), 4, counts.as_mut_ptr(), 2, null_mut(), err())),
            ("batch purpose", fidex_vault_identify_batch(v, t.as_ptr(), 8, 1, 0, 0.0, null(), 2, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), 4, counts.as_mut_ptr(), 2, null_mut(), err())),
            ("batch matches", fidex_vault_identify_batch(v, t.as_ptr(), 8, 1, 0, 0.0, p, pl, FIDEX_PAYLOADS_NONE, null_mut(), 4, counts.as_mut_ptr(), 2, null_mut(), err())),
            ("batch counts", fidex_vault_identify_batch(v, t.as_ptr(), 8, 1, 0, 0.0, p, pl, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), 4, null_mut(), 2, null_mut(), err())),
            ("verify id", fidex_vault_verify(v, null(), t.as_ptr(), 8, 0, 0.0, p, pl, &mut ver, err())),
            ("verify probe", fidex_vault_verify(v, &id, null(), 8, 0, 0.0, p, pl, &mut ver, err())),
            ("verify purpose", fidex_vault_verify(v, &id, t.as_ptr(), 8, 0, 0.0, null(), 1, &mut ver, err())),
            ("verify out", fidex_vault_verify(v, &id, t.as_ptr(), 8, 0, 0.0, p, pl, null_mut(), err())),
        ];
        for (what, st) in checks {
            assert_eq!(st, FIDEX_NULL_PARAMETER, "{what}");
        }
        assert_eq!(b, sentinel(), "a fidex_bytes out-param was written on failure");
        assert_eq!(fid.bytes, [3; 16]);
        assert!(m.iter().all(|x| x.score == -7.0 && x.facial_id.bytes == [4; 16]));
        assert_eq!((n, counts), (99, [99, 99]));
        assert!(ver.matched && ver.score == -1.0);
        // Nothing happened: the template is still there, nothing new was enrolled.
        let mut len = 0;
        expect(fidex_vault_len(v, &mut len, err()), FIDEX_OK);
        assert_eq!(len, 1);
        // The call's own error names the NULL parameter.
        assert_eq!(fidex_vault_verify(v, &id, t.as_ptr(), 8, 0, 0.0, p, pl, null_mut(), err()), FIDEX_NULL_PARAMETER);
        assert!(take_error().unwrap().1.contains("out_result"));
        // A NULL out-parameter is reported before any input is read, even an oversized one.
        for (what, st) in [
            ("enroll", fidex_vault_enroll(v, t.as_ptr(), 8, cj, usize::MAX, null(), 0, null_mut(), err())),
            ("check consent", fidex_vault_check_consent(v, cj, usize::MAX, null_mut(), err())),
            ("verify", fidex_vault_verify(v, &id, t.as_ptr(), 8, 0, 0.0, p, usize::MAX, null_mut(), err())),
            ("identify", fidex_vault_identify(v, t.as_ptr(), 8, 1, 0, 0.0, p, usize::MAX, 0, m.as_mut_ptr(), 4, null_mut(), null_mut(), err())),
            ("receipt verify", fidex_receipt_verify(p, usize::MAX, p, pl, null_mut(), err())),
            ("key import", fidex_key_import_text(p, usize::MAX, null_mut(), err())),
            ("facial id parse", fidex_facial_id_parse(p, usize::MAX, null_mut(), err())),
        ] {
            assert_eq!(st, FIDEX_NULL_PARAMETER, "{what}");
        }
    }
}

#[test]
fn vector_errors_come_back_as_core_codes() {
    let tv = TestVault::new(4);
    let c = consent_json("s", &["identification"]);
    let (p, pl) = s("identification");
    let enroll = |t: *const f32, len: usize| {
        let mut id = fidex_facial_id { bytes: [1; 16] };
        let st = unsafe { fidex_vault_enroll(tv.v, t, len, c.as_ptr().cast(), c.len(), null(), 0, &mut id, err()) };
        assert_eq!(id.bytes, [1; 16]);
        st
    };
    expect(enroll([1.0, f32::NAN, 0.0, 0.0].as_ptr(), 4), FIDEX_NON_FINITE_VALUE);
    expect(enroll([1.0, 0.0, f32::INFINITY, 0.0].as_ptr(), 4), FIDEX_NON_FINITE_VALUE);
    expect(enroll([f32::NEG_INFINITY, 0.0, 0.0, 0.0].as_ptr(), 4), FIDEX_NON_FINITE_VALUE);
    expect(enroll([0.0; 4].as_ptr(), 4), FIDEX_ZERO_VECTOR);
    expect(enroll([1.0; 3].as_ptr(), 3), FIDEX_DIMENSION_MISMATCH);
    expect(enroll([1.0; 5].as_ptr(), 5), FIDEX_DIMENSION_MISMATCH);
    expect(enroll(null(), 0), FIDEX_DIMENSION_MISMATCH);
    // Far beyond any dimension: refused without reading the (4-element) buffer.
    expect(enroll([1.0; 4].as_ptr(), 1 << 40), FIDEX_DIMENSION_MISMATCH);
    expect(enroll([1.0; 4].as_ptr(), usize::MAX), FIDEX_DIMENSION_MISMATCH);
    expect(enroll(null(), usize::MAX), FIDEX_NULL_PARAMETER);
    // Misaligned float pointer.
    let raw = [0u8; 32];
    let mis = unsafe { raw.as_ptr().add(1) }.cast::<f32>();
    let mis = if (mis as usize).is_multiple_of(4) { unsafe { raw.as_ptr().add(2) }.cast::<f32>() } else { mis };
    expect(enroll(mis, 4), FIDEX_MISALIGNED_POINTER);

    // Empty consent, payload too large.
    let t = [1.0f32, 0.0, 0.0, 0.0];
    let mut id = fidex_facial_id::default();
    unsafe {
        expect(fidex_vault_enroll(tv.v, t.as_ptr(), 4, null(), 0, null(), 0, &mut id, err()), FIDEX_NO_CONSENT);
        let big = vec![0u8; FIDEX_MAX_PAYLOAD_BYTES + 1];
        expect(fidex_vault_enroll(tv.v, t.as_ptr(), 4, c.as_ptr().cast(), c.len(), big.as_ptr(), big.len(), &mut id, err()), FIDEX_PAYLOAD_TOO_LARGE);
        expect(fidex_vault_enroll(tv.v, t.as_ptr(), 4, c.as_ptr().cast(), c.len(), big.as_ptr(), usize::MAX, &mut id, err()), FIDEX_BUFFER_TOO_LARGE);
        let c_auth = consent_json("s", &["marketing"]);
        expect(fidex_vault_enroll(tv.v, t.as_ptr(), 4, c_auth.as_ptr().cast(), c_auth.len(), null(), 0, &mut id, err()), FIDEX_PURPOSE_NOT_COVERED);
        expect(fidex_vault_enroll(tv.v, t.as_ptr(), 4, c.as_ptr().cast(), c.len(), null(), 0, &mut id, err()), FIDEX_OK);
        // Duplicate.
        expect(fidex_vault_enroll(tv.v, t.as_ptr(), 4, c.as_ptr().cast(), c.len(), null(), 0, &mut id, err()), FIDEX_DUPLICATE);
    }

    // Probes.
    let mut m = [fidex_match::default(); 3];
    let mut n = 42usize;
    let ident = |probe: *const f32, len: usize, k: usize, mode: u32, thr: f32, m: &mut [fidex_match], n: &mut usize| unsafe {
        fidex_vault_identify(tv.v, probe, len, k, mode, thr, p, pl, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), m.len(), n, null_mut(), err())
    };
    expect(ident([f32::NAN, 0.0, 0.0, 0.0].as_ptr(), 4, 1, 0, 0.0, &mut m, &mut n), FIDEX_NON_FINITE_VALUE);
    expect(ident([0.0; 4].as_ptr(), 4, 1, 0, 0.0, &mut m, &mut n), FIDEX_ZERO_VECTOR);
    expect(ident([1.0; 2].as_ptr(), 2, 1, 0, 0.0, &mut m, &mut n), FIDEX_DIMENSION_MISMATCH);
    expect(ident(t.as_ptr(), usize::MAX, 1, 0, 0.0, &mut m, &mut n), FIDEX_DIMENSION_MISMATCH);
    expect(ident(t.as_ptr(), 4, 0, 0, 0.0, &mut m, &mut n), FIDEX_INVALID_ARGUMENT);
    expect(ident(t.as_ptr(), 4, FIDEX_MAX_K + 1, 0, 0.0, &mut m, &mut n), FIDEX_INVALID_ARGUMENT);
    expect(ident(t.as_ptr(), 4, 1, FIDEX_THRESHOLD_EXPLICIT, f32::NAN, &mut m, &mut n), FIDEX_INVALID_ARGUMENT);
    expect(ident(t.as_ptr(), 4, 1, FIDEX_THRESHOLD_EXPLICIT, f32::INFINITY, &mut m, &mut n), FIDEX_INVALID_ARGUMENT);
    expect(ident(t.as_ptr(), 4, 1, 2, 0.5, &mut m, &mut n), FIDEX_INVALID_ENUM);
    expect(ident(t.as_ptr(), 4, 1, u32::MAX, 0.5, &mut m, &mut n), FIDEX_INVALID_ENUM);
    expect(ident(t.as_ptr(), 4, 4, 0, 0.0, &mut m, &mut n), FIDEX_BUFFER_TOO_SMALL);
    assert_eq!(n, 42);
    // NaN is fine when the threshold is the vault default (it is ignored).
    expect(ident(t.as_ptr(), 4, 1, FIDEX_THRESHOLD_VAULT_DEFAULT, f32::NAN, &mut m, &mut n), FIDEX_OK);
    assert_eq!(n, 1);
    expect(ident(t.as_ptr(), 4, 3, FIDEX_THRESHOLD_EXPLICIT, 0.9999, &mut m, &mut n), FIDEX_OK);
    assert_eq!(n, 1);
    expect(ident([0.0, 1.0, 0.0, 0.0].as_ptr(), 4, 3, FIDEX_THRESHOLD_EXPLICIT, 0.5, &mut m, &mut n), FIDEX_OK);
    assert_eq!(n, 0);
    // Purpose errors, invalid UTF-8 purpose.
    unsafe {
        let (q, ql) = s("marketing");
        expect(fidex_vault_identify(tv.v, t.as_ptr(), 4, 1, 0, 0.0, q, ql, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), 3, &mut n, null_mut(), err()), FIDEX_UNKNOWN_PURPOSE);
        expect(fidex_vault_identify(tv.v, t.as_ptr(), 4, 1, 0, 0.0, b"\xff".as_ptr().cast(), 1, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), 3, &mut n, null_mut(), err()), FIDEX_INVALID_UTF8);
        expect(fidex_vault_identify(tv.v, t.as_ptr(), 4, 1, 0, 0.0, null(), 0, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), 3, &mut n, null_mut(), err()), FIDEX_UNKNOWN_PURPOSE);
        expect(fidex_vault_identify(tv.v, t.as_ptr(), 4, 1, 0, 0.0, p, usize::MAX, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), 3, &mut n, null_mut(), err()), FIDEX_BUFFER_TOO_LARGE);
    }
}

#[test]
fn identify_batch_layout_and_capacity() {
    let tv = TestVault::new(16);
    let mut f = faces(16, 3);
    let people: Vec<Vec<f32>> = (0..5).map(|_| f.identity()).collect();
    let ids: Vec<fidex_facial_id> = people.iter().enumerate().map(|(i, c)| tv.enroll(&f.capture(c), &format!("u{i}")).0).collect();
    let probes: Vec<f32> = [4usize, 0, 2].iter().flat_map(|&i| f.capture(&people[i])).collect();
    let k = 2;
    let (p, pl) = s("identification");
    let mut m = vec![fidex_match::default(); 3 * k];
    let mut counts = [0usize; 3];
    unsafe {
        expect(
            fidex_vault_identify_batch(tv.v, probes.as_ptr(), probes.len(), k, 0, 0.0, p, pl, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), m.len(), counts.as_mut_ptr(), 3, null_mut(), err()),
            FIDEX_OK,
        );
        for (row, &who) in [4usize, 0, 2].iter().enumerate() {
            assert!(counts[row] >= 1);
            assert_eq!(m[row * k].facial_id, ids[who]);
        }
        let mut small = [99usize; 2];
        expect(
            fidex_vault_identify_batch(tv.v, probes.as_ptr(), probes.len(), k, 0, 0.0, p, pl, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), m.len(), small.as_mut_ptr(), 2, null_mut(), err()),
            FIDEX_BUFFER_TOO_SMALL,
        );
        assert_eq!(small, [99, 99]);
        expect(
            fidex_vault_identify_batch(tv.v, probes.as_ptr(), probes.len(), k, 0, 0.0, p, pl, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), 5, counts.as_mut_ptr(), 3, null_mut(), err()),
            FIDEX_BUFFER_TOO_SMALL,
        );
        expect(
            fidex_vault_identify_batch(tv.v, probes.as_ptr(), probes.len() - 1, k, 0, 0.0, p, pl, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), m.len(), counts.as_mut_ptr(), 3, null_mut(), err()),
            FIDEX_DIMENSION_MISMATCH,
        );
        expect(fidex_vault_identify_batch(tv.v, null(), 0, k, 0, 0.0, p, pl, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), m.len(), counts.as_mut_ptr(), 3, null_mut(), err()), FIDEX_INVALID_ARGUMENT);
        expect(
            fidex_vault_identify_batch(tv.v, probes.as_ptr(), usize::MAX, k, 0, 0.0, p, pl, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), m.len(), counts.as_mut_ptr(), 3, null_mut(), err()),
            FIDEX_BUFFER_TOO_LARGE,
        );
        let mut nan = probes.clone();
        nan[20] = f32::NAN;
        expect(
            fidex_vault_identify_batch(tv.v, nan.as_ptr(), nan.len(), k, 0, 0.0, p, pl, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), m.len(), counts.as_mut_ptr(), 3, null_mut(), err()),
            FIDEX_NON_FINITE_VALUE,
        );
        expect(
            fidex_vault_identify_batch(tv.v, probes.as_ptr(), probes.len(), k, 9, 0.0, p, pl, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), m.len(), counts.as_mut_ptr(), 3, null_mut(), err()),
            FIDEX_INVALID_ENUM,
        );
    }
}

#[test]
fn config_json_is_validated_and_round_trips() {
    let key = new_key();
    let dir = tempfile::tempdir().unwrap();
    let create = |name: &str, cfg: &[u8]| {
        let path = dir.path().join(name).to_str().unwrap().to_string();
        let mut v = sentinel::<fidex_vault>();
        let st = unsafe { fidex_vault_create(path.as_ptr().cast(), path.len(), key, cfg.as_ptr().cast(), cfg.len(), &mut v, err()) };
        (st, v)
    };
    for (cfg, want) in [
        (&b"{"[..], FIDEX_INVALID_JSON),
        (b"", FIDEX_INVALID_JSON),
        (b"[1]", FIDEX_INVALID_CONFIG),
        (b"{}", FIDEX_INVALID_CONFIG),
        (b"{\"dimension\": 0}", FIDEX_INVALID_CONFIG),
        (b"{\"dimension\": 5000}", FIDEX_INVALID_CONFIG),
        (b"{\"dimension\": -1}", FIDEX_INVALID_CONFIG),
        (b"{\"dimension\": 8, \"metric\": \"manhattan\"}", FIDEX_INVALID_CONFIG),
        (b"{\"dimension\": 8, \"storage\": \"f64\"}", FIDEX_INVALID_CONFIG),
        (b"{\"dimension\": 8, \"colour\": \"blue\"}", FIDEX_INVALID_CONFIG),
        (b"{\"dimension\": 8, \"retention_secs\": 999999999}", FIDEX_INVALID_CONFIG),
        (b"{\"dimension\": 8, \"match_threshold\": 1e99}", FIDEX_INVALID_CONFIG),
        (b"{\"dimension\": 8, \"purposes\": []}", FIDEX_INVALID_CONFIG),
        (b"{\"dimension\": 8, \"metric\": \"l2\", \"match_threshold\": -1}", FIDEX_INVALID_CONFIG),
        (b"{\"dimension\": 8, \"metric\": \"\xff\"}", FIDEX_INVALID_UTF8),
        (b"{\"dimension\": 8, \"backend\": \"hnsw\"}", FIDEX_INVALID_CONFIG),
        (b"{\"dimension\": 8, \"ivf_nlist\": 16}", FIDEX_INVALID_CONFIG),
        (b"{\"dimension\": 8, \"backend\": \"flat\", \"ivf_sq8\": true}", FIDEX_INVALID_CONFIG),
        (b"{\"dimension\": 8, \"backend\": \"faiss_ivf\", \"ivf_nlist\": 0}", FIDEX_INVALID_CONFIG),
        (b"{\"dimension\": 8, \"backend\": \"faiss_ivf\", \"ivf_nlist\": 4, \"ivf_nprobe\": 5}", FIDEX_INVALID_CONFIG),
        (b"{\"dimension\": 8, \"backend\": \"faiss_ivf\", \"ivf_nlist\": \"many\"}", FIDEX_INVALID_CONFIG),
    ] {
        let (st, v) = create("bad", cfg);
        assert_eq!(st, want, "{}", String::from_utf8_lossy(cfg));
        assert_eq!(v, sentinel());
    }
    let cfg = r#"{"dimension": 8, "metric": "inner_product", "storage": "f16", "match_threshold": 0.25,
        "duplicate_threshold": null, "retention_secs": 86400, "max_templates": 2,
        "purposes": ["authentication", "payments"], "cancelable": true, "search_threads": 1, "auto_purge": false,
        "backend": "flat"}"#;
    let (st, v) = create("good", cfg.as_bytes());
    expect(st, FIDEX_OK);
    let mut b = null_mut();
    expect(unsafe { fidex_vault_config(v, &mut b, err()) }, FIDEX_OK);
    let back: serde_json::Value = serde_json::from_str(&take(b)).unwrap();
    let want: serde_json::Value = serde_json::from_str(cfg).unwrap();
    assert_eq!(back, want);
    expect(unsafe { fidex_vault_header(v, &mut b, err()) }, FIDEX_OK);
    let h: serde_json::Value = serde_json::from_str(&take(b)).unwrap();
    assert_eq!((h["dimension"].as_u64(), h["metric"].as_str(), h["storage"].as_str(), h["cancelable"].as_bool()), (Some(8), Some("inner_product"), Some("f16"), Some(true)));
    // The faiss IVF backend: its parameters round-trip where the library has feature
    // `faiss`; elsewhere it is refused as a configuration error.
    let ivf = r#"{"dimension": 8, "metric": "cosine", "storage": "int8", "match_threshold": 0.5,
        "duplicate_threshold": 0.9, "retention_secs": 86400, "max_templates": 100,
        "purposes": ["authentication"], "cancelable": false, "search_threads": 0, "auto_purge": true,
        "backend": "faiss_ivf", "ivf_nlist": 16, "ivf_nprobe": 4, "ivf_sq8": true}"#;
    let (st, v3) = create("ivf", ivf.as_bytes());
    if cfg!(feature = "faiss") {
        expect(st, FIDEX_OK);
        expect(unsafe { fidex_vault_config(v3, &mut b, err()) }, FIDEX_OK);
        let back: serde_json::Value = serde_json::from_str(&take(b)).unwrap();
        assert_eq!(back, serde_json::from_str::<serde_json::Value>(ivf).unwrap());
        unsafe { fidex_vault_free(v3) };
    } else {
        expect(st, FIDEX_INVALID_CONFIG);
        assert_eq!(v3, sentinel());
        // (expect() above consumed the error object; make the call again to read its message.)
        let (_, _) = create("ivf2", ivf.as_bytes());
        let e = take_error().unwrap();
        assert!(e.1.contains("feature `faiss`"), "{e:?}");
    }
    // Creating over an existing vault.
    let (st, v2) = create("good", b"{\"dimension\": 8}");
    assert_eq!(st, FIDEX_ALREADY_EXISTS);
    assert_eq!(v2, sentinel());
    unsafe {
        fidex_vault_free(v);
        fidex_key_free(key);
    }
}

#[test]
fn open_errors_and_header_without_key() {
    let tv = TestVault::new(4);
    let path = tv.path();
    let (p, pl) = s(&path);
    unsafe {
        let mut v = sentinel();
        // The handle holds the lock.
        expect(fidex_vault_open(p, pl, tv.key, &mut v, err()), FIDEX_LOCKED);
        let other = new_key();
        expect(fidex_vault_close(tv.v, err()), FIDEX_OK);
        expect(fidex_vault_open(p, pl, other, &mut v, err()), FIDEX_WRONG_KEY);
        let nowhere = tv.dir.path().join("nothing-here").to_str().unwrap().to_string();
        expect(fidex_vault_open(nowhere.as_ptr().cast(), nowhere.len(), tv.key, &mut v, err()), FIDEX_NOT_A_VAULT);
        assert_eq!(v, sentinel());
        let mut b = null_mut();
        expect(fidex_vault_read_header(p, pl, &mut b, err()), FIDEX_OK);
        let h: serde_json::Value = serde_json::from_str(&take(b)).unwrap();
        assert_eq!(h["dimension"], 4);
        assert_eq!(h["metric"], "cosine");
        assert_eq!(h["vault_id"].as_str().unwrap().len(), 32);
        let mut b = sentinel();
        expect(fidex_vault_read_header(nowhere.as_ptr().cast(), nowhere.len(), &mut b, err()), FIDEX_NOT_A_VAULT);
        assert_eq!(b, sentinel());
        fidex_key_free(other);
    }
}

#[test]
fn deletion_variants_audit_export_stats_rotation() {
    let tv = TestVault::new(8);
    let mut f = faces(8, 11);
    let ids: Vec<fidex_facial_id> = (0..5).map(|i| tv.enroll(&f.identity(), &format!("u{i}")).0).collect();
    let vk = tv.vk();
    let mut b = null_mut();
    unsafe {
        // Invalid reasons.
        for bad in [0, 5, u32::MAX] {
            let mut r = sentinel();
            expect(fidex_vault_delete(tv.v, &ids[0], bad, &mut r, err()), FIDEX_INVALID_ENUM);
            expect(fidex_vault_delete_many(tv.v, ids.as_ptr(), 2, bad, &mut r, err()), FIDEX_INVALID_ENUM);
            assert_eq!(r, sentinel());
        }
        // delete_many: duplicates → INVALID_ARGUMENT, all or nothing.
        let dup = [ids[0], ids[0]];
        expect(fidex_vault_delete_many(tv.v, dup.as_ptr(), 2, FIDEX_DELETION_ADMIN, &mut b, err()), FIDEX_INVALID_ARGUMENT);
        expect(fidex_vault_delete_many(tv.v, ids.as_ptr(), usize::MAX, FIDEX_DELETION_ADMIN, &mut b, err()), FIDEX_BUFFER_TOO_LARGE);
        expect(fidex_vault_delete_many(tv.v, ids.as_ptr(), 2, FIDEX_DELETION_ADMIN, &mut b, err()), FIDEX_OK);
        let rs: Vec<String> = serde_json::from_str(&take(b)).unwrap();
        assert_eq!(rs.len(), 2);
        for r in &rs {
            assert_eq!(verify_receipt(r, &vk), Ok(FIDEX_RECEIPT_DELETION));
        }
        // Withdraw.
        expect(fidex_vault_withdraw_consent(tv.v, &ids[2], &mut b, err()), FIDEX_OK);
        let r = take(b);
        assert!(r.contains("consent_withdrawn"));
        assert_eq!(verify_receipt(&r, &vk), Ok(FIDEX_RECEIPT_DELETION));
        expect(fidex_vault_withdraw_consent(tv.v, &ids[2], &mut b, err()), FIDEX_NOT_FOUND);

        // Export with and without template; invalid flag.
        expect(fidex_vault_export_subject(tv.v, &ids[3], 2, &mut b, err()), FIDEX_INVALID_ENUM);
        expect(fidex_vault_export_subject(tv.v, &ids[3], FIDEX_EXPORT_WITHOUT_TEMPLATE, &mut b, err()), FIDEX_OK);
        let e: serde_json::Value = serde_json::from_str(&take(b)).unwrap();
        assert!(e["template"].is_null());
        assert_eq!(e["payload_hex"], "70");
        expect(fidex_vault_export_subject(tv.v, &ids[3], FIDEX_EXPORT_WITH_TEMPLATE, &mut b, err()), FIDEX_OK);
        let e: serde_json::Value = serde_json::from_str(&take(b)).unwrap();
        assert_eq!(e["template"].as_array().unwrap().len(), 8);

        // Stats, audit, processing record, pending removals, check.
        expect(fidex_vault_stats(tv.v, &mut b, err()), FIDEX_OK);
        let st: serde_json::Value = serde_json::from_str(&take(b)).unwrap();
        assert_eq!(st["templates"], 2);
        assert_eq!(st["deletions_by_reason"]["admin"], 2);
        assert_eq!((st["backend"].as_str(), st["int8_scale"].is_null(), st["int8_calibrated_rows"].as_u64()), (Some("flat"), true, Some(0)));
        expect(fidex_vault_audit_entries(tv.v, 0, FIDEX_AUDIT_END, &mut b, err()), FIDEX_OK);
        let all: Vec<serde_json::Value> = serde_json::from_str(&take(b)).unwrap();
        assert!(all.len() > 10);
        expect(fidex_vault_audit_entries(tv.v, 1, 3, &mut b, err()), FIDEX_OK);
        let some: Vec<serde_json::Value> = serde_json::from_str(&take(b)).unwrap();
        assert_eq!(some.len(), 2);
        assert_eq!(some[0]["index"], 1);
        expect(fidex_vault_audit_entries(tv.v, 5, 3, &mut b, err()), FIDEX_INVALID_ARGUMENT);
        expect(fidex_vault_processing_record(tv.v, &mut b, err()), FIDEX_OK);
        let pr: serde_json::Value = serde_json::from_str(&take(b)).unwrap();
        assert_eq!(pr["security"]["verification_key"], vk.as_str());
        expect(fidex_vault_pending_removals(tv.v, &mut b, err()), FIDEX_OK);
        assert_eq!(take(b), "[]");
        expect(fidex_vault_commit(tv.v, &mut b, err()), FIDEX_OK);
        fidex_bytes_free(b);
        expect(fidex_vault_check(tv.v, err()), FIDEX_OK);
        expect(fidex_vault_compact(tv.v, &mut b, err()), FIDEX_OK);
        fidex_bytes_free(b);
        expect(fidex_vault_id(tv.v, &mut b, err()), FIDEX_OK);
        let vid = take(b);
        assert!(vk.contains(&vid));

        // Tree heads and consistency.
        expect(fidex_vault_tree_head(tv.v, &mut b, err()), FIDEX_OK);
        let h1 = take(b);
        let size1 = serde_json::from_str::<serde_json::Value>(&h1).unwrap()["log_size"].as_u64().unwrap();
        tv.enroll(&f.identity(), "late");
        // Tree heads cover committed state only.
        expect(fidex_vault_tree_head(tv.v, &mut b, err()), FIDEX_OK);
        let same = take(b);
        assert_eq!(serde_json::from_str::<serde_json::Value>(&same).unwrap()["log_size"].as_u64().unwrap(), size1);
        expect(fidex_vault_commit(tv.v, &mut b, err()), FIDEX_OK);
        fidex_bytes_free(b);
        expect(fidex_vault_tree_head(tv.v, &mut b, err()), FIDEX_OK);
        let h2 = take(b);
        let size2 = serde_json::from_str::<serde_json::Value>(&h2).unwrap()["log_size"].as_u64().unwrap();
        expect(fidex_vault_consistency_proof(tv.v, size1, size2, &mut b, err()), FIDEX_OK);
        let proof = take(b);
        let (a, al) = s(&h1);
        let (c, cl) = s(&h2);
        let (pp, ppl) = s(&proof);
        let (k, kl) = s(&vk);
        expect(fidex_verify_consistency(a, al, c, cl, pp, ppl, k, kl, err()), FIDEX_OK);
        expect(fidex_verify_consistency(c, cl, a, al, pp, ppl, k, kl, err()), FIDEX_VERIFICATION_FAILED);
        expect(fidex_vault_consistency_proof(tv.v, size2, size1, &mut b, err()), FIDEX_INVALID_ARGUMENT);

        // Key rotation: old receipts verify with the previous key.
        let new = new_key();
        expect(fidex_vault_rotate_key(tv.v, new, err()), FIDEX_OK);
        let vk2 = tv.vk();
        assert_ne!(vk2, vk);
        expect(fidex_vault_previous_verification_keys(tv.v, &mut b, err()), FIDEX_OK);
        let prev: Vec<String> = serde_json::from_str(&take(b)).unwrap();
        assert_eq!(prev, vec![vk.clone()]);
        assert_eq!(verify_receipt(&rs[0], &prev[0]), Ok(FIDEX_RECEIPT_DELETION));
        let fp = |key| {
            let mut o = null_mut();
            expect(fidex_key_fingerprint(key, &mut o, err()), FIDEX_OK);
            take(o)
        };
        expect(fidex_vault_key_fingerprint(tv.v, &mut b, err()), FIDEX_OK);
        assert_eq!(take(b), fp(new));
        expect(fidex_vault_close(tv.v, err()), FIDEX_OK);
        let path = tv.path();
        let mut v = sentinel();
        expect(fidex_vault_open(path.as_ptr().cast(), path.len(), tv.key, &mut v, err()), FIDEX_WRONG_KEY);
        expect(fidex_vault_open(path.as_ptr().cast(), path.len(), new, &mut v, err()), FIDEX_OK);
        fidex_vault_free(v);
        fidex_key_free(new);
    }
}

#[test]
fn purge_with_explicit_and_vault_clock() {
    let tv = TestVault::with_config(r#"{"dimension": 4, "retention_secs": 1000, "auto_purge": false}"#);
    let (id, _) = tv.enroll(&[1.0, 0.0, 0.0, 0.0], "s");
    let mut b = null_mut();
    unsafe {
        expect(fidex_vault_purge_expired(tv.v, 2, 0, &mut b, err()), FIDEX_INVALID_ENUM);
        expect(fidex_test_vault_set_clock(tv.v, 2, 0, err()), FIDEX_INVALID_ENUM);
        // Vault clock at T0: nothing expired.
        expect(fidex_vault_purge_expired(tv.v, FIDEX_CLOCK_DEFAULT, 0, &mut b, err()), FIDEX_OK);
        assert_eq!(take(b), "[]");
        // Explicit time past the retention deadline.
        expect(fidex_vault_purge_expired(tv.v, FIDEX_CLOCK_FIXED, T0 + 5000, &mut b, err()), FIDEX_OK);
        let rs: Vec<String> = serde_json::from_str(&take(b)).unwrap();
        assert_eq!(rs.len(), 1);
        assert!(rs[0].contains("retention_expired"));
        assert_eq!(verify_receipt(&rs[0], &tv.vk()), Ok(FIDEX_RECEIPT_DELETION));
        let mut yes = true;
        expect(fidex_vault_contains(tv.v, &id, &mut yes, err()), FIDEX_OK);
        assert!(!yes);
        // Back to the system clock (years after T0 + retention): a template enrolled under
        // the fixed clock expires at once with auto-purge on commit.
        tv.enroll(&[0.0, 1.0, 0.0, 0.0], "t");
        expect(fidex_test_vault_set_clock(tv.v, FIDEX_CLOCK_DEFAULT, 0, err()), FIDEX_OK);
        expect(fidex_vault_purge_expired(tv.v, FIDEX_CLOCK_DEFAULT, 0, &mut b, err()), FIDEX_OK);
        let rs: Vec<String> = serde_json::from_str(&take(b)).unwrap();
        assert_eq!(rs.len(), 1);
    }
}

#[test]
fn closing_while_other_threads_search_is_safe() {
    let tv = TestVault::new(16);
    let mut f = faces(16, 5);
    let c = f.identity();
    tv.enroll(&f.capture(&c), "a");
    let probe = f.capture(&c);
    let h = P(tv.v);
    std::thread::scope(|sc| {
        let mut joins = Vec::new();
        for _ in 0..4 {
            let (h, probe) = (&h, &probe);
            joins.push(sc.spawn(move || {
                let mut ok = 0;
                let (p, pl) = s("identification");
                loop {
                    let mut m = [fidex_match::default(); 1];
                    let mut n = 0;
                    let st = unsafe { fidex_vault_identify(h.get(), probe.as_ptr(), 16, 1, 0, 0.0, p, pl, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), 1, &mut n, null_mut(), err()) };
                    match st {
                        FIDEX_OK => ok += 1,
                        FIDEX_CLOSED => return ok,
                        other => panic!("unexpected status {other}"),
                    }
                }
            }));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        let closers: Vec<_> = (0..2).map(|_| sc.spawn(|| unsafe { fidex_vault_close(h.get(), err()) })).collect();
        let mut results: Vec<fidex_status> = closers.into_iter().map(|j| j.join().unwrap()).collect();
        results.sort();
        assert_eq!(results, vec![FIDEX_OK, FIDEX_CLOSED], "exactly one close wins");
        for j in joins {
            assert!(j.join().unwrap() > 0);
        }
    });
}

#[test]
fn concurrent_identify_while_enrolling_and_deleting() {
    let tv = TestVault::with_config(r#"{"dimension": 32, "duplicate_threshold": null}"#);
    let mut f = faces(32, 9);
    let known: Vec<Vec<f32>> = (0..20).map(|_| f.identity()).collect();
    let known_ids: Vec<fidex_facial_id> = known.iter().enumerate().map(|(i, c)| tv.enroll(&f.capture(c), &format!("k{i}")).0).collect();
    let probes: Vec<Vec<f32>> = known.iter().map(|c| f.capture(c)).collect();
    let extra: Vec<Vec<f32>> = (0..30).map(|_| f.identity()).collect();
    let h = P(tv.v);
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|sc| {
        let mut readers = Vec::new();
        for t in 0..4 {
            let (h, probes, known_ids, stop) = (&h, &probes, &known_ids, &stop);
            readers.push(sc.spawn(move || {
                let (p, pl) = s("identification");
                let mut rounds = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) || rounds < 20 {
                    let i = (rounds + t * 5) % probes.len();
                    let mut m = [fidex_match::default(); 3];
                    let mut n = 0;
                    let st = unsafe { fidex_vault_identify(h.get(), probes[i].as_ptr(), 32, 3, 0, 0.0, p, pl, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), 3, &mut n, null_mut(), err()) };
                    assert_eq!(st, FIDEX_OK);
                    assert!(n >= 1 && m[0].facial_id == known_ids[i], "reader {t} round {rounds}");
                    rounds += 1;
                }
                rounds
            }));
        }
        let writer = sc.spawn(|| {
            let c = consent_json("w", &["identification"]);
            for (i, t) in extra.iter().enumerate() {
                let mut id = fidex_facial_id::default();
                let mut r = null_mut();
                let st = unsafe { fidex_vault_enroll(h.get(), t.as_ptr(), 32, c.as_ptr().cast(), c.len(), null(), 0, &mut id, err()) };
                assert_eq!(st, FIDEX_OK);
                if i % 3 == 0 {
                    let st = unsafe { fidex_vault_delete(h.get(), &id, FIDEX_DELETION_ADMIN, &mut r, err()) };
                    assert_eq!(st, FIDEX_OK);
                    unsafe { fidex_bytes_free(r) };
                }
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        writer.join().unwrap();
        for r in readers {
            assert!(r.join().unwrap() >= 20);
        }
    });
    let mut n = 0u64;
    expect(unsafe { fidex_vault_len(tv.v, &mut n, err()) }, FIDEX_OK);
    assert_eq!(n, 20 + 30 - 10);
}

#[test]
fn retention_deadline_and_expired_dry_run() {
    let tv = TestVault::new(8);
    let mut f = faces(8, 31);
    let (id, _) = tv.enroll(&f.identity(), "r");
    let mut deadline = -1i64;
    expect(unsafe { fidex_vault_retention_deadline(tv.v, &id, &mut deadline, err()) }, FIDEX_OK);
    // The test vault's clock is fixed at common::T0; the default retention is 3 years.
    let three_years = 3 * 365 * 24 * 3600;
    assert_eq!(deadline, common::T0 + three_years);
    let mut b = sentinel();
    unsafe {
        expect(fidex_vault_expired(tv.v, FIDEX_CLOCK_DEFAULT, 0, &mut b, err()), FIDEX_OK);
        assert_eq!(take(b), "[]");
        b = sentinel();
        expect(fidex_vault_expired(tv.v, FIDEX_CLOCK_FIXED, deadline, &mut b, err()), FIDEX_OK);
        let list: serde_json::Value = serde_json::from_str(&take(b)).unwrap();
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["deadline"].as_i64(), Some(deadline));
        // Bad input: NULLs, unknown clock mode, unknown id; out-params untouched.
        let mut d = 7i64;
        expect(fidex_vault_retention_deadline(tv.v, null(), &mut d, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_vault_retention_deadline(tv.v, &id, null_mut(), err()), FIDEX_NULL_PARAMETER);
        expect(fidex_vault_retention_deadline(tv.v, &fidex_facial_id { bytes: [3; 16] }, &mut d, err()), FIDEX_NOT_FOUND);
        assert_eq!(d, 7);
        b = sentinel();
        expect(fidex_vault_expired(tv.v, 9, 0, &mut b, err()), FIDEX_INVALID_ENUM);
        assert_eq!(b, sentinel());
        expect(fidex_vault_expired(null(), FIDEX_CLOCK_DEFAULT, 0, &mut b, err()), FIDEX_NULL_PARAMETER);
        expect(fidex_vault_expired(tv.v, FIDEX_CLOCK_DEFAULT, 0, null_mut(), err()), FIDEX_NULL_PARAMETER);
    }
}

// ---------------------------------------------------------------------------------------
// What language bindings stand on: per-call errors from any thread, batch enrollment,
// payloads with matches, paged ids, uncommitted work, consent prediction, panics.

/// A pointer that may cross threads in these tests (fidex handles are thread-safe).
struct Shared<T>(*const T);
impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Shared<T> {}
// SAFETY (test): the pointees are internally synchronised fidex handles that outlive the threads.
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

#[test]
fn eight_threads_failing_at_once_each_get_their_own_error() {
    let tv = TestVault::new(16);
    let mut f = faces(16, 3);
    let t = f.identity();
    tv.enroll(&t, "someone");
    let v = Shared(tv.v as *const fidex_vault);
    let rounds = 300;
    let threads: Vec<_> = (0..8)
        .map(|i: usize| {
            let t = t.clone();
            std::thread::spawn(move || {
                let v = v;
                let mut foreign = 0;
                for r in 0..rounds {
                    let mut e: *mut fidex_error = sentinel();
                    let mut m = [fidex_match::default(); 2];
                    let mut n = 0usize;
                    // Each thread fails differently, and differently each round.
                    let (st, want_code, want_text) = match (i + r) % 4 {
                        0 => {
                            let mut bad = t.clone();
                            let c = (i * 3 + r) % 16;
                            bad[c] = f32::NAN;
                            let (p, pl) = s("identification");
                            let st = unsafe { fidex_vault_identify(v.0, bad.as_ptr(), 16, 1, 0, 0.0, p, pl, 0, m.as_mut_ptr(), 2, &mut n, null_mut(), &mut e) };
                            (st, FIDEX_NON_FINITE_VALUE, format!("component {c} "))
                        }
                        1 => {
                            let purpose = format!("purpose-{i}-{r}");
                            let st = unsafe { fidex_vault_identify(v.0, t.as_ptr(), 16, 1, 0, 0.0, purpose.as_ptr().cast(), purpose.len(), 0, m.as_mut_ptr(), 2, &mut n, null_mut(), &mut e) };
                            (st, FIDEX_UNKNOWN_PURPOSE, format!("'{purpose}'"))
                        }
                        2 => {
                            let len = 17 + i + r % 5;
                            let long = vec![0.5f32; len];
                            let (p, pl) = s("identification");
                            let st = unsafe { fidex_vault_identify(v.0, long.as_ptr(), len, 1, 0, 0.0, p, pl, 0, m.as_mut_ptr(), 2, &mut n, null_mut(), &mut e) };
                            (st, FIDEX_DIMENSION_MISMATCH, format!("has {len} components"))
                        }
                        _ => {
                            let k = FIDEX_MAX_K + 1 + i * 1000 + r;
                            let mut big = vec![fidex_match::default(); 1];
                            let (p, pl) = s("identification");
                            let st = unsafe { fidex_vault_identify(v.0, t.as_ptr(), 16, k, 0, 0.0, p, pl, 0, big.as_mut_ptr(), 1, &mut n, null_mut(), &mut e) };
                            (st, FIDEX_INVALID_ARGUMENT, format!("got {k}"))
                        }
                    };
                    assert_eq!(st, want_code, "thread {i} round {r}");
                    assert!(!e.is_null() && e != sentinel());
                    let (code, text) = unsafe { (fidex_error_code(e), CStr::from_ptr(fidex_error_message(e)).to_str().unwrap().to_owned()) };
                    if code != want_code || !text.contains(&want_text) {
                        foreign += 1;
                    }
                    unsafe { fidex_error_free(e) };
                }
                foreign
            })
        })
        .collect();
    let foreign: usize = threads.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(foreign, 0, "calls that got another call's error");
}

#[test]
fn nul_bytes_in_paths_are_refused_and_messages_never_hold_nul() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key();
    let path = format!("{}/a\0b", dir.path().display());
    let (c, cl) = s(r#"{"dimension": 4}"#);
    let mut v = sentinel::<fidex_vault>();
    let mut e = null_mut();
    let st = unsafe { fidex_vault_create(path.as_ptr().cast(), path.len(), key, c, cl, &mut v, &mut e) };
    assert_eq!(st, FIDEX_INVALID_ARGUMENT);
    assert_eq!(v, sentinel());
    let m = unsafe { CStr::from_ptr(fidex_error_message(e)) }.to_str().unwrap().to_owned();
    assert!(m.contains("NUL"), "{m}");
    unsafe { fidex_error_free(e) };
    assert!(!dir.path().join("a").exists(), "nothing was created at the truncated path");
    assert_eq!(unsafe { fidex_vault_open(path.as_ptr().cast(), path.len(), key, &mut v, err()) }, FIDEX_INVALID_ARGUMENT);
    let mut b = sentinel();
    assert_eq!(unsafe { fidex_vault_read_header(path.as_ptr().cast(), path.len(), &mut b, err()) }, FIDEX_INVALID_ARGUMENT);
    // A NUL inside text that is not a path (e.g. a purpose) stays data, and the message that
    // quotes it is still one C string covering all of it.
    let tv = TestVault::new(4);
    let purpose = "iden\0tification";
    let mut m = [fidex_match::default(); 1];
    let mut n = 0;
    let mut e = null_mut();
    let st = unsafe { fidex_vault_identify(tv.v, [1.0f32, 0.0, 0.0, 0.0].as_ptr(), 4, 1, 0, 0.0, purpose.as_ptr().cast(), purpose.len(), 0, m.as_mut_ptr(), 1, &mut n, null_mut(), &mut e) };
    assert_eq!(st, FIDEX_UNKNOWN_PURPOSE);
    let text = unsafe { CStr::from_ptr(fidex_error_message(e)) }.to_str().unwrap().to_owned();
    assert!(text.contains("iden\\0tification"), "{text}");
    unsafe { fidex_error_free(e) };
    unsafe { fidex_key_free(key) };
}

#[test]
fn read_header_and_open_agree_on_what_is_not_a_vault() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"hello").unwrap();
    let key = new_key();
    for p in [file.to_str().unwrap().to_string(), dir.path().join("missing").to_str().unwrap().to_string(), dir.path().to_str().unwrap().to_string()] {
        let mut b = sentinel();
        let mut v = sentinel();
        let h = unsafe { fidex_vault_read_header(p.as_ptr().cast(), p.len(), &mut b, err()) };
        let o = unsafe { fidex_vault_open(p.as_ptr().cast(), p.len(), key, &mut v, err()) };
        assert_eq!((h, o), (FIDEX_NOT_A_VAULT, FIDEX_NOT_A_VAULT), "{p}");
    }
    unsafe { fidex_key_free(key) };
}

#[test]
fn enroll_many_is_all_or_nothing_and_names_the_refused_item() {
    let tv = TestVault::with_config(r#"{"dimension": 8, "duplicate_threshold": 0.95}"#);
    let mut f = faces(8, 11);
    let people: Vec<Vec<f32>> = (0..5).map(|_| f.identity()).collect();
    let consents: Vec<String> = (0..5).map(|i| consent_json(&format!("user-{i}"), &["identification"])).collect();
    let payloads: Vec<Vec<u8>> = (0..5).map(|i| format!("payload-{i}").into_bytes()).collect();
    let ragged = |items: &[Vec<u8>]| {
        let mut data = Vec::new();
        let mut offsets = vec![0usize];
        for it in items {
            data.extend_from_slice(it);
            offsets.push(data.len());
        }
        (data, offsets)
    };
    let enroll_many = |templates: &[f32], consents: &[String], payloads: Option<&[Vec<u8>]>, ids: &mut [fidex_facial_id]| {
        let (cd, co) = ragged(&consents.iter().map(|c| c.clone().into_bytes()).collect::<Vec<_>>());
        let (pd, po) = payloads.map(ragged).unwrap_or_default();
        unsafe {
            fidex_vault_enroll_many(tv.v, templates.as_ptr(), templates.len(), cd.as_ptr().cast(), cd.len(), co.as_ptr(), co.len(), pd.as_ptr(), pd.len(), po.as_ptr(), po.len(), ids.as_mut_ptr(), ids.len(), err())
        }
    };
    let flat = |rows: &[Vec<f32>]| rows.concat();
    let len = || {
        let mut n = 0u64;
        expect(unsafe { fidex_vault_len(tv.v, &mut n, err()) }, FIDEX_OK);
        n
    };
    let mut ids = [fidex_facial_id { bytes: [7; 16] }; 5];
    // Item 3 has a malformed consent: nothing is enrolled, the error names item 3.
    let mut bad = consents.clone();
    bad[3] = "{\"not\": \"a receipt\"}".into();
    assert_eq!(enroll_many(&flat(&people), &bad, Some(&payloads), &mut ids), FIDEX_INVALID_CONSENT);
    let (code, text, item) = take_error().unwrap();
    assert_eq!((code, item), (FIDEX_INVALID_CONSENT, 3), "{text}");
    assert!(text.contains("batch item 3"), "{text}");
    assert_eq!(len(), 0);
    assert!(ids.iter().all(|i| i.bytes == [7; 16]), "out_ids written on failure");
    // Item 4 has a NaN; item 2 repeats item 0's face (within-batch duplicate).
    let mut nan = people.clone();
    nan[4][5] = f32::NAN;
    assert_eq!(enroll_many(&flat(&nan), &consents, None, &mut ids), FIDEX_NON_FINITE_VALUE);
    assert_eq!(take_error().unwrap().2, 4);
    let mut dup = people.clone();
    dup[2] = people[0].clone();
    assert_eq!(enroll_many(&flat(&dup), &consents, None, &mut ids), FIDEX_DUPLICATE);
    let (_, text, item) = take_error().unwrap();
    assert_eq!(item, 2, "{text}");
    assert!(text.contains("item 0"), "{text}");
    assert_eq!(len(), 0);
    // Too small an output array: nothing done.
    assert_eq!(enroll_many(&flat(&people), &consents, None, &mut ids[..4]), FIDEX_BUFFER_TOO_SMALL);
    assert_eq!(len(), 0);
    // Bad offsets.
    let (cd, _) = ragged(&consents.iter().map(|c| c.clone().into_bytes()).collect::<Vec<_>>());
    let backwards = [0usize, 10, 5, 20, 30, cd.len()];
    let st = unsafe { fidex_vault_enroll_many(tv.v, flat(&people).as_ptr(), 40, cd.as_ptr().cast(), cd.len(), backwards.as_ptr(), 6, null(), 0, null(), 0, ids.as_mut_ptr(), 5, err()) };
    assert_eq!(st, FIDEX_INVALID_ARGUMENT);
    // The good batch: all five, in order, with their payloads, uncommitted until commit.
    assert_eq!(enroll_many(&flat(&people), &consents, Some(&payloads), &mut ids), FIDEX_OK);
    assert!(take_error().is_none());
    assert_eq!(len(), 5);
    let mut unc = 0u64;
    expect(unsafe { fidex_vault_uncommitted(tv.v, &mut unc, err()) }, FIDEX_OK);
    assert_eq!(unc, 5);
    for (i, id) in ids.iter().enumerate() {
        let mut b = null_mut();
        expect(unsafe { fidex_vault_payload(tv.v, id, &mut b, err()) }, FIDEX_OK);
        assert_eq!(take(b), format!("payload-{i}"));
        let hits = tv.identify(&people[i], 1).unwrap();
        assert_eq!(hits[0].facial_id, *id);
    }
    // A second batch duplicating an enrolled face is refused against the vault.
    let again = [people[1].clone()].concat();
    let mut one = [fidex_facial_id::default(); 1];
    assert_eq!(enroll_many(&again, &consents[..1], None, &mut one), FIDEX_DUPLICATE);
    let mut info = null_mut();
    expect(unsafe { fidex_vault_commit(tv.v, &mut info, err()) }, FIDEX_OK);
    take(info);
    expect(unsafe { fidex_vault_uncommitted(tv.v, &mut unc, err()) }, FIDEX_OK);
    assert_eq!(unc, 0);
}

#[test]
fn identify_returns_payloads_in_one_call() {
    let tv = TestVault::new(8);
    let mut f = faces(8, 5);
    let people: Vec<Vec<f32>> = (0..3).map(|_| f.identity()).collect();
    let c = consent_json("x", &["identification"]);
    let mut ids = vec![];
    for (i, p) in people.iter().enumerate() {
        let payload: Vec<u8> = if i == 1 { vec![] } else { format!("user-{i}").into_bytes() };
        let mut id = fidex_facial_id::default();
        expect(unsafe { fidex_vault_enroll(tv.v, p.as_ptr(), 8, c.as_ptr().cast(), c.len(), payload.as_ptr(), payload.len(), &mut id, err()) }, FIDEX_OK);
        ids.push(id);
    }
    let (pp, pl) = s("identification");
    let mut m = [fidex_match::default(); 3];
    let mut n = 0;
    let mut pays = null_mut();
    expect(unsafe { fidex_vault_identify(tv.v, people[0].as_ptr(), 8, 3, FIDEX_THRESHOLD_EXPLICIT, -1.0, pp, pl, FIDEX_PAYLOADS_INCLUDE, m.as_mut_ptr(), 3, &mut n, &mut pays, err()) }, FIDEX_OK);
    assert_eq!(n, 3);
    let all = unsafe { std::slice::from_raw_parts(fidex_bytes_data(pays), fidex_bytes_len(pays)).to_vec() };
    unsafe { fidex_bytes_free(pays) };
    for hit in &m[..n] {
        let i = ids.iter().position(|id| *id == hit.facial_id).unwrap();
        let got = &all[hit.payload_offset as usize..hit.payload_offset as usize + hit.payload_len as usize];
        let want: Vec<u8> = if i == 1 { vec![] } else { format!("user-{i}").into_bytes() };
        assert_eq!(got, &want[..]);
    }
    assert_eq!(m[0].facial_id, ids[0]);
    // Batch: two probes, payloads of all their matches in one buffer.
    let probes = [people[2].clone(), people[0].clone()].concat();
    let mut bm = [fidex_match::default(); 2];
    let mut counts = [0usize; 2];
    expect(unsafe { fidex_vault_identify_batch(tv.v, probes.as_ptr(), 16, 1, 0, 0.0, pp, pl, FIDEX_PAYLOADS_INCLUDE, bm.as_mut_ptr(), 2, counts.as_mut_ptr(), 2, &mut pays, err()) }, FIDEX_OK);
    let all = unsafe { std::slice::from_raw_parts(fidex_bytes_data(pays), fidex_bytes_len(pays)).to_vec() };
    unsafe { fidex_bytes_free(pays) };
    assert_eq!(counts, [1, 1]);
    let text = |x: &fidex_match| String::from_utf8(all[x.payload_offset as usize..][..x.payload_len as usize].to_vec()).unwrap();
    assert_eq!((text(&bm[0]), text(&bm[1])), ("user-2".to_string(), "user-0".to_string()));
    // Without payloads the fields stay 0 and out_payloads is not needed.
    expect(unsafe { fidex_vault_identify(tv.v, people[0].as_ptr(), 8, 1, 0, 0.0, pp, pl, FIDEX_PAYLOADS_NONE, m.as_mut_ptr(), 3, &mut n, null_mut(), err()) }, FIDEX_OK);
    assert_eq!((m[0].payload_len, m[0].payload_offset), (0, 0));
    expect(unsafe { fidex_vault_identify(tv.v, people[0].as_ptr(), 8, 1, 0, 0.0, pp, pl, 2, m.as_mut_ptr(), 3, &mut n, null_mut(), err()) }, FIDEX_INVALID_ENUM);
}

#[test]
fn facial_ids_page_through_a_vault() {
    let tv = TestVault::with_config(r#"{"dimension": 4, "duplicate_threshold": null}"#);
    let c = consent_json("x", &["identification"]);
    let mut want = vec![];
    for i in 0..103 {
        let t = [1.0f32, i as f32, 0.5, -0.25];
        let mut id = fidex_facial_id::default();
        expect(unsafe { fidex_vault_enroll(tv.v, t.as_ptr(), 4, c.as_ptr().cast(), c.len(), null(), 0, &mut id, err()) }, FIDEX_OK);
        want.push(id);
    }
    want.sort_by_key(|i| i.bytes);
    let mut got = vec![];
    let mut page = [fidex_facial_id::default(); 10];
    let mut pages = 0;
    loop {
        let after = got.last().map_or(null(), |x| x as *const fidex_facial_id);
        let mut n = 0usize;
        expect(unsafe { fidex_vault_facial_ids(tv.v, after, page.as_mut_ptr(), 10, &mut n, err()) }, FIDEX_OK);
        got.extend_from_slice(&page[..n]);
        pages += 1;
        if n < 10 {
            break;
        }
    }
    assert_eq!(got, want);
    assert_eq!(pages, 11);
    // Capacity 0: an empty page, no pointer needed.
    let mut n = 5usize;
    expect(unsafe { fidex_vault_facial_ids(tv.v, null(), null_mut(), 0, &mut n, err()) }, FIDEX_NULL_PARAMETER);
    let mut one = [fidex_facial_id::default(); 1];
    expect(unsafe { fidex_vault_facial_ids(tv.v, null(), one.as_mut_ptr(), 0, &mut n, err()) }, FIDEX_OK);
    assert_eq!(n, 0);
}

#[test]
fn documented_edge_cases_behave_as_documented() {
    let tv = TestVault::new(4);
    let (id, _) = tv.enroll(&[1.0, 0.0, 0.0, 0.0], "a");
    let mut info = null_mut();
    expect(unsafe { fidex_vault_commit(tv.v, &mut info, err()) }, FIDEX_OK);
    take(info);
    // delete_many with an id listed twice: INVALID_ARGUMENT (as the header says), nothing deleted.
    let twice = [id, id];
    let mut b = sentinel();
    expect(unsafe { fidex_vault_delete_many(tv.v, twice.as_ptr(), 2, FIDEX_DELETION_ADMIN, &mut b, err()) }, FIDEX_INVALID_ARGUMENT);
    let mut yes = false;
    expect(unsafe { fidex_vault_contains(tv.v, &id, &mut yes, err()) }, FIDEX_OK);
    assert!(yes);
    // Audit range: `from` past the end with FIDEX_AUDIT_END is an empty array.
    expect(unsafe { fidex_vault_audit_entries(tv.v, 1_000_000, FIDEX_AUDIT_END, &mut b, err()) }, FIDEX_OK);
    assert_eq!(take(b), "[]");
    expect(unsafe { fidex_vault_audit_entries(tv.v, 1, 100, &mut b, err()) }, FIDEX_OK);
    assert_eq!(serde_json::from_str::<Vec<serde_json::Value>>(&take(b)).unwrap().len(), 2, "to clamped");
    let mut untouched = sentinel();
    expect(unsafe { fidex_vault_audit_entries(tv.v, 5, 2, &mut untouched, err()) }, FIDEX_INVALID_ARGUMENT);
    // check_consent predicts enroll exactly.
    let only_auth = consent_json("b", &["authentication"]);
    let nothing = consent_json("c", &["marketing"]);
    for (c, want) in [(only_auth.as_str(), FIDEX_OK), (nothing.as_str(), FIDEX_PURPOSE_NOT_COVERED), ("", FIDEX_NO_CONSENT), ("{", FIDEX_INVALID_CONSENT)] {
        let mut cov = null_mut();
        let st = unsafe { fidex_vault_check_consent(tv.v, c.as_ptr().cast(), c.len(), &mut cov, err()) };
        assert_eq!(st, want, "{c}");
        if st == FIDEX_OK {
            assert_eq!(take(cov), r#"["authentication"]"#);
        }
        let mut nid = fidex_facial_id::default();
        let t = [0.0f32, 1.0, 0.0, 0.0];
        let enrolled = unsafe { fidex_vault_enroll(tv.v, t.as_ptr(), 4, c.as_ptr().cast(), c.len(), null(), 0, &mut nid, err()) };
        assert_eq!(enrolled, want, "enroll disagrees with check_consent for {c}");
        if enrolled == FIDEX_OK {
            let mut r = null_mut();
            expect(unsafe { fidex_vault_delete(tv.v, &nid, FIDEX_DELETION_ADMIN, &mut r, err()) }, FIDEX_OK);
            take(r);
        }
    }
    // Config messages speak the user's terms.
    let dir = tempfile::tempdir().unwrap();
    for (cfg, must) in [
        (r#"{"dimension": "512"}"#, "dimension must be an integer"),
        (r#"{"dimension": 512, "metric": "dot"}"#, "metric must be one of \"cosine\""),
        (r#"{"dimension": 512, "purposes": "auth"}"#, "purposes must be an array of strings"),
        (r#"{"dimension": 512, "colour": 1}"#, "unknown field 'colour'"),
        (r#"{"dimension": 512, "max_templates": -1}"#, "max_templates must be an integer"),
    ] {
        let path = dir.path().join("v").to_str().unwrap().to_string();
        let mut v = sentinel::<fidex_vault>();
        let st = unsafe { fidex_vault_create(path.as_ptr().cast(), path.len(), tv.key, cfg.as_ptr().cast(), cfg.len(), &mut v, err()) };
        assert_eq!(st, FIDEX_INVALID_CONFIG, "{cfg}");
        let m = take_error().unwrap().1;
        assert!(m.contains(must), "{cfg}: {m}");
        assert!(!m.contains("struct") && !m.contains("ConfigJson") && !m.contains("line 1 column"), "serde internals leak: {m}");
    }
}

#[cfg(feature = "test-hooks")]
#[test]
fn a_panic_fails_the_handle_instead_of_leaving_it_half_changed() {
    let tv = TestVault::new(4);
    tv.enroll(&[1.0, 0.0, 0.0, 0.0], "a");
    assert_eq!(unsafe { fidex_test_vault_panic(tv.v, err()) }, FIDEX_PANIC);
    assert!(take_error().unwrap().1.contains("test hook"));
    // Every later call refuses with FIDEX_PANIC and says what to do; commit does not run.
    let mut n = 0u64;
    assert_eq!(unsafe { fidex_vault_len(tv.v, &mut n, err()) }, FIDEX_PANIC);
    assert!(take_error().unwrap().1.contains("open the vault again"));
    assert_eq!(unsafe { fidex_vault_close(tv.v, err()) }, FIDEX_PANIC);
    assert_eq!(tv.identify(&[1.0, 0.0, 0.0, 0.0], 1), Err(FIDEX_PANIC));
    // Free still works and releases the lock: the vault reopens with what was committed.
    let mut tv = tv;
    let path = tv.path();
    unsafe { fidex_vault_free(tv.v) };
    tv.v = null_mut();
    let mut v = null_mut();
    expect(unsafe { fidex_vault_open(path.as_ptr().cast(), path.len(), tv.key, &mut v, err()) }, FIDEX_OK);
    unsafe { fidex_vault_free(v) };
}

#[test]
fn kantara_receipts_as_platforms_write_them_through_the_abi() {
    let tv = TestVault::new(4);
    let fixture = |name: &str| std::fs::read_to_string(format!("{}/tests/fixtures/kantara/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let (vp, vpl) = s(r#"["authentication", "identification"]"#);
    for (name, want, covered) in [
        ("v1.1-spec-shape.json", FIDEX_OK, r#"["authentication"]"#),
        ("v1.1-wso2-biometric.json", FIDEX_OK, r#"["identification"]"#),
        ("v1.1-wso2-documented-not-biometric.json", FIDEX_INVALID_CONSENT, ""),
        ("v1.0-wso2-era.json", FIDEX_INVALID_CONSENT, ""),
        ("v0.8-draft.json", FIDEX_INVALID_CONSENT, ""),
    ] {
        let text = fixture(name);
        let (c, cl) = s(&text);
        // The standalone prediction, the vault's prediction and enrollment all agree.
        let mut out = null_mut();
        let st = unsafe { fidex_consent_validate(c, cl, vp, vpl, FIDEX_CLOCK_FIXED, T0, &mut out, err()) };
        assert_eq!(st, want, "{name}: {:?}", take_error());
        if st == FIDEX_OK {
            assert_eq!(take(out), covered, "{name}");
        }
        let st = unsafe { fidex_vault_check_consent(tv.v, c, cl, &mut out, err()) };
        assert_eq!(st, want, "{name}");
        if st == FIDEX_OK {
            assert_eq!(take(out), covered, "{name}");
        } else {
            let (_, m, _) = take_error().unwrap();
            if name.starts_with("v1.0") {
                assert!(m.contains("1.0") && m.contains("v1.1"), "{m}");
            }
        }
        let t = [1.0f32, 0.5, 0.25, 0.125];
        let mut id = fidex_facial_id::default();
        let st = unsafe { fidex_vault_enroll(tv.v, t.as_ptr(), 4, c, cl, null(), 0, &mut id, err()) };
        assert_eq!(st, want, "{name}");
        if st == FIDEX_OK {
            // Searchable for what it covers, stored as given (address object kept).
            let purpose: Vec<String> = serde_json::from_str(covered).unwrap();
            let mut m = [fidex_match::default(); 1];
            let mut n = 0;
            let p = &purpose[0];
            expect(unsafe { fidex_vault_identify(tv.v, t.as_ptr(), 4, 1, 0, 0.0, p.as_ptr().cast(), p.len(), 0, m.as_mut_ptr(), 1, &mut n, null_mut(), err()) }, FIDEX_OK);
            assert_eq!((n, m[0].facial_id), (1, id), "{name}");
            let mut b = null_mut();
            expect(unsafe { fidex_vault_consent(tv.v, &id, &mut b, err()) }, FIDEX_OK);
            let stored: serde_json::Value = serde_json::from_str(&take(b)).unwrap();
            assert!(stored["piiControllers"][0]["address"].is_object(), "{name}: {stored}");
            let mut r = null_mut();
            expect(unsafe { fidex_vault_delete(tv.v, &id, FIDEX_DELETION_ADMIN, &mut r, err()) }, FIDEX_OK);
            take(r);
        }
    }
}

#[test]
fn discard_closes_without_committing_and_releases_the_lock() {
    let tv = TestVault::new(4);
    let (kept, _) = tv.enroll(&[1.0, 0.0, 0.0, 0.0], "a");
    let mut info = null_mut();
    expect(unsafe { fidex_vault_commit(tv.v, &mut info, err()) }, FIDEX_OK);
    take(info);
    let (dropped, _) = tv.enroll(&[0.0, 1.0, 0.0, 0.0], "b");
    expect(unsafe { fidex_vault_discard(tv.v, err()) }, FIDEX_OK);
    expect(unsafe { fidex_vault_discard(tv.v, err()) }, FIDEX_CLOSED);
    let mut n = 0u64;
    expect(unsafe { fidex_vault_len(tv.v, &mut n, err()) }, FIDEX_CLOSED);
    // The lock is released: the vault opens, with the committed enrollment only.
    let path = tv.path();
    let mut v = null_mut();
    expect(unsafe { fidex_vault_open(path.as_ptr().cast(), path.len(), tv.key, &mut v, err()) }, FIDEX_OK);
    let (mut yes, mut no) = (false, true);
    expect(unsafe { fidex_vault_contains(v, &kept, &mut yes, err()) }, FIDEX_OK);
    expect(unsafe { fidex_vault_contains(v, &dropped, &mut no, err()) }, FIDEX_OK);
    assert!(yes && !no);
    unsafe { fidex_vault_free(v) };
}

/// A vault opened with `fidex_vault_open_with`: a read-only handle beside the writer
/// follows its commits on `fidex_vault_refresh`, refuses changes with FIDEX_READ_ONLY,
/// closes without committing; writers wait for the lock; options are validated.
#[test]
fn read_only_handles_and_open_options_through_the_abi() {
    let tv = TestVault::new(16);
    let mut f = faces(16, 11);
    let alice = f.identity();
    let bob = f.identity();
    let (a_id, _) = tv.enroll(&f.capture(&alice), "alice");
    let mut info = null_mut();
    expect(unsafe { fidex_vault_commit(tv.v, &mut info, err()) }, FIDEX_OK);
    unsafe { fidex_bytes_free(info) };
    let path = tv.path();
    let (p, pl) = s(&path);
    let open_with = |opts: &str| -> Result<*mut fidex_vault, fidex_status> {
        let mut v = sentinel();
        let (o, ol) = s(opts);
        let st = unsafe { fidex_vault_open_with(p, pl, tv.key, o, ol, &mut v, err()) };
        if st == FIDEX_OK {
            Ok(v)
        } else {
            assert_eq!(v, sentinel(), "out-param written on failure");
            Err(st)
        }
    };
    // The writer holds the lock: a second writer is refused, a reader opens.
    assert_eq!(open_with("{}").err(), Some(FIDEX_LOCKED));
    assert_eq!(open_with(r#"{"lock_wait_ms": 50}"#).err(), Some(FIDEX_LOCKED));
    let reader = open_with(r#"{"read_only": true, "refresh_interval_ms": null}"#).unwrap();
    let rv = TestVault { v: reader, key: new_key(), dir: tempfile::tempdir().unwrap() };
    assert_eq!(rv.identify(&f.capture(&alice), 1).unwrap()[0].facial_id, a_id);
    // Every change through the reader is refused, and the error says why.
    let c = consent_json("carol", &["identification"]);
    let t = f.capture(&bob);
    let mut id = fidex_facial_id::default();
    expect(unsafe { fidex_vault_enroll(reader, t.as_ptr(), t.len(), c.as_ptr().cast(), c.len(), null(), 0, &mut id, err()) }, FIDEX_READ_ONLY);
    let mut r = sentinel();
    expect(unsafe { fidex_vault_delete(reader, &a_id, FIDEX_DELETION_ADMIN, &mut r, err()) }, FIDEX_READ_ONLY);
    expect(unsafe { fidex_vault_remove_stray_files(reader, &mut r, err()) }, FIDEX_READ_ONLY);
    assert_eq!(r, sentinel());
    // Nothing new: refresh says so. The writer enrolls bob and commits: refresh loads it.
    let mut changed = true;
    expect(unsafe { fidex_vault_refresh(reader, &mut changed, err()) }, FIDEX_OK);
    assert!(!changed);
    let (b_id, _) = tv.enroll(&f.capture(&bob), "bob");
    let mut info = null_mut();
    expect(unsafe { fidex_vault_commit(tv.v, &mut info, err()) }, FIDEX_OK);
    unsafe { fidex_bytes_free(info) };
    let probe_b = f.capture(&bob);
    assert_ne!(rv.identify(&probe_b, 1).unwrap().first().map(|m| m.facial_id), Some(b_id), "no automatic refresh");
    expect(unsafe { fidex_vault_refresh(reader, &mut changed, err()) }, FIDEX_OK);
    assert!(changed);
    assert_eq!(rv.identify(&probe_b, 1).unwrap()[0].facial_id, b_id);
    // The writer deletes alice: after a refresh the reader no longer matches her.
    let mut r = null_mut();
    expect(unsafe { fidex_vault_delete(tv.v, &a_id, FIDEX_DELETION_SUBJECT_REQUEST, &mut r, err()) }, FIDEX_OK);
    unsafe { fidex_bytes_free(r) };
    expect(unsafe { fidex_vault_refresh(reader, &mut changed, err()) }, FIDEX_OK);
    assert!(changed);
    let probe_a = f.capture(&alice);
    assert!(rv.identify(&probe_a, 2).unwrap().iter().all(|m| m.facial_id != a_id));
    let mut yes = true;
    expect(unsafe { fidex_vault_contains(reader, &a_id, &mut yes, err()) }, FIDEX_OK);
    assert!(!yes);
    // A writer's refresh changes nothing; stats say which handle is read-only.
    expect(unsafe { fidex_vault_refresh(tv.v, &mut changed, err()) }, FIDEX_OK);
    assert!(!changed);
    let stats = |v: *mut fidex_vault| -> serde_json::Value {
        let mut b = null_mut();
        expect(unsafe { fidex_vault_stats(v, &mut b, err()) }, FIDEX_OK);
        serde_json::from_str(&take(b)).unwrap()
    };
    assert_eq!(stats(reader)["read_only"], true);
    assert_eq!(stats(tv.v)["read_only"], false);
    assert_eq!(stats(tv.v)["stray_files"], serde_json::json!([]));
    // A writer with nothing stray removes nothing.
    let mut b = null_mut();
    expect(unsafe { fidex_vault_remove_stray_files(tv.v, &mut b, err()) }, FIDEX_OK);
    assert_eq!(take(b), "[]");
    // Closing a reader succeeds (nothing to commit) and the handle is closed afterwards.
    expect(unsafe { fidex_vault_close(reader, err()) }, FIDEX_OK);
    expect(unsafe { fidex_vault_refresh(reader, &mut changed, err()) }, FIDEX_CLOSED);
    // Options are validated: unknown fields, wrong types, malformed JSON.
    for bad in [r#"{"readonly": true}"#, r#"{"read_only": "yes"}"#, r#"{"lock_wait_ms": -1}"#, r#"{"lock_wait_ms": 18446744073709551615}"#, "{", "[]", "null"] {
        assert_eq!(open_with(bad).err(), Some(FIDEX_INVALID_JSON), "{bad}");
    }
    // A waiting writer gets the lock once the holder closes.
    let holder = tv.v as usize;
    let closer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        expect(unsafe { fidex_vault_close(holder as *mut fidex_vault, null_mut()) }, FIDEX_OK);
    });
    let t0 = std::time::Instant::now();
    let w2 = open_with(r#"{"lock_wait_ms": 10000}"#).unwrap();
    assert!(t0.elapsed() >= std::time::Duration::from_millis(250), "opened while the first writer held the lock");
    closer.join().unwrap();
    unsafe { fidex_vault_free(w2) };
}
