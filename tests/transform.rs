//! Cancelable-transform constructions (issue 16, item 9): a vault made before construction 2
//! existed keeps its transform (never a wrong answer for an old vault), new vaults use
//! construction 2, and a key rotation moves an old vault to it.
#![cfg(feature = "test-hooks")] // Vault::stored_template_for_test

use fidex::storage::format::{FLAG_CANCELABLE, FLAG_CONSENT_FACTS, FLAG_TRANSFORM_2};
use fidex::{FacialId, Vault, VaultConfig, VaultKey};
use serde_json::Value;
use std::path::Path;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/vault-v1-cancelable");

fn expected() -> Value {
    serde_json::from_str(include_str!("vectors/vault-v1-cancelable.json")).unwrap()
}

/// A copy of the fixture vault (opening takes its lock and tidies the directory).
fn copy_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(FIXTURE).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    dir
}

fn bits_of(v: &[f32]) -> Vec<String> {
    v.iter().map(|x| format!("{:08x}", x.to_bits())).collect()
}

fn fixture_key() -> VaultKey {
    VaultKey::from_bytes([0x42; 32])
}

/// Searches give the recorded ids with the recorded scores (exact bits).
fn assert_searches_as_recorded(v: &Vault, exp: &Value, what: &str) {
    for p in exp["probes"].as_array().unwrap() {
        let probe: Vec<f32> = p["probe"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
        let hits = v.identify(&probe, 3, Some(-1.0), "identification").unwrap();
        let want: Vec<(String, String)> =
            p["hits"].as_array().unwrap().iter().map(|h| (h["facial_id"].as_str().unwrap().to_string(), h["score_bits"].as_str().unwrap().to_string())).collect();
        let got: Vec<(String, String)> = hits.iter().map(|m| (m.facial_id.to_string(), format!("{:08x}", m.score.to_bits()))).collect();
        let ids = |v: &[(String, String)]| v.iter().map(|(i, _)| i.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&got), ids(&want), "{what}: ranked ids");
        for ((_, g), (_, w)) in got.iter().zip(&want) {
            let (g, w) = (f32::from_bits(u32::from_str_radix(g, 16).unwrap()), f32::from_bits(u32::from_str_radix(w, 16).unwrap()));
            assert!((g - w).abs() < 1e-5, "{what}: score {g} vs recorded {w}");
        }
    }
}

