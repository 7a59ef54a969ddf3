//! Verifiable deletion and compliance records (issue 3): receipts, audit log, retention,
//! subject rights, key rotation, cancelable templates.
mod common;
use common::*;
use fidex::log::smt;
use fidex::receipt::Receipt;
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

// ------------------------------------------------------------------ issue 16: receipts v2

/// A changed copy of a deletion receipt, in canonical form (so the change reaches the
/// verifier's checks instead of stopping at the canonical-form gate).
fn edited(r: &DeletionReceipt, f: impl FnOnce(&mut DeletionReceipt)) -> String {
    let mut c = r.clone();
    f(&mut c);
    receipt::to_json(&c)
}

#[test]
fn withdrawal_receipts_prove_the_withdrawal_and_the_deletion() {
    let (_d, v, _k, clock, ids, _, _) = setup(8, 6);
    let vk = v.verification_key();
    clock.advance(100);
    let w = v.withdraw_consent(&ids[0]).unwrap();
    assert_eq!(w.version, 2);
    let wp = w.withdrawal.as_ref().expect("a withdrawal receipt carries its withdrawal entry");
    assert_eq!(wp.log_index + 1, w.log_index, "withdrawal logged right before the deletion");
    assert_eq!(wp.withdrawn_at, fidex::clock::Clock::now(&clock));
    let entry: serde_json::Value = serde_json::from_str(&wp.log_entry).unwrap();
    assert_eq!(entry["event"], "consent_withdrawn");
    assert_eq!(entry["facial_id"], ids[0].to_string());
    let text = receipt::to_json(&w);
    receipt::verify_json(&text, &vk).unwrap();
    // Each part is checked: a withdrawal entry of another subject, an index after the
    // deletion, a changed time, a broken proof, or the part on another reason all fail.
    let other = v.withdraw_consent(&ids[1]).unwrap();
    let cases: Vec<(&str, String)> = vec![
        ("another subject's withdrawal", edited(&w, |r| r.withdrawal = other.withdrawal.clone())),
        ("withdrawal time changed", edited(&w, |r| r.withdrawal.as_mut().unwrap().withdrawn_at -= 1)),
        ("index changed", edited(&w, |r| r.withdrawal.as_mut().unwrap().log_index += 1)),
        ("proof emptied", edited(&w, |r| r.withdrawal.as_mut().unwrap().inclusion_proof.clear())),
        ("withdrawal on a subject_request", edited(&w, |r| r.reason = DeletionReason::SubjectRequest)),
        ("withdrawal on a version-1 receipt", edited(&w, |r| r.version = 1)),
    ];
    for (what, t) in &cases {
        let e = receipt::verify_json(t, &vk).expect_err(what);
        assert!(!e.to_string().contains("canonical"), "{what}: refused only for its form: {e}");
    }
    // Without the part the receipt still proves the deletion (with reason consent_withdrawn),
    // as one made by `delete` before issue 16 does, but no longer shows the withdrawal.
    let Receipt::Deletion(d) = receipt::verify_json(&edited(&w, |r| r.withdrawal = None), &vk).unwrap() else { panic!() };
    assert!(d.withdrawal.is_none());
    // `delete` with reason consent_withdrawn is a withdrawal: it logs one and proves it.
    let d = v.delete(&ids[2], DeletionReason::ConsentWithdrawn).unwrap();
    assert!(d.withdrawal.is_some());
    receipt::verify(&d, &vk).unwrap();
    let kinds: Vec<String> = v.audit_entries(d.log_index - 1, Some(d.log_index + 1)).unwrap().iter().map(|e| serde_json::to_value(&e.event).unwrap()["event"].as_str().unwrap().to_string()).collect();
    assert_eq!(kinds, ["consent_withdrawn", "deleted"]);
    // Other reasons carry no withdrawal part.
    assert!(v.delete(&ids[3], DeletionReason::Admin).unwrap().withdrawal.is_none());
}

