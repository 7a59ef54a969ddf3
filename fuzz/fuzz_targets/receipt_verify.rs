//! Receipt parsing and offline verification on arbitrary text, with the fixture vault's
//! fixed verification key:
//! * receipt::verify_json: anything it accepts must be one of the genuine receipts the
//!   fixture vault issued (no field can change and still verify);
//! * the same text parsed as a DeletionReceipt / EnrollmentReceipt / SignedTreeHead and
//!   checked with receipt::verify / verify_enrollment / SignedTreeHead::verify directly
//!   (past the canonical-form gate): must never panic, and must accept only genuine ones;
//! * VerificationKey::from_text: accepted text round-trips through to_text;
//! * LogEntry::from_bytes: accepted entries round-trip through to_bytes.
#![no_main]
use fidex::log::audit::LogEntry;
use fidex::receipt::{self, Receipt};
use fidex::{DeletionReceipt, EnrollmentReceipt, SignedTreeHead, VerificationKey};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

struct Known {
    vk: VerificationKey,
    texts: Vec<String>,
    deletions: Vec<DeletionReceipt>,
    enrollments: Vec<EnrollmentReceipt>,
    heads: Vec<SignedTreeHead>,
}

fn known() -> &'static Known {
    static K: OnceLock<Known> = OnceLock::new();
    K.get_or_init(|| {
        let vk = fidex_fuzz::fixture_vk();
        let texts = fidex_fuzz::fixture_receipts();
        let (mut deletions, mut enrollments, mut heads) = (vec![], vec![], vec![]);
        for t in &texts {
            match receipt::verify_json(t, &vk).expect("fixture receipts verify") {
                Receipt::Deletion(d) => {
                    heads.push(d.tree_head.clone());
                    deletions.push(d)
                }
                Receipt::Enrollment(e) => {
                    heads.push(e.tree_head.clone());
                    enrollments.push(e)
                }
            }
        }
        Known { vk, texts, deletions, enrollments, heads }
    })
}

fuzz_target!(|data: &[u8]| {
    let k = known();
    if let Ok(e) = LogEntry::from_bytes(data) {
        let b = e.to_bytes();
        assert_eq!(LogEntry::from_bytes(&b).expect("to_bytes output parses"), e, "log entry round trip");
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Key files and published heads: parse without panicking; a published head that
    // verifies under the fixture key must round-trip to the same text.
    if let Ok(keys) = VerificationKey::parse_key_file(text) {
        assert!(!keys.is_empty());
    }
    if let Ok(p) = fidex::PublishedHead::from_json(text) {
        assert_eq!(p.to_json(), text.strip_suffix('\n').unwrap_or(text), "published head round trip");
        let _ = p.verify(std::slice::from_ref(&k.vk));
    }
    let _ = receipt::monitor(&[text], &[text], std::slice::from_ref(&k.vk));
    if let Ok(vk) = VerificationKey::from_text(text) {
        assert_eq!(vk.to_text(), text.trim(), "verification key text round trip");
        assert_eq!(VerificationKey::from_text(&vk.to_text()).unwrap(), vk);
    }
    if receipt::verify_json(text, &k.vk).is_ok() {
        let t = text.strip_suffix('\n').unwrap_or(text);
        assert!(k.texts.iter().any(|g| g == t), "verify_json accepted a receipt the vault never issued:\n{text}");
    }
    if let Ok(d) = serde_json::from_str::<DeletionReceipt>(text) {
        if receipt::verify(&d, &k.vk).is_ok() {
            assert!(k.deletions.contains(&d), "receipt::verify accepted a forged deletion receipt: {d:?}");
        }
    }
    if let Ok(e) = serde_json::from_str::<EnrollmentReceipt>(text) {
        if receipt::verify_enrollment(&e, &k.vk).is_ok() {
            assert!(k.enrollments.contains(&e), "verify_enrollment accepted a forged enrollment receipt: {e:?}");
        }
    }
    if let Ok(h) = serde_json::from_str::<SignedTreeHead>(text) {
        if h.verify(&k.vk).is_ok() {
            assert!(k.heads.contains(&h), "a tree head the vault never signed verified: {h:?}");
        }
        let _ = h.message();
        for g in &k.heads {
            let _ = receipt::verify_consistency(g, &h, &[], &k.vk);
            let _ = receipt::verify_consistency(&h, g, &[], &k.vk);
        }
    }
});
