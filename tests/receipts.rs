//! Verifiable deletion and compliance records (issue 3): receipts, audit log, retention,
//! subject rights, key rotation, cancelable templates.
mod common;
use common::*;
use fidex::log::smt;
use fidex::*;
use std::sync::Arc;

fn setup(dim: u32, n: usize) -> (tempfile::TempDir, Vault, VaultKey, fidex::clock::ManualClock, Vec<FacialId>, Vec<Vec<f32>>, Faces) {
    let dir = tempfile::tempdir().unwrap();
    let (v, key, clock) = new_vault(&dir.path().join("v"), dim);
    let mut f = Faces::new(dim as usize, 21);
    let mut ids = Vec::new();
    let mut centres = Vec::new();
    for i in 0..n {
        let c = f.identity();
        ids.push(v.enroll(&f.capture(&c), &consent(&format!("s{i}"), &["authentication", "identification"]), None).unwrap().facial_id);
        centres.push(c);
    }
    v.commit().unwrap();
    (dir, v, key, clock, ids, centres, f)
}

#[test]
fn deletion_receipt_verifies_and_every_changed_byte_fails() {
    let (_d, v, _k, _c, ids, _, _) = setup(16, 30);
    let vk = v.verification_key();
    let r = v.delete(&ids[3], DeletionReason::SubjectRequest).unwrap();
    receipt::verify(&r, &vk).unwrap();
    let json = receipt::to_json(&r);
    receipt::verify_json(&json, &vk).unwrap();
    // Published key round-trips as text.
    let vk2 = VerificationKey::from_text(&vk.to_text()).unwrap();
    receipt::verify_json(&json, &vk2).unwrap();
    let bytes = json.as_bytes();
    let mut rejected = 0;
    for i in 0..bytes.len() {
        for bit in [0x01u8, 0x20] {
            let mut m = bytes.to_vec();
            m[i] ^= bit;
            if let Ok(s) = String::from_utf8(m) {
                assert!(receipt::verify_json(&s, &vk).is_err(), "byte {i} ^ {bit:#x} still verifies: {}", &s[i.saturating_sub(20)..(i + 20).min(s.len())]);
            }
            rejected += 1;
        }
    }
    println!("{rejected} single-byte variants of a {}-byte receipt rejected", bytes.len());
}

#[test]
fn receipt_rejected_under_another_vaults_key() {
    let (_d, v, _k, _c, ids, _, _) = setup(8, 5);
    let (_d2, other, _k2, _c2, _, _, _) = setup(8, 5);
    let r = v.delete(&ids[0], DeletionReason::Admin).unwrap();
    assert!(matches!(receipt::verify(&r, &other.verification_key()), Err(Error::VerificationFailed(_))));
    // Same vault id, wrong public key (forged by someone without the vault key).
    let mut forged = v.verification_key();
    forged.public_key = other.verification_key().public_key;
    assert!(receipt::verify(&r, &forged).is_err());
}

#[test]
fn non_membership_cannot_be_shown_for_a_present_id() {
    let (_d, v, _k, _c, ids, _, _) = setup(8, 20);
    let r = v.delete(&ids[0], DeletionReason::SubjectRequest).unwrap();
    let vk = v.verification_key();
    // Re-target the receipt at a still-present ID: the log entry and the live-set proof both fail.
    let mut moved = r.clone();
    moved.facial_id = ids[1];
    assert!(receipt::verify(&moved, &vk).is_err());
    // Even with an honest entry-independent check: the live root proves ids[1] is present.
    let live_root: [u8; 32] = fidex::key::from_hex(&r.tree_head.live_root).unwrap().try_into().unwrap();
    let proof = fidex::log::smt::SmtProof { siblings: vec![], terminal: smt::Terminal::Empty };
    assert!(smt::verify_non_membership(&live_root, ids[1].as_bytes(), &proof).is_err());
    // And the deleted one never matches again, survives reopen, and is not exportable.
    assert!(!v.contains(&ids[0]));
    assert!(matches!(v.export_subject(&ids[0], true), Err(Error::NotFound | Error::NotFoundId(_))));
}