#[test]
fn version_2_heads_name_their_key_and_sign_no_live_count() {
    let (_d, v, _k, _c, ids, _, _) = setup(8, 3);
    let vk = v.verification_key();
    let head = v.tree_head().unwrap();
    assert_eq!(head.version, Some(2));
    assert_eq!(head.key_id.as_deref(), Some(vk.key_id().as_str()));
    assert!(head.live_count.is_none());
    // key id = first 8 bytes of SHA-256 of the raw public key, in hex.
    use sha2::Digest;
    assert_eq!(vk.key_id(), fidex::key::to_hex(&sha2::Sha256::digest(vk.public_key)[..8]));
    // The key id is signed.
    let mut other_id = head.clone();
    other_id.key_id = Some("0000000000000000".into());
    assert!(other_id.verify(&vk).is_err());
    // A count added to a version-2 head is refused (it is not part of the format).
    let mut counted = head.clone();
    counted.live_count = Some(ids.len() as u64);
    assert!(counted.verify(&vk).is_err());
    // After a rotation, heads name the new key; the old head still verifies with the old key.
    v.rotate_key(&VaultKey::generate()).unwrap();
    let new_head = v.tree_head().unwrap();
    assert_ne!(new_head.key_id, head.key_id);
    let keys = [vk, v.verification_key()];
    assert_eq!(head.verify_with_keys(&keys).unwrap(), vk);
    assert_eq!(new_head.verify_with_keys(&keys).unwrap(), v.verification_key());
    assert!(new_head.verify_with_keys(&[vk]).is_err());
}

#[test]
fn enrollment_receipts_are_version_2_and_timed_after_their_entries() {
    let (_d, v, _k, clock, ids, _, _) = setup(8, 2);
    clock.advance(500);
    let r = v.enrollment_receipt(&ids[0]).unwrap();
    assert_eq!(r.version, 2);
    let c: serde_json::Value = serde_json::from_str(&r.consent_entry).unwrap();
    assert!(c["time"].as_i64().unwrap() <= r.enrolled_at);
    assert!(r.tree_head.timestamp >= r.enrolled_at);
    receipt::verify_enrollment(&r, &v.verification_key()).unwrap();
}

#[test]
fn a_purge_as_of_a_later_date_logs_its_deletions_at_the_clock_time() {
    let (_d, v, _k, clock, ids, _, _) = setup(8, 3);
    let now = fidex::clock::Clock::now(&clock);
    let later = now + 4 * vault::YEAR_SECS;
    let purged = v.purge_expired(Some(later)).unwrap();
    assert_eq!(purged.len(), 3);
    for r in &purged {
        assert_eq!(r.deleted_at, now, "logged when it happened, not as of {later}");
        receipt::verify(r, &v.verification_key()).unwrap();
    }
    // The log's times do not go backwards across the purge and what follows.
    clock.advance(1);
    v.enroll(&[0.5; 8], &both(), None).unwrap();
    v.commit().unwrap();
    let times: Vec<i64> = v.audit_entries(0, None).unwrap().iter().skip(1).map(|e| e.time).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(!v.contains(&ids[0]));
}

#[test]
fn any_receipt_can_be_issued_again_from_the_log() {
    let (d, v, key, clock, ids, _, _) = setup(8, 5);
    let vk = v.verification_key();
    let del = v.delete(&ids[0], DeletionReason::SubjectRequest).unwrap();
    let wd = v.withdraw_consent(&ids[1]).unwrap();
    clock.advance(1000);
    v.close().unwrap();
    let v = Vault::open(d.path().join("v"), &key).unwrap();
    v.set_clock(Arc::new(clock.clone()));
    // Deletion: the same entry, proven against a fresh head.
    let Receipt::Deletion(again) = v.issue_receipt(&ids[0]).unwrap() else { panic!("a deletion receipt") };
    assert_eq!((again.log_index, again.deleted_at, again.reason, &again.log_entry), (del.log_index, del.deleted_at, del.reason, &del.log_entry));
    assert!(again.tree_head.log_size >= del.tree_head.log_size);
    assert!(again.tree_head.timestamp > del.tree_head.timestamp);
    receipt::verify_json(&receipt::to_json(&again), &vk).unwrap();
    // Withdrawal: with its withdrawal entry.
    let Receipt::Deletion(w2) = v.issue_receipt(&ids[1]).unwrap() else { panic!() };
    assert_eq!(w2.withdrawal.as_ref().unwrap().log_index, wd.withdrawal.as_ref().unwrap().log_index);
    receipt::verify(&w2, &vk).unwrap();
    // Enrollment of a live template.
    let Receipt::Enrollment(e) = v.issue_receipt(&ids[2]).unwrap() else { panic!() };
    receipt::verify_enrollment(&e, &vk).unwrap();
    // Not yet committed, or never seen.
    let fresh = v.enroll(&[0.1, 0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3], &both(), None).unwrap().facial_id;
    assert!(matches!(v.issue_receipt(&fresh), Err(Error::NotCommitted(_))));
    assert!(matches!(v.issue_receipt(&FacialId::random()), Err(Error::NotFoundId(_))));
}

