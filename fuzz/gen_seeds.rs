//! Regenerates the fuzz fixture and seed corpora from a real vault:
//!
//!     cd fuzz && cargo run --example gen_seeds
//!
//! Writes fixture/vault.bin (the files of a small committed vault under the fixed test key
//! FIXTURE_KEY), fixture/vk.txt, fixture/receipts.txt, and corpus/<target>/seed-*.
//! Vault ids and nonces are random, so every run gives different (equally valid) bytes;
//! the fixture and the seeds of one run always belong together.

use fidex::clock::ManualClock;
use fidex::receipt;
use fidex::{ConsentReceipt, DeletionReason, Vault, VaultConfig, VaultKey};
use fidex_fuzz::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn write(path: PathBuf, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
}

fn clear_seeds(corpus: &Path, target: &str) {
    if let Ok(rd) = std::fs::read_dir(corpus.join(target)) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with("seed-") {
                std::fs::remove_file(e.path()).unwrap();
            }
        }
    }
}

fn consent(subject: &str, purposes: &[&str]) -> ConsentReceipt {
    ConsentReceipt::explicit(subject, "Acme Corp", "https://acme.example/privacy", purposes, FIXTURE_NOW - 60).unwrap()
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("corpus");
    let work = std::env::temp_dir().join(format!("fidex-gen-seeds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let dir = work.join("vault");

    // --- A small real vault: 4 enrollments over two commits, one deletion, one touch. ---
    let key = VaultKey::from_bytes(FIXTURE_KEY);
    let clock = ManualClock::new(FIXTURE_NOW);
    let mut cfg = VaultConfig::new(4);
    cfg.purposes.push("payments".into());
    let v = Vault::create(&dir, &key, cfg).unwrap();
    v.set_clock(Arc::new(clock.clone()));
    let a = v.enroll(&[1.0, 0.0, 0.0, 0.0], &consent("user-a", &["authentication", "identification"]), Some(b"user-a")).unwrap();
    let mut cb = consent("user-b", &["authentication"]);
    cb.expires_at = Some(FIXTURE_NOW + 10 * fidex::vault::YEAR_SECS);
    cb.policy_version = Some("2025-01".into());
    let b = v.enroll(&[0.0, 1.0, 0.0, 0.0], &cb, None).unwrap();
    let c = v.enroll(&[0.0, 0.0, 1.0, 0.0], &consent("user-c", &["identification", "payments"]), Some(&[0xff; 40])).unwrap();
    clock.advance(10);
    v.commit().unwrap();
    let d = v.enroll(&[0.0, 0.0, 0.6, 0.8], &consent("user-d", &["identification"]), None).unwrap();
    clock.advance(10);
    v.commit().unwrap();
    clock.advance(10);
    let del = v.delete(&b.facial_id, DeletionReason::SubjectRequest).unwrap();
    clock.advance(10);
    assert_eq!(v.identify(&[0.0, 0.0, 0.7, 0.7], 1, None, "identification").unwrap()[0].facial_id, d.facial_id);
    v.commit().unwrap();
    let vk = v.verification_key();
    // Enrollment receipts exist only for committed enrollments.
    let (ra, rd) = (v.enrollment_receipt(&a.facial_id).unwrap(), v.enrollment_receipt(&d.facial_id).unwrap());
    drop(v);
    let _ = (a.facial_id, c.facial_id);

    // --- Fixture: manifest first, then segments and log chunks by name. ---
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "LOCK")
        .collect();
    names.sort();
    names.retain(|n| n != MANIFEST);
    names.insert(0, MANIFEST.to_string());
    for n in &names {
        files.push((n.clone(), std::fs::read(dir.join(n)).unwrap()));
    }
    write(root.join("fixture/vault.bin"), &encode_container(&files));
    write(root.join("fixture/vk.txt"), format!("{}\n", vk.to_text()).as_bytes());
    let receipts = [receipt::to_json(&ra), receipt::to_json(&rd), receipt::to_json(&del)];
    for r in &receipts {
        receipt::verify_json(r, &vk).unwrap();
    }
    write(root.join("fixture/receipts.txt"), (receipts.join(RECEIPT_SEPARATOR) + "\n").as_bytes());

    // --- open_vault / open_vault_wrong_key: each file raw, sealed-plaintext, missing. ---
    for t in ["open_vault", "open_vault_wrong_key"] {
        clear_seeds(&corpus, t);
    }
    let vid: [u8; 16] = files[0].1[16..32].try_into().unwrap();
    for (i, (name, bytes)) in files.iter().enumerate() {
        let stem = name.split('.').next().unwrap().to_string();
        let plain = open_file(&key, &vid, name, bytes).expect("fixture files authenticate");
        let raw = [&[i as u8, 0][..], bytes].concat();
        let sealed = [&[i as u8, 1][..], &plain].concat();
        for t in ["open_vault", "open_vault_wrong_key"] {
            write(corpus.join(t).join(format!("seed-raw-{i}-{stem}")), &raw);
            write(corpus.join(t).join(format!("seed-sealed-{i}-{stem}")), &sealed);
        }
        write(corpus.join("open_vault").join(format!("seed-missing-{i}-{stem}")), &[i as u8, 2]);
    }

    // --- consent_json ---
    clear_seeds(&corpus, "consent_json");
    let mut full = consent("user-full", &["authentication", "identification"]);
    full.public_key = Some("ed25519:abcd".into());
    full.policy_version = Some("v3".into());
    full.expires_at = Some(FIXTURE_NOW + 1000);
    full.pii_controllers[0].pii_controller_url = Some("https://acme.example".into());
    full.services[0].purposes[0].third_party_name = Some("Verifier Inc".into());
    let seeds = [
        consent("user-a", &["authentication"]).to_json(),
        serde_json::to_string(&consent("user-b", &["identification", "payments"])).unwrap(),
        full.to_json(),
        cb.to_json(),
    ];
    for (i, s) in seeds.iter().enumerate() {
        write(corpus.join("consent_json").join(format!("seed-{i}")), s.as_bytes());
    }

    // --- key_text ---
    clear_seeds(&corpus, "key_text");
    let kt = key.export_text();
    write(corpus.join("key_text/seed-0"), kt.as_bytes());
    write(corpus.join("key_text/seed-1-upper-ws"), format!("  {}\n", kt.to_ascii_uppercase().replacen("FIDEX-KEY-1:", "fidex-key-1:", 1)).as_bytes());
    write(corpus.join("key_text/seed-2"), VaultKey::from_bytes([0; 32]).export_text().as_bytes());

    // --- receipt_verify ---
    clear_seeds(&corpus, "receipt_verify");
    for (i, r) in receipts.iter().enumerate() {
        write(corpus.join("receipt_verify").join(format!("seed-receipt-{i}")), r.as_bytes());
    }
    write(corpus.join("receipt_verify/seed-vk"), vk.to_text().as_bytes());
    write(corpus.join("receipt_verify/seed-log-entry"), del.log_entry.as_bytes());
    write(corpus.join("receipt_verify/seed-tree-head"), receipt::to_json(&del.tree_head).as_bytes());

    // --- log_proofs: a few byte strings of different lengths ---
    clear_seeds(&corpus, "log_proofs");
    write(corpus.join("log_proofs/seed-0"), &[7, 5, 3, 9, 2, 200, 1, 2, 3, 4]);
    write(corpus.join("log_proofs/seed-1"), &(0u8..=255).collect::<Vec<_>>());
    write(corpus.join("log_proofs/seed-2"), &[39, 39, 17, 12, 77, 131, 5, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0, 3, 3, 47, 0, 1, 0, 2, 128, 1, 1, 2, 0, 4]);

    let _ = std::fs::remove_dir_all(&work);
    println!("wrote fixture ({} files) and seeds under {}", files.len(), corpus.display());
}