#[test]
fn deleted_ids_stay_deleted_across_reopen_and_logs_are_consistent() {
    let (d, v, key, _c, ids, centres, mut f) = setup(32, 40);
    let head0 = v.tree_head().unwrap();
    let r = v.delete(&ids[5], DeletionReason::SubjectRequest).unwrap();
    let w = v.withdraw_consent(&ids[6]).unwrap();
    assert_eq!(w.reason, DeletionReason::ConsentWithdrawn);
    let vk = v.verification_key();
    receipt::verify(&w, &vk).unwrap();
    v.close().unwrap();
    let v = Vault::open(d.path().join("v"), &key).unwrap();
    for i in [5, 6] {
        assert!(!v.contains(&ids[i]));
        let hits = v.identify(&f.capture(&centres[i]), 10, Some(-1.0), "identification").unwrap();
        assert!(hits.iter().all(|m| m.facial_id != ids[i]));
    }
    // A later head is consistent with the receipt's head and with the one before the deletion.
    let later = v.tree_head().unwrap();
    assert!(later.log_size > r.tree_head.log_size);
    for old in [&head0, &r.tree_head] {
        let proof = v.consistency_proof(old.log_size, later.log_size).unwrap();
        receipt::verify_consistency(old, &later, &proof, &vk).unwrap();
        let mut bad = proof.clone();
        if let Some(h) = bad.first_mut() {
            let c = if h.starts_with('0') { "1" } else { "0" };
            h.replace_range(0..1, c);
            assert!(receipt::verify_consistency(old, &later, &bad, &vk).is_err());
        }
    }
    // Audit log: no biometric data, all events present.
    let entries = v.audit_entries(0, None).unwrap();
    let kinds: Vec<String> = entries.iter().map(|e| serde_json::to_value(&e.event).unwrap()["event"].as_str().unwrap().to_string()).collect();
    for k in ["vault_created", "consent_recorded", "enrolled", "consent_withdrawn", "deleted"] {
        assert!(kinds.iter().any(|x| x == k), "missing {k}");
    }
}

#[test]
fn enrollment_receipt_demonstrates_consent() {
    let dir = tempfile::tempdir().unwrap();
    let (v, _k, _c) = new_vault(&dir.path().join("v"), 8);
    let c = both();
    let e = v.enroll(&[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5], &c, None).unwrap();
    // Receipts sign committed state only.
    assert!(matches!(v.enrollment_receipt(&e.facial_id), Err(Error::NotCommitted(_))));
    v.commit().unwrap();
    let r = v.enrollment_receipt(&e.facial_id).unwrap();
    let vk = v.verification_key();
    receipt::verify_enrollment(&r, &vk).unwrap();
    assert_eq!(r.consent_receipt_id, c.consent_receipt_id);
    let json = receipt::to_json(&r);
    receipt::verify_json(&json, &vk).unwrap();
    for i in (0..json.len()).step_by(7) {
        let mut m = json.clone().into_bytes();
        m[i] ^= 0x01;
        if let Ok(s) = String::from_utf8(m) {
            assert!(receipt::verify_json(&s, &vk).is_err(), "byte {i}");
        }
    }
}

