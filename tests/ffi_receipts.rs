//! The C ABI of issue 16 and issue 14 item 2: fidex_receipt_monitor, fidex_vault_publish_head,
//! fidex_vault_issue_receipt, and key files in fidex_receipt_verify /
//! fidex_verify_consistency — called from Rust as C would, with NULL pointers,
//! out-parameters untouched on failure, and each call's own error.

use fidex::ffi::*;
use fidex::{ConsentReceipt, DeletionReason, FacialId, Vault, VaultConfig, VaultKey};
use std::ffi::CStr;
use std::ptr::{null, null_mut};

struct ErrSlot(*mut fidex_error);

impl ErrSlot {
    fn new() -> ErrSlot {
        ErrSlot(null_mut())
    }
    fn slot(&mut self) -> *mut *mut fidex_error {
        &mut self.0
    }
    fn message(&self) -> String {
        // SAFETY: a live error object or NULL.
        unsafe { CStr::from_ptr(fidex_error_message(self.0)).to_string_lossy().into_owned() }
    }
    fn code(&self) -> fidex_status {
        // SAFETY: as above.
        unsafe { fidex_error_code(self.0) }
    }
}

impl Drop for ErrSlot {
    fn drop(&mut self) {
        // SAFETY: NULL or an error this test received.
        unsafe { fidex_error_free(self.0) }
    }
}

/// Takes a result byte string as text and frees it.
fn take(b: *mut fidex_bytes) -> String {
    // SAFETY: a live result of a successful call.
    unsafe {
        let s = std::slice::from_raw_parts(fidex_bytes_data(b), fidex_bytes_len(b)).to_vec();
        fidex_bytes_free(b);
        String::from_utf8(s).unwrap()
    }
}

fn s(t: &str) -> (*const std::ffi::c_char, usize) {
    (t.as_ptr().cast(), t.len())
}

/// A committed vault of three templates, made with the Rust API, then opened through the ABI.
struct Fixture {
    _dir: tempfile::TempDir,
    vault: *mut fidex_vault,
    ids: Vec<FacialId>,
    vk: String,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let key = VaultKey::generate();
        let v = Vault::create(dir.path().join("v"), &key, VaultConfig::new(4)).unwrap();
        let c = ConsentReceipt::explicit("s", "Acme", "https://acme.example/p", &["identification"], 1_700_000_000).unwrap();
        let ids = (0..3).map(|i| v.enroll(&[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]][i], &c, None).unwrap().facial_id).collect();
        let vk = v.verification_key().to_text();
        v.close().unwrap();

        let mut k = null_mut();
        let mut vault = null_mut();
        let path = dir.path().join("v").to_string_lossy().into_owned();
        // SAFETY: valid buffers and out-pointers.
        unsafe {
            assert_eq!(fidex_key_from_bytes(key.expose_secret().as_ptr(), 32, &mut k, null_mut()), FIDEX_OK);
            assert_eq!(fidex_vault_open(path.as_ptr().cast(), path.len(), k, &mut vault, null_mut()), FIDEX_OK);
            fidex_key_free(k);
        }
        Fixture { _dir: dir, vault, ids, vk }
    }

    fn publish(&self, previous: &str) -> String {
        let mut b = null_mut();
        let (p, pl) = s(previous);
        // SAFETY: valid handle, buffers and out-pointer.
        assert_eq!(unsafe { fidex_vault_publish_head(self.vault, p, pl, &mut b, null_mut()) }, FIDEX_OK);
        take(b)
    }

    fn delete(&self, i: usize) -> String {
        let mut b = null_mut();
        let id = fidex_facial_id { bytes: *self.ids[i].as_bytes() };
        // SAFETY: valid handle, id and out-pointer.
        assert_eq!(unsafe { fidex_vault_delete(self.vault, &id, FIDEX_DELETION_SUBJECT_REQUEST, &mut b, null_mut()) }, FIDEX_OK);
        take(b)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // SAFETY: the handle this fixture opened.
        unsafe { fidex_vault_free(self.vault) }
    }
}

