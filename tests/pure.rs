//! Pure-Rust checks that touch no files, clocks or threads, so Miri can run them
//! (`scripts/miri.sh`): receipt parsing and offline verification (Ed25519, SHA-256,
//! RFC 6962 inclusion, sparse-Merkle non-membership) on genuine receipts from the fuzz
//! fixture, Merkle-log and live-set proofs, audit-entry and consent JSON round trips, and
//! key text. They also run in the ordinary test suite.

use fidex::log::audit::LogEntry;
use fidex::log::merkle::{self, MerkleLog};
use fidex::log::smt::{self, LiveSet};
use fidex::receipt::{self, Receipt};
use fidex::{ConsentReceipt, VaultKey, VerificationKey};

const VK: &str = include_str!("../fuzz/fixture/vk.txt");
const RECEIPTS: &str = include_str!("../fuzz/fixture/receipts.txt");

fn receipts() -> Vec<&'static str> {
    RECEIPTS.split("\n----\n").map(|s| s.trim_end_matches('\n')).filter(|s| !s.is_empty()).collect()
}

#[test]
fn genuine_receipts_verify_and_edits_do_not() {
    let vk = VerificationKey::from_text(VK).unwrap();
    assert_eq!(vk.to_text(), VK.trim());
    let rs = receipts();
    assert!(rs.len() >= 2);
    for text in rs {
        let r = receipt::verify_json(text, &vk).unwrap();
        match &r {
            Receipt::Deletion(d) => {
                assert_eq!(receipt::to_json(d), text);
                let mut bad = d.clone();
                bad.deleted_at += 1;
                assert!(receipt::verify(&bad, &vk).is_err());
            }
            Receipt::Enrollment(e) => {
                assert_eq!(receipt::to_json(e), text);
                let mut bad = e.clone();
                bad.consent_sha256 = "0".repeat(64);
                assert!(receipt::verify_enrollment(&bad, &vk).is_err());
            }
        }
        // One changed byte anywhere in the text is rejected.
        let edited = text.replacen("\"version\": 1", "\"version\": 2", 1);
        assert!(receipt::verify_json(&edited, &vk).is_err());
    }
}

#[test]
fn audit_entries_round_trip() {
    for text in receipts() {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        for field in ["log_entry", "consent_entry", "enrollment_entry"] {
            if let Some(s) = v.get(field).and_then(|s| s.as_str()) {
                let e = LogEntry::from_bytes(s.as_bytes()).unwrap();
                assert_eq!(e.to_bytes(), s.as_bytes(), "{field} is canonical");
            }
        }
    }
}

#[test]
fn merkle_log_proofs() {
    let leaves: Vec<merkle::Hash> = (0u8..7).map(|i| merkle::leaf_hash(&[i])).collect();
    let mut log = MerkleLog::new();
    for l in &leaves {
        log.append(*l);
    }
    assert_eq!(log.root(), merkle::root_of(&leaves));
    assert_eq!(MerkleLog::from_leaves(leaves.clone()).root(), log.root());
    for size in 1..=leaves.len() as u64 {
        let root = log.root_at(size).unwrap();
        for i in 0..size {
            let p = log.inclusion_proof(i, size).unwrap();
            merkle::verify_inclusion(&leaves[i as usize], i, size, &p, &root).unwrap();
            if let Some(first) = p.first() {
                let mut bad = p.clone();
                bad[0][0] ^= 1;
                assert_ne!(bad[0], *first);
                assert!(merkle::verify_inclusion(&leaves[i as usize], i, size, &bad, &root).is_err());
            }
        }
        for old in 0..=size {
            let p = log.consistency_proof(old, size).unwrap();
            merkle::verify_consistency(old, size, &log.root_at(old).unwrap(), &root, &p).unwrap();
        }
    }
    assert!(log.inclusion_proof(7, 7).is_err());
    assert!(merkle::verify_inclusion(&leaves[0], u64::MAX, u64::MAX, &[], &log.root()).is_err());
}

#[test]
fn live_set_proofs() {
    let keys: Vec<smt::Key> = (0u8..12).map(|i| {
        let mut k = [0u8; 16];
        k[0] = i.wrapping_mul(37);
        k[15] = i;
        k
    }).collect();
    let mut set = LiveSet::new();
    for k in &keys {
        assert!(set.insert(*k));
    }
    assert!(set.remove(&keys[3]));
    let root = set.root();
    let present: Vec<smt::Key> = keys.iter().copied().filter(|k| *k != keys[3]).collect();
    assert_eq!(LiveSet::from_keys(present.iter().copied()).root(), root);
    for k in &present {
        smt::verify_membership(&root, k, &set.prove(k)).unwrap();
        assert!(smt::verify_non_membership(&root, k, &set.prove(k)).is_err());
    }
    smt::verify_non_membership(&root, &keys[3], &set.prove(&keys[3])).unwrap();
    assert!(smt::verify_membership(&root, &keys[3], &set.prove(&keys[3])).is_err());
}

#[test]
fn consent_and_key_text_round_trip() {
    let mut c = ConsentReceipt::explicit_at("s-1", "Acme", "https://acme.example/p", &["authentication", "identification"], 1_700_000_000, 1_750_000_000).unwrap(); // no host clock under Miri
    c.expires_at = Some(1_800_000_000);
    c.validate(1_750_000_000).unwrap();
    let back = ConsentReceipt::from_json(&c.to_json()).unwrap();
    assert_eq!(back, c);
    assert!(back.covers("Identification"));
    let k = VaultKey::from_bytes([0x5a; 32]);
    let t = k.export_text();
    assert_eq!(VaultKey::import_text(&t.to_ascii_uppercase().replacen("FIDEX-KEY-1:", "fidex-key-1:", 1)).unwrap().expose_secret(), k.expose_secret());
    assert!(VaultKey::import_text(&t[..t.len() - 1]).is_err());
}