/// Child half of the crash test: deletes the template named in FIDEX_RECEIPT_CRASH_ID and
/// is killed by SIGKILL right after the deletion commits, before it can save the receipt.
#[test]
#[ignore]
fn receipt_crash_worker() {
    let Ok(dir) = std::env::var("FIDEX_RECEIPT_CRASH_DIR") else { return };
    let dir = std::path::Path::new(&dir);
    let key = VaultKey::import_text(&std::fs::read_to_string(dir.join("key")).unwrap()).unwrap();
    let v = Vault::open(dir.join("v"), &key).unwrap();
    let id: FacialId = std::env::var("FIDEX_RECEIPT_CRASH_ID").unwrap().parse().unwrap();
    let _receipt = v.delete(&id, DeletionReason::SubjectRequest).unwrap();
    // The deletion is committed; the receipt exists only in this process's memory.
    // SAFETY: plain libc calls on the current process.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    unreachable!("SIGKILL ends the process");
}

/// Issue 14, item 2: a crash right after a deletion commits used to lose its signed receipt
/// for good. The child deletes and is SIGKILLed before the receipt leaves its memory; the
/// deletion is durable, and the receipt is issued again from the log and verifies.
#[test]
fn a_receipt_lost_in_a_crash_after_the_commit_is_issued_again() {
    let dir = tempfile::tempdir().unwrap();
    let key = VaultKey::generate();
    std::fs::write(dir.path().join("key"), key.export_text().as_bytes()).unwrap();
    let v = Vault::create(dir.path().join("v"), &key, VaultConfig::new(8)).unwrap();
    let mut f = Faces::new(8, 5);
    let ids: Vec<FacialId> = (0..3).map(|_| v.enroll(&f.identity(), &both(), None).unwrap().facial_id).collect();
    v.close().unwrap();
    let exe = std::env::current_exe().unwrap();
    for id in &ids[..2] {
        let status = std::process::Command::new(&exe)
            .args(["--ignored", "--exact", "receipt_crash_worker", "--nocapture", "--test-threads=1"])
            .env("FIDEX_RECEIPT_CRASH_DIR", dir.path())
            .env("FIDEX_RECEIPT_CRASH_ID", id.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL), "the worker was killed after its deletion, not before");
    }
    let v = Vault::open(dir.path().join("v"), &key).unwrap();
    let vk = v.verification_key();
    for id in &ids[..2] {
        assert!(!v.contains(id), "the deletion committed before the crash");
        let r = v.issue_receipt(id).unwrap();
        let (checked, by) = receipt::verify_json_with_keys(&r.to_json(), &[vk]).unwrap();
        assert_eq!(by, vk);
        let Receipt::Deletion(d) = checked else { panic!("a deletion receipt") };
        assert_eq!((d.facial_id, d.reason), (*id, DeletionReason::SubjectRequest));
    }
    assert!(v.contains(&ids[2]));
}

// ------------------------------------------------------------------ published heads, monitor