fn monitor(heads: &[&str], receipts: &[&str], keys: &str) -> Result<serde_json::Value, (fidex_status, String)> {
    let h = serde_json::to_string(heads).unwrap();
    let r = serde_json::to_string(receipts).unwrap();
    let (hp, hl) = s(&h);
    let (rp, rl) = s(&r);
    let (kp, kl) = s(keys);
    let mut out = 0x5a5a as *mut fidex_bytes; // a sentinel: must stay untouched on failure
    let mut e = ErrSlot::new();
    // SAFETY: valid buffers and out-pointers.
    let st = unsafe { fidex_receipt_monitor(hp, hl, rp, rl, kp, kl, &mut out, e.slot()) };
    if st == FIDEX_OK {
        assert!(e.0.is_null());
        Ok(serde_json::from_str(&take(out)).unwrap())
    } else {
        assert_eq!(out as usize, 0x5a5a, "out-parameter written on failure");
        assert_eq!(e.code(), st);
        Err((st, e.message()))
    }
}

#[test]
fn publish_monitor_and_issue_through_the_c_abi() {
    let f = Fixture::new();
    let h1 = f.publish("");
    let deletion = f.delete(0);
    let h2 = f.publish(&h1);
    let keys = format!("# the vault's keys\n{}\n", f.vk);
    let report = monitor(&[&h1, &h2], &[&deletion], &keys).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["receipts"][0]["valid"], true);
    assert_eq!(report["receipts"][0]["anchored_at"], report["heads"][1]["log_size"]);
    // An empty input is no heads / no receipts.
    assert_eq!(monitor(&[], &[], &f.vk).unwrap()["ok"], true);
    let (hp, hl) = s(&h1);
    let (kp, kl) = s(&f.vk);
    let mut b = null_mut();
    // SAFETY: valid buffers and out-pointer.
    assert_eq!(unsafe { fidex_receipt_monitor(hp, 0, null(), 0, kp, kl, &mut b, null_mut()) }, FIDEX_OK);
    take(b);
    // Problems: FIDEX_VERIFICATION_FAILED naming each.
    let (st, msg) = monitor(&[&h2], &[&deletion.replacen("subject_request", "admin", 1)], &f.vk).unwrap_err();
    assert_eq!(st, FIDEX_VERIFICATION_FAILED);
    assert!(msg.contains("receipt #0"), "{msg}");
    // Inputs that are not what they should be.
    assert_eq!(monitor(&[&h1], &[], "fidex-vk-1:nope").unwrap_err().0, FIDEX_INVALID_KEY_TEXT);
    let (bad, bl) = s("{\"not\": \"an array\"}");
    let mut e = ErrSlot::new();
    // SAFETY: valid buffers and out-pointers.
    assert_eq!(unsafe { fidex_receipt_monitor(bad, bl, null(), 0, kp, kl, &mut b, e.slot()) }, FIDEX_INVALID_JSON);
    assert!(e.message().contains("heads"), "{}", e.message());
    // NULL pointers: the out-parameter is checked first, then each input.
    // SAFETY: NULLs are what is being tested; lengths are non-zero where a pointer is NULL.
    unsafe {
        assert_eq!(fidex_receipt_monitor(hp, hl, null(), 0, kp, kl, null_mut(), null_mut()), FIDEX_NULL_PARAMETER);
        assert_eq!(fidex_receipt_monitor(null(), 3, null(), 0, kp, kl, &mut b, null_mut()), FIDEX_NULL_PARAMETER);
        assert_eq!(fidex_receipt_monitor(hp, hl, null(), 3, kp, kl, &mut b, null_mut()), FIDEX_NULL_PARAMETER);
        assert_eq!(fidex_receipt_monitor(hp, hl, null(), 0, null(), 3, &mut b, null_mut()), FIDEX_NULL_PARAMETER);
        assert_eq!(fidex_receipt_monitor(b"\xff".as_ptr().cast(), 1, null(), 0, kp, kl, &mut b, null_mut()), FIDEX_INVALID_UTF8);
        assert_eq!(fidex_vault_publish_head(f.vault, hp, hl, null_mut(), null_mut()), FIDEX_NULL_PARAMETER);
        assert_eq!(fidex_vault_publish_head(null(), hp, hl, &mut b, null_mut()), FIDEX_NULL_PARAMETER);
        assert_eq!(fidex_vault_publish_head(f.vault, null(), 2, &mut b, null_mut()), FIDEX_NULL_PARAMETER);
    }
    // publish_head refuses a previous head that is not this vault's (edited, or not a head).
    let mut e = ErrSlot::new();
    let edited = h2.replacen("\"version\": 2", "\"version\": 3", 1);
    let (ep, el) = s(&edited);
    // SAFETY: valid handle, buffers and out-pointers.
    assert_eq!(unsafe { fidex_vault_publish_head(f.vault, ep, el, &mut b, e.slot()) }, FIDEX_VERIFICATION_FAILED);

    // Issue a receipt again: the deletion (with the same entry) and a live enrollment.
    for (i, kind) in [(0usize, FIDEX_RECEIPT_DELETION), (1, FIDEX_RECEIPT_ENROLLMENT)] {
        let id = fidex_facial_id { bytes: *f.ids[i].as_bytes() };
        let mut r = null_mut();
        // SAFETY: valid handle, id and out-pointer.
        assert_eq!(unsafe { fidex_vault_issue_receipt(f.vault, &id, &mut r, null_mut()) }, FIDEX_OK);
        let text = take(r);
        let (tp, tl) = s(&text);
        let mut k = 0;
        // SAFETY: valid buffers and out-pointer.
        assert_eq!(unsafe { fidex_receipt_verify(tp, tl, kp, kl, &mut k, null_mut()) }, FIDEX_OK);
        assert_eq!(k, kind);
    }
    let unknown = fidex_facial_id { bytes: [7; 16] };
    let mut r = 0x77 as *mut fidex_bytes;
    let mut e = ErrSlot::new();
    // SAFETY: valid handle, id and out-pointer; then NULLs.
    unsafe {
        assert_eq!(fidex_vault_issue_receipt(f.vault, &unknown, &mut r, e.slot()), FIDEX_NOT_FOUND);
        assert_eq!(r as usize, 0x77);
        assert_eq!(fidex_vault_issue_receipt(f.vault, &unknown, null_mut(), null_mut()), FIDEX_NULL_PARAMETER);
        assert_eq!(fidex_vault_issue_receipt(f.vault, null(), &mut r, null_mut()), FIDEX_NULL_PARAMETER);
        assert_eq!(fidex_vault_issue_receipt(null(), &unknown, &mut r, null_mut()), FIDEX_NULL_PARAMETER);
    }
}