#[test]
fn retention_purges_with_injected_time_and_interaction_extends_it() {
    let (d, v, key, clock, ids, centres, mut f) = setup(32, 10);
    // Subject 0 logs in two years later; the others never come back.
    clock.advance(2 * vault::YEAR_SECS);
    assert!(v.verify(&ids[0], &f.capture(&centres[0]), "authentication").unwrap().matched);
    v.commit().unwrap(); // last interaction is persisted at commit
    drop(v);
    let v = Vault::open(d.path().join("v"), &key).unwrap();
    v.set_clock(Arc::new(clock.clone()));
    clock.advance(vault::YEAR_SECS + 1);
    // Before purging, expired templates already never match.
    assert!(v.identify(&f.capture(&centres[3]), 5, None, "identification").unwrap().is_empty());
    let receipts = v.purge_expired(None).unwrap();
    assert_eq!(receipts.len(), 9);
    let vk = v.verification_key();
    for r in &receipts {
        assert_eq!(r.reason, DeletionReason::RetentionExpired);
        receipt::verify(r, &vk).unwrap();
    }
    assert!(v.contains(&ids[0]));
    // Consent expiry is a deadline too.
    let mut c = both();
    c.expires_at = Some(clock_now(&clock) + 100);
    let e = v.enroll(&f.identity(), &c, None).unwrap().facial_id;
    let purged = v.purge_expired(Some(clock_now(&clock) + 101)).unwrap();
    assert!(purged.iter().any(|r| r.facial_id == e));
    assert_eq!(v.stats().unwrap().deletions_by_reason.get("retention_expired"), Some(&10));
}

fn clock_now(c: &fidex::clock::ManualClock) -> i64 {
    use fidex::clock::Clock;
    c.now()
}

#[test]
fn subject_export_and_processing_record() {
    let (_d, v, _k, _c, ids, _, _) = setup(8, 3);
    let x = v.export_subject(&ids[1], true).unwrap();
    assert_eq!(x.facial_id, ids[1]);
    assert_eq!(x.template.as_ref().unwrap().len(), 8);
    assert!(x.log_entries.iter().any(|e| matches!(e.event, log::audit::Event::Enrolled { .. })));
    assert_eq!(x.consent, v.consent(&ids[1]).unwrap());
    let y = v.export_subject(&ids[1], false).unwrap();
    assert!(y.template.is_none());
    assert!(y.log_entries.iter().any(|e| matches!(e.event, log::audit::Event::RecordExported { template_included: true, .. })));
    let rec = v.processing_record();
    assert_eq!(rec["security"]["key_fingerprint"], v.key_fingerprint());
    assert!(rec["purposes"].as_array().unwrap().len() == 2);
    let text = rec.to_string();
    assert!(!text.contains(&ids[0].to_string()), "the processing record names no subject");
}

#[test]
fn key_rotation_reencrypts_and_old_receipts_still_verify() {
    let (d, v, old_key, _c, ids, centres, mut f) = setup(32, 30);
    let p = d.path().join("v");
    let r_old = v.delete(&ids[0], DeletionReason::SubjectRequest).unwrap();
    let vk_old = v.verification_key();
    let files_before: Vec<String> = std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).filter(|n| n != "LOCK" && n != "fidex.vault").collect();
    let probe = f.capture(&centres[4]);
    let before = v.identify(&probe, 3, None, "identification").unwrap();
    let head_before = v.tree_head().unwrap();
    let new_key = VaultKey::generate();
    v.rotate_key(&new_key).unwrap();
    let head_after = v.tree_head().unwrap();
    let proof = v.consistency_proof(head_before.log_size, head_after.log_size).unwrap();
    let keys = [vk_old, v.verification_key()];
    receipt::verify_consistency_with_keys(&head_before, &head_after, &proof, &keys).unwrap();
    assert!(receipt::verify_consistency(&head_before, &head_after, &proof, &v.verification_key()).is_err());
    assert_ne!(v.verification_key(), vk_old);
    assert_eq!(v.previous_verification_keys(), vec![vk_old]);
    receipt::verify(&r_old, &vk_old).unwrap();
    let after = v.identify(&probe, 3, None, "identification").unwrap();
    assert_eq!(before, after);
    let r_new = v.delete(&ids[1], DeletionReason::SubjectRequest).unwrap();
    receipt::verify(&r_new, &v.verification_key()).unwrap();
    assert!(receipt::verify(&r_new, &vk_old).is_err());
    v.close().unwrap();
    // Every file written under the old key is gone.
    let files_after: Vec<String> = std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    for f in &files_before {
        assert!(!files_after.contains(f), "{f} (old key) survived rotation");
    }
    assert_eq!(Vault::open(&p, &old_key).unwrap_err(), Error::WrongKey);
    let v = Vault::open(&p, &new_key).unwrap();
    assert_eq!(v.len(), 28);
    assert!(v.audit_entries(0, None).unwrap().iter().any(|e| matches!(e.event, log::audit::Event::KeyRotated { .. })));
}