#[test]
fn published_heads_anchor_receipts_signed_between_them() {
    let (_d, v, _k, clock, ids, _, _) = setup(8, 6);
    let vk = v.verification_key();
    let p1 = v.publish_head(None).unwrap();
    assert!(p1.previous.is_none() && p1.leaf_hashes.is_empty());
    clock.advance(10);
    let r1 = receipt::to_json(&v.delete(&ids[0], DeletionReason::SubjectRequest).unwrap());
    let r2 = receipt::to_json(&v.withdraw_consent(&ids[1]).unwrap());
    let e3 = receipt::to_json(&v.enrollment_receipt(&ids[2]).unwrap());
    clock.advance(10);
    let p2 = v.publish_head(Some(&p1)).unwrap();
    assert_eq!(p2.previous.as_ref().unwrap().log_size, p1.tree_head.log_size);
    assert_eq!(p2.leaf_hashes.len() as u64, p2.tree_head.log_size - p1.tree_head.log_size);
    p2.verify(&[vk]).unwrap();
    let r3 = receipt::to_json(&v.delete(&ids[3], DeletionReason::Admin).unwrap());
    let (h1, h2) = (p1.to_json(), p2.to_json());
    let report = receipt::monitor(&[&h2, &h1], &[&r1, &r2, &e3, &r3], &[vk]);
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.heads.iter().map(|h| h.log_size).collect::<Vec<_>>(), [p1.tree_head.log_size, p2.tree_head.log_size]);
    let size2 = p2.tree_head.log_size;
    // The first two deletions' heads lie strictly between the published sizes: anchored by
    // the link's leaf hashes. The enrollment receipt's head has the size of the second one.
    for r in &report.receipts[..3] {
        assert!(r.valid);
        assert_eq!(r.anchored_at, Some(size2), "{r:?}");
        assert_eq!(r.consistent_until, Some(size2));
    }
    assert!(report.receipts[0].head_size.unwrap() < size2);
    // The last one is newer than every published head: valid, not anchored yet.
    assert!(report.receipts[3].valid && report.receipts[3].anchored_at.is_none());
    // The published head file is canonical and any edit is refused.
    assert_eq!(fidex::PublishedHead::from_json(&format!("{h2}\n")).unwrap(), p2);
    assert!(fidex::PublishedHead::from_json(&h2.replacen("\"version\": 2", "\"version\":2", 1)).is_err());
}

#[test]
fn the_monitor_reports_forks_broken_links_missing_heads_and_bad_receipts() {
    let dir = tempfile::tempdir().unwrap();
    let key = VaultKey::generate();
    let v = Vault::create(dir.path().join("v"), &key, VaultConfig::new(8)).unwrap();
    let mut f = Faces::new(8, 9);
    let ids: Vec<FacialId> = (0..8).map(|_| v.enroll(&f.identity(), &both(), None).unwrap().facial_id).collect();
    v.commit().unwrap();
    let vk = v.verification_key();
    let p1 = v.publish_head(None).unwrap();
    // A copy of the vault as it is now: restoring it later forks the history.
    let backup = dir.path().join("backup");
    std::fs::create_dir(&backup).unwrap();
    for e in std::fs::read_dir(dir.path().join("v")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), backup.join(e.file_name())).unwrap();
    }
    let kept = receipt::to_json(&v.delete(&ids[0], DeletionReason::SubjectRequest).unwrap());
    let p2 = v.publish_head(Some(&p1)).unwrap();
    v.delete(&ids[1], DeletionReason::SubjectRequest).unwrap();
    let p3 = v.publish_head(Some(&p2)).unwrap();
    let (h1, h2, h3) = (p1.to_json(), p2.to_json(), p3.to_json());
    assert!(receipt::monitor(&[&h1, &h2, &h3], &[&kept], &[vk]).ok);

    // 1. Equivocation: the restored copy deletes someone else; its head has the size of p2
    //    and links to p1 correctly, but another root.
    let fork = Vault::open(&backup, &key).unwrap();
    let forked_receipt = receipt::to_json(&fork.delete(&ids[5], DeletionReason::SubjectRequest).unwrap());
    let pf = fork.publish_head(Some(&p1)).unwrap();
    assert_eq!(pf.tree_head.log_size, p2.tree_head.log_size);
    pf.verify(&[vk]).unwrap(); // a valid head on its own
    let report = receipt::monitor(&[&h1, &h2, &h3, &pf.to_json()], &[&kept], &[vk]);
    assert!(!report.ok);
    assert!(report.problems.iter().any(|p| p.kind == receipt::ProblemKind::Equivocation), "{:?}", report.problems);
    // The forked receipt alone against the genuine chain is equivocation too.
    let report = receipt::monitor(&[&h1, &h2, &h3], &[&forked_receipt], &[vk]);
    assert!(report.problems.iter().any(|p| p.kind == receipt::ProblemKind::Equivocation), "{:?}", report.problems);
    // The genuine vault refuses to publish after the forked head (not a prefix of its log).
    assert!(matches!(v.publish_head(Some(&pf)), Err(Error::VerificationFailed(_))));

    // 2. Not an extension: a link whose proof is for another history.
    let mut broken = p3.clone();
    broken.leaf_hashes[0] = broken.leaf_hashes[0].replacen(&broken.leaf_hashes[0][..1], if broken.leaf_hashes[0].starts_with('0') { "1" } else { "0" }, 1);
    let report = receipt::monitor(&[&h1, &h2, &broken.to_json()], &[], &[vk]);
    assert!(report.problems.iter().any(|p| p.kind == receipt::ProblemKind::NotAnExtension), "{:?}", report.problems);

    // 3. Missing link: without p2, nothing links p1 to p3.
    let report = receipt::monitor(&[&h1, &h3], &[], &[vk]);
    assert!(report.problems.iter().any(|p| p.kind == receipt::ProblemKind::MissingLink), "{:?}", report.problems);

    // 4. An edited head and a receipt that does not verify.
    let report = receipt::monitor(&[&h1.replacen("  ", "   ", 1)], &[&kept.replacen("subject_request", "admin", 1)], &[vk]);
    let kinds: Vec<_> = report.problems.iter().map(|p| p.kind).collect();
    assert!(kinds.contains(&receipt::ProblemKind::InvalidHead) && kinds.contains(&receipt::ProblemKind::InvalidReceipt), "{kinds:?}");

    // 5. Another vault's head.
    let other = Vault::create(dir.path().join("o"), &VaultKey::generate(), VaultConfig::new(8)).unwrap();
    let po = other.publish_head(None).unwrap();
    let report = receipt::monitor(&[&h1, &po.to_json()], &[], &[vk, other.verification_key()]);
    assert!(report.problems.iter().any(|p| p.kind == receipt::ProblemKind::WrongVault), "{:?}", report.problems);
}