#[test]
fn a_vault_made_before_construction_2_keeps_its_transform() {
    let exp = expected();
    let dir = copy_fixture();
    let h = fidex::read_header(dir.path()).unwrap();
    assert_eq!(h.flags, FLAG_CANCELABLE, "the fixture predates construction 2");
    let v = Vault::open(dir.path(), &fixture_key()).unwrap();
    // Every stored (transformed) template is bit for bit what the old code stored and
    // still reads: the vault derived construction 1 from its header.
    let stored = exp["stored"].as_object().unwrap();
    assert_eq!(stored.len(), 4);
    for (id, rec) in stored {
        let id: FacialId = id.parse().unwrap();
        let want: Vec<String> = rec["stored_f32_bits"].as_array().unwrap().iter().map(|b| b.as_str().unwrap().to_string()).collect();
        assert_eq!(bits_of(&v.stored_template_for_test(&id).unwrap()), want, "{id}");
    }
    // Searches answer exactly as before.
    assert_searches_as_recorded(&v, &exp, "old vault");
    // Export undoes the transform: the normalised input comes back.
    let (id, rec) = stored.iter().next().unwrap();
    let input: Vec<f32> = rec["input"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
    let norm = input.iter().map(|x| x * x).sum::<f32>().sqrt();
    let back = v.export_subject(&id.parse().unwrap(), true).unwrap().template.unwrap();
    for (a, b) in back.iter().zip(&input) {
        assert!((a - b / norm).abs() < 1e-5, "exported {a} vs {}", b / norm);
    }
    // Its version-1 receipts still verify with its key.
    let vk = v.verification_key();
    assert_eq!(vk.to_text(), exp["verification_key"].as_str().unwrap());
    for name in ["enrollment", "deletion", "withdrawal"] {
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/vectors/receipts/v1/{name}.json"))).unwrap();
        assert!(text.contains("\"version\": 1"), "{name}");
        fidex::receipt::verify_json(&text, &vk).unwrap_or_else(|e| panic!("version-1 {name} receipt: {e}"));
    }
}

#[test]
fn a_key_rotation_moves_an_old_vault_to_construction_2_with_the_same_answers() {
    let exp = expected();
    let dir = copy_fixture();
    let v = Vault::open(dir.path(), &fixture_key()).unwrap();
    let id: FacialId = exp["stored"].as_object().unwrap().keys().next().unwrap().parse().unwrap();
    let before = v.stored_template_for_test(&id).unwrap();
    let new_key = VaultKey::from_bytes([0x43; 32]);
    v.rotate_key(&new_key).unwrap();
    // The rotation rewrote every segment, in the current meta version (consent facts).
    assert_eq!(v.header().flags, FLAG_CANCELABLE | FLAG_TRANSFORM_2 | FLAG_CONSENT_FACTS);
    assert_searches_as_recorded(&v, &exp, "after rotation");
    let after = v.stored_template_for_test(&id).unwrap();
    let cos: f32 = before.iter().zip(&after).map(|(a, b)| a * b).sum();
    assert!(cos.abs() < 0.9, "the rotation renewed the stored template (cos {cos})");
    v.close().unwrap();
    assert_eq!(fidex::read_header(dir.path()).unwrap().flags, FLAG_CANCELABLE | FLAG_TRANSFORM_2 | FLAG_CONSENT_FACTS);
    let v = Vault::open(dir.path(), &new_key).unwrap();
    assert_eq!(bits_of(&v.stored_template_for_test(&id).unwrap()), bits_of(&after), "reopened under construction 2");
    assert_searches_as_recorded(&v, &exp, "reopened after rotation");
}

#[test]
fn new_cancelable_vaults_use_construction_2_and_plain_ones_no_transform_flag() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = VaultConfig::new(8);
    cfg.cancelable = true;
    let v = Vault::create(dir.path().join("c"), &VaultKey::generate(), cfg).unwrap();
    assert_eq!(v.header().flags, FLAG_CANCELABLE | FLAG_TRANSFORM_2 | FLAG_CONSENT_FACTS);
    let p = Vault::create(dir.path().join("p"), &VaultKey::generate(), VaultConfig::new(8)).unwrap();
    assert_eq!(p.header().flags, FLAG_CONSENT_FACTS);
}

#[test]
fn a_transform_flag_without_the_cancelable_flag_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = VaultKey::generate();
    Vault::create(dir.path(), &key, VaultConfig::new(4)).unwrap().close().unwrap();
    // Set flag bit 1 in the header: the header is associated data of the manifest body, so
    // the body no longer authenticates either; the flags check must not be what lets it pass.
    let m = dir.path().join("fidex.vault");
    let mut b = std::fs::read(&m).unwrap();
    b[12] |= FLAG_TRANSFORM_2 as u8;
    std::fs::write(&m, b).unwrap();
    assert!(Vault::open(dir.path(), &key).is_err());
}

/// `tests/vectors/transform/transform.py` implements construction 2 from docs/FORMAT.md
/// alone (Python standard library): it must reproduce the committed vectors that
/// `src/vault/transform.rs` checks fidex against. Skipped without `python3`.
#[test]
fn the_python_construction_2_reproduces_the_vectors() {
    if !std::process::Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success()) {
        println!("python3 not installed: skipping tests/vectors/transform/transform.py");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/transform/transform.py");
    let out = std::process::Command::new("python3").arg(script).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