#[cfg(feature = "test-hooks")] // uses Vault::stored_template_for_test
#[test]
fn cancelable_templates_same_results_unlinkable_and_renewable() {
    let dim = 256;
    let mut f = Faces::new(dim, 33);
    let centres: Vec<Vec<f32>> = (0..60).map(|_| f.identity()).collect();
    let captures: Vec<Vec<f32>> = centres.iter().map(|c| f.capture(c)).collect();
    let probes: Vec<Vec<f32>> = centres.iter().map(|c| f.capture(c)).collect();
    let make = |cancelable: bool| {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = VaultConfig::new(dim as u32);
        cfg.cancelable = cancelable;
        let v = Vault::create(dir.path().join("v"), &VaultKey::generate(), cfg).unwrap();
        let ids: Vec<FacialId> = captures.iter().map(|t| v.enroll(t, &both(), None).unwrap().facial_id).collect();
        (dir, v, ids)
    };
    let (_d0, plain, plain_ids) = make(false);
    let (_d1, a, a_ids) = make(true);
    let (_d2, b, b_ids) = make(true);
    // Identical search results (same ranks, scores within float rounding).
    for p in &probes {
        let x = plain.identify(p, 5, Some(-1.0), "identification").unwrap();
        let y = a.identify(p, 5, Some(-1.0), "identification").unwrap();
        let xi: Vec<usize> = x.iter().map(|m| plain_ids.iter().position(|i| *i == m.facial_id).unwrap()).collect();
        let yi: Vec<usize> = y.iter().map(|m| a_ids.iter().position(|i| *i == m.facial_id).unwrap()).collect();
        assert_eq!(xi, yi);
        for (m, n) in x.iter().zip(&y) {
            assert!((m.score - n.score).abs() < 1e-4);
        }
    }
    // Stored templates of the same face in two vaults look like strangers'.
    let cos = |p: &[f32], q: &[f32]| p.iter().zip(q).map(|(a, b)| a * b).sum::<f32>();
    let mut worst = 0f32;
    for i in 0..centres.len() {
        let sa = a.stored_template_for_test(&a_ids[i]).unwrap();
        let sb = b.stored_template_for_test(&b_ids[i]).unwrap();
        let sp = plain.stored_template_for_test(&plain_ids[i]).unwrap();
        worst = worst.max(cos(&sa, &sb).abs()).max(cos(&sa, &sp).abs());
    }
    assert!(worst < 0.3, "cross-vault similarity of the same face {worst} (strangers ≈ N(0, 1/{dim}))");
    // Rotation renews: the stored template changes to an unrelated one, results unchanged.
    let before = a.stored_template_for_test(&a_ids[0]).unwrap();
    let res_before = a.identify(&probes[0], 3, None, "identification").unwrap();
    a.rotate_key(&VaultKey::generate()).unwrap();
    let after = a.stored_template_for_test(&a_ids[0]).unwrap();
    assert!(cos(&before, &after).abs() < 0.3);
    let res_after = a.identify(&probes[0], 3, None, "identification").unwrap();
    assert_eq!(res_before.iter().map(|m| m.facial_id).collect::<Vec<_>>(), res_after.iter().map(|m| m.facial_id).collect::<Vec<_>>());
    // Export gives back the original (normalised) template, not the transformed one.
    let x = a.export_subject(&a_ids[0], true).unwrap().template.unwrap();
    assert!(cos(&x, &captures[0]) > 0.9999);
}