#[test]
fn the_monitor_follows_a_key_rotation() {
    let (_d, v, _k, _c, ids, _, _) = setup(8, 4);
    let old = v.verification_key();
    let p1 = v.publish_head(None).unwrap();
    let r = receipt::to_json(&v.delete(&ids[0], DeletionReason::SubjectRequest).unwrap());
    v.rotate_key(&VaultKey::generate()).unwrap();
    let p2 = v.publish_head(Some(&p1)).unwrap();
    assert_ne!(p1.tree_head.key_id, p2.tree_head.key_id);
    let keys = fidex::VerificationKey::parse_key_file(&format!("# current\n{}\n# before the rotation\n{}\n", v.verification_key().to_text(), old.to_text())).unwrap();
    let report = receipt::monitor(&[&p1.to_json(), &p2.to_json()], &[&r], &keys);
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.receipts[0].anchored_at, Some(p2.tree_head.log_size));
    // With only the new key, the old head cannot be checked.
    assert!(!receipt::monitor(&[&p1.to_json(), &p2.to_json()], &[], &[v.verification_key()]).ok);
}

/// docs/FORMAT.md: the consent_sha256 of the log is not the hash of the submitted text but
/// of fidex's compact re-serialisation, which the subject export shows.
#[test]
fn consent_sha256_is_the_hash_of_the_exported_consent_in_compact_form() {
    let dir = tempfile::tempdir().unwrap();
    let (v, _k, _c) = new_vault(&dir.path().join("v"), 4);
    // As a platform might send it: pretty-printed, a timestamp in milliseconds, unknown members.
    let mut c: serde_json::Value = serde_json::from_str(&both().to_json()).unwrap();
    c["consentTimestamp"] = serde_json::json!((T0 - 10) * 1000);
    c["tenantDomain"] = "carbon.super".into();
    c["aState"] = "ACTIVE".into();
    let submitted = serde_json::to_string_pretty(&c).unwrap();
    let id = v.enroll_json(&[1.0, 0.0, 0.0, 0.0], &submitted, None).unwrap().facial_id;
    v.commit().unwrap();
    use sha2::Digest;
    let logged = v.enrollment_receipt(&id).unwrap().consent_sha256;
    assert_ne!(logged, fidex::key::to_hex(&sha2::Sha256::digest(submitted.as_bytes())), "not the submitted bytes");
    let export = v.export_subject(&id, false).unwrap();
    let compact = serde_json::to_string(&export.consent).unwrap();
    assert_eq!(logged, fidex::key::to_hex(&sha2::Sha256::digest(compact.as_bytes())));
    // The export prints that object (pretty) in the same member order.
    let printed = serde_json::to_string_pretty(&export).unwrap();
    assert!(printed.contains(&serde_json::to_string_pretty(&export.consent).unwrap().replace('\n', "\n  ")));
}