#[test]
fn verify_and_consistency_accept_a_key_file_listing_rotated_keys() {
    let dir = tempfile::tempdir().unwrap();
    let v = Vault::create(dir.path().join("v"), &VaultKey::generate(), VaultConfig::new(4)).unwrap();
    let c = ConsentReceipt::explicit("s", "Acme", "https://acme.example/p", &["identification"], 1_700_000_000).unwrap();
    let id = v.enroll(&[1.0, 0.0, 0.0, 0.0], &c, None).unwrap().facial_id;
    let old_vk = v.verification_key().to_text();
    let old_head = fidex::receipt::to_json(&v.tree_head().unwrap());
    v.rotate_key(&VaultKey::generate()).unwrap();
    let receipt = fidex::receipt::to_json(&v.delete(&id, DeletionReason::SubjectRequest).unwrap());
    let new_head_v = v.tree_head().unwrap();
    let proof = serde_json::to_string(&v.consistency_proof(serde_json::from_str::<fidex::SignedTreeHead>(&old_head).unwrap().log_size, new_head_v.log_size).unwrap()).unwrap();
    let new_head = fidex::receipt::to_json(&new_head_v);
    let keys = format!("# old\n{old_vk}\r\n\n{}\n", v.verification_key().to_text());
    let (kp, kl) = s(&keys);
    let (rp, rl) = s(&receipt);
    let (op, ol) = s(&old_head);
    let (np, nl) = s(&new_head);
    let (pp, pl) = s(&proof);
    let (ovp, ovl) = s(&old_vk);
    let mut k = 0;
    // SAFETY: valid buffers and out-pointers.
    unsafe {
        assert_eq!(fidex_receipt_verify(rp, rl, kp, kl, &mut k, null_mut()), FIDEX_OK);
        assert_eq!(k, FIDEX_RECEIPT_DELETION);
        // With the old key only, the receipt (signed by the new key) fails.
        assert_eq!(fidex_receipt_verify(rp, rl, ovp, ovl, &mut k, null_mut()), FIDEX_VERIFICATION_FAILED);
        assert_eq!(fidex_verify_consistency(op, ol, np, nl, pp, pl, kp, kl, null_mut()), FIDEX_OK);
        assert_eq!(fidex_verify_consistency(op, ol, np, nl, pp, pl, ovp, ovl, null_mut()), FIDEX_VERIFICATION_FAILED);
        let (ep, el) = s("# only a comment\n");
        assert_eq!(fidex_receipt_verify(rp, rl, ep, el, &mut k, null_mut()), FIDEX_INVALID_KEY_TEXT);
    }
}
