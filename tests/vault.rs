//! Core vault behaviour: consent gating, purpose limitation, duplicates, persistence,
//! wrong keys, deletion leaving no trace, concurrency.
mod common;
use common::*;
use fidex::*;
use std::sync::Arc;

fn enroll_n(v: &Vault, f: &mut Faces, n: usize, c: &ConsentReceipt) -> (Vec<FacialId>, Vec<Vec<f32>>) {
    let mut ids = Vec::new();
    let mut centres = Vec::new();
    for _ in 0..n {
        let centre = f.identity();
        let t = f.capture(&centre);
        ids.push(v.enroll(&t, c, None).unwrap().facial_id);
        centres.push(centre);
    }
    (ids, centres)
}

#[test]
fn consent_is_required_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (v, _k, _c) = new_vault(&dir.path().join("v"), 16);
    let mut f = Faces::new(16, 2);
    let t = f.identity();
    assert_eq!(v.enroll_json(&t, "", None).unwrap_err(), Error::NoConsent);
    assert!(matches!(v.enroll_json(&t, "{not json", None), Err(Error::InvalidConsent(_))));
    let mut implicit = both();
    implicit.services[0].purposes[0].consent_type = "IMPLICIT".into();
    assert!(matches!(v.enroll(&t, &implicit, None), Err(Error::InvalidConsent(_))));
    let mut expired = both();
    expired.expires_at = Some(T0 - 1);
    assert!(matches!(v.enroll(&t, &expired, None), Err(Error::ConsentExpired { .. })));
    let marketing = consent("s", &["marketing"]);
    assert!(matches!(v.enroll(&t, &marketing, None), Err(Error::PurposeNotCovered { .. })));
    assert_eq!(v.len(), 0, "refused enrollments must leave nothing behind");
    let codes: Vec<u32> = [Error::NoConsent, Error::ConsentExpired { expired_at: 0 }, Error::PurposeNotCovered { purpose: String::new(), consented: Box::default() }]
        .iter()
        .map(|e| e.code())
        .collect();
    assert_eq!(codes, vec![1005, 1006, 1007]);
    // And a good one goes in; its receipt can be exported back to the subject.
    let c = both();
    let id = v.enroll(&t, &c, None).unwrap().facial_id;
    assert_eq!(v.consent(&id).unwrap(), c);
}

#[test]
fn purpose_limitation() {
    let dir = tempfile::tempdir().unwrap();
    let (v, _k, _c) = new_vault(&dir.path().join("v"), 32);
    let mut f = Faces::new(32, 3);
    let a = f.identity();
    let auth_only = v.enroll(&f.capture(&a), &consent("a", &["authentication"]), None).unwrap().facial_id;
    let probe = f.capture(&a);
    assert!(v.identify(&probe, 5, None, "identification").unwrap().is_empty(), "auth-only consent must not be identifiable");
    assert_eq!(v.identify(&probe, 5, None, "authentication").unwrap()[0].facial_id, auth_only);
    assert!(v.verify(&auth_only, &probe, "authentication").unwrap().matched);
    assert!(matches!(v.verify(&auth_only, &probe, "identification"), Err(Error::PurposeNotCovered { .. })));
    assert!(matches!(v.identify(&probe, 5, None, "marketing"), Err(Error::UnknownPurpose(_))));
}

#[test]
fn bad_vectors_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (v, _k, _c) = new_vault(&dir.path().join("v"), 4);
    let c = both();
    assert_eq!(v.enroll(&[1.0, 0.0], &c, None).unwrap_err(), Error::DimensionMismatch { expected: 4, got: 2 });
    assert_eq!(v.enroll(&[1.0, f32::NAN, 0.0, 0.0], &c, None).unwrap_err(), Error::NonFiniteValue { index: 1 });
    assert_eq!(v.enroll(&[1.0, 0.0, f32::INFINITY, 0.0], &c, None).unwrap_err(), Error::NonFiniteValue { index: 2 });
    assert_eq!(v.enroll(&[0.0; 4], &c, None).unwrap_err(), Error::ZeroVector);
    assert!(matches!(v.enroll(&[1.0, 0.0, 0.0, 0.0], &c, Some(&vec![0u8; MAX_PAYLOAD_BYTES + 1])), Err(Error::PayloadTooLarge { .. })));
    assert!(matches!(v.identify(&[1.0, 0.0, 0.0, 0.0], 0, None, "identification"), Err(Error::InvalidArgument(_))));
    assert!(matches!(v.identify(&[1.0, 0.0, 0.0, 0.0], 1, Some(f32::NAN), "identification"), Err(Error::InvalidArgument(_))));
    assert_eq!(v.identify_batch(&[1.0, 0.0, 0.0], 1, None, "identification").unwrap_err(), Error::BatchShape { dim: 4, len: 3, items: None });
    assert!(matches!(v.verify(&FacialId::random(), &[1.0, 0.0, 0.0, 0.0], "authentication"), Err(Error::NotFound | Error::NotFoundId(_))));
    assert_eq!(v.len(), 0);
    for bad in [0u32, 4097] {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(Vault::create(d.path().join("x"), &VaultKey::generate(), VaultConfig::new(bad)), Err(Error::InvalidConfig(_))));
    }
    let mut cfg = VaultConfig::new(8);
    cfg.retention_secs = 4 * vault::YEAR_SECS;
    assert!(matches!(cfg.validate(), Err(Error::InvalidConfig(_))), "BIPA caps retention at 3 years");
}

#[test]
fn duplicates_refused_and_quota_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let key = VaultKey::generate();
    let mut cfg = VaultConfig::new(64);
    cfg.max_templates = 3;
    let v = Vault::create(dir.path().join("v"), &key, cfg).unwrap();
    let mut f = Faces::new(64, 4);
    let a = f.identity();
    let first = v.enroll(&a, &both(), None).unwrap().facial_id;
    // The same face again (tiny noise) scores above 0.9.
    let again: Vec<f32> = normalise(a.iter().map(|x| x + 0.001).collect());
    match v.enroll(&again, &both(), None) {
        Err(Error::Duplicate { existing, score }) => {
            assert_eq!(existing, first);
            assert!(score > 0.9);
        }
        other => panic!("expected duplicate, got {other:?}"),
    }
    v.enroll(&f.identity(), &both(), None).unwrap();
    v.enroll(&f.identity(), &both(), None).unwrap();
    assert!(matches!(v.enroll(&f.identity(), &both(), None), Err(Error::QuotaExceeded { quota: 3 })));
}

#[test]
fn reopen_gives_identical_results_and_wrong_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v");
    let (v, key, _c) = new_vault(&p, 128);
    let mut f = Faces::new(128, 5);
    let (ids, centres) = enroll_n(&v, &mut f, 300, &both());
    // Some deletions and an interaction so segments, overlay and log all get exercised.
    v.delete(&ids[10], DeletionReason::SubjectRequest).unwrap();
    v.delete(&ids[20], DeletionReason::Admin).unwrap();
    let probes: Vec<Vec<f32>> = centres.iter().take(40).map(|c| f.capture(c)).collect();
    let before: Vec<Vec<Match>> = probes.iter().map(|p| v.identify(p, 5, Some(0.0), "identification").unwrap()).collect();
    let stats_before = v.stats().unwrap();
    v.close().unwrap();
    assert_eq!(Vault::open(&p, &VaultKey::generate()).unwrap_err(), Error::WrongKey);
    let v = Vault::open(&p, &key).unwrap();
    let after: Vec<Vec<Match>> = probes.iter().map(|p| v.identify(p, 5, Some(0.0), "identification").unwrap()).collect();
    assert_eq!(before, after);
    let s = v.stats().unwrap();
    assert_eq!(s.templates, 298);
    assert_eq!(s.enrollments_total, 300);
    assert_eq!(s.deletions_by_reason.get("subject_request"), Some(&1));
    assert_eq!(s.deletions_by_reason.get("admin"), Some(&1));
    assert_eq!(s.templates, stats_before.templates);
    assert!(!v.contains(&ids[10]) && !v.contains(&ids[20]));
    // The header is readable without the key.
    let h = read_header(&p).unwrap();
    assert_eq!(h.dimension, 128);
    assert_eq!(Vault::open(&p, &key).unwrap_err(), Error::Locked, "a second handle must not open a locked vault");
}

#[cfg(feature = "test-hooks")]
fn all_files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        out.push((e.file_name().into_string().unwrap(), std::fs::read(e.path()).unwrap()));
    }
    out.sort();
    out
}

#[cfg(feature = "test-hooks")]
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.len() <= hay.len() && hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(feature = "test-hooks")] // uses Vault::stored_template_for_test
#[test]
fn deletion_leaves_no_trace_in_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v");
    let (v, key, _c) = new_vault(&p, 32);
    let mut f = Faces::new(32, 6);
    let (mut ids, _) = enroll_n(&v, &mut f, 20, &both());
    // The victim carries a payload marker (and the others do not).
    let payload_marker = b"victim-payload-7f3a";
    let victim = v.enroll(&f.identity(), &both(), Some(payload_marker)).unwrap().facial_id;
    ids.push(victim);
    v.commit().unwrap();
    assert_eq!(v.payload(&victim).unwrap(), payload_marker, "the marker is really enrolled");
    let template = v.stored_template_for_test(&victim).unwrap();
    let template_bytes: Vec<u8> = template.iter().flat_map(|x| x.to_le_bytes()).collect();
    // The victim's segment ciphertext before deletion (every file that exists now).
    let before = all_files(&p);
    let seg_before: Vec<Vec<u8>> = before.iter().filter(|(n, _)| n.starts_with("seg-")).map(|(_, b)| b[64..].to_vec()).collect();
    assert!(!seg_before.is_empty());
    let r = v.delete(&victim, DeletionReason::SubjectRequest).unwrap();
    assert_eq!(r.facial_id, victim);
    assert!(r.erasure_pending.is_empty());
    v.commit().unwrap();
    assert!(v.identify(&template, 5, Some(0.99), "identification").unwrap().iter().all(|m| m.facial_id != victim));
    assert!(v.pending_removals().is_empty());
    drop(v);
    // Scan every file, before and after the vault is opened again (opening rewrites nothing
    // back): no template, no Facial ID, no payload, no 32-byte run of the old ciphertext.
    let scan = |when: &str| {
        for (name, bytes) in &all_files(&p) {
            assert!(!contains(bytes, &template_bytes), "{when}: {name} holds the template in clear");
            assert!(!contains(bytes, victim.as_bytes()), "{when}: {name} holds the Facial ID bytes");
            assert!(!contains(bytes, victim.to_string().as_bytes()), "{when}: {name} holds the Facial ID text");
            assert!(!contains(bytes, payload_marker), "{when}: {name} holds the payload in clear");
            for old in &seg_before {
                for chunk in old.chunks(32).filter(|c| c.len() == 32) {
                    assert!(!contains(bytes, chunk), "{when}: {name} still holds ciphertext of the old segment");
                }
            }
        }
    };
    scan("after the deletion");
    let v = Vault::open(&p, &key).unwrap();
    scan("after reopening");
    // Decrypted with the key, the vault holds no trace of the payload either.
    assert!(v.payload(&victim).is_err());
    for id in ids.iter().filter(|i| **i != victim) {
        assert!(!contains(&v.payload(id).unwrap(), payload_marker));
    }
    let log = serde_json::to_string(&v.audit_entries(0, None).unwrap()).unwrap();
    assert!(!log.contains("victim-payload"), "the audit log holds the payload");
    assert!(v.identify(&template, 5, Some(0.99), "identification").unwrap().iter().all(|m| m.facial_id != victim));
}

#[test]
fn concurrent_readers_and_one_writer() {
    let dir = tempfile::tempdir().unwrap();
    let (v, _key, _c) = new_vault(&dir.path().join("v"), 64);
    let v = Arc::new(v);
    let mut f = Faces::new(64, 7);
    let (ids, centres) = enroll_n(&v, &mut f, 100, &both());
    v.commit().unwrap();
    let probes: Vec<(FacialId, Vec<f32>)> = ids.iter().zip(&centres).map(|(i, c)| (*i, f.capture(c))).collect();
    let probes = Arc::new(probes);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for t in 0..4 {
        let (v, probes, stop) = (v.clone(), probes.clone(), stop.clone());
        readers.push(std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || n < 50 {
                let (id, p) = &probes[(n * 7 + t) % probes.len()];
                let hits = v.identify(p, 1, None, "identification").unwrap();
                assert_eq!(hits[0].facial_id, *id, "stable template lost during concurrent writes");
                assert!(v.verify(id, p, "authentication").unwrap().matched);
                n += 1;
            }
            n
        }));
    }
    let mut g = Faces::new(64, 8);
    for round in 0..30 {
        let (new_ids, _) = enroll_n(&v, &mut g, 5, &both());
        v.commit().unwrap();
        v.delete(&new_ids[round % 5], DeletionReason::Admin).unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let total: usize = readers.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(total >= 200);
    assert_eq!(v.len(), 100 + 30 * 4);
}

#[test]
fn many_small_commits_stay_incremental() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v");
    let (v, key, _c) = new_vault(&p, 16);
    let mut f = Faces::new(16, 9);
    let mut ids = Vec::new();
    for _ in 0..60 {
        let (i, _) = enroll_n(&v, &mut f, 3, &both());
        ids.extend(i);
        let info = v.commit().unwrap();
        assert!(info.files_written <= 4, "a small commit wrote {} files", info.files_written);
    }
    let s = v.stats().unwrap();
    assert!(s.segments <= 10, "small segments were not merged: {}", s.segments);
    drop(v);
    let v = Vault::open(&p, &key).unwrap();
    assert_eq!(v.len(), 180);
    for id in &ids {
        assert!(v.contains(id));
    }
}

#[test]
fn l2_and_inner_product_metrics() {
    for metric in [Metric::L2, Metric::InnerProduct] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = VaultConfig::new(3);
        cfg.metric = metric;
        cfg.match_threshold = if metric == Metric::L2 { 0.6 } else { 0.5 };
        cfg.duplicate_threshold = None;
        let v = Vault::create(dir.path().join("v"), &VaultKey::generate(), cfg).unwrap();
        let a = v.enroll(&[1.0, 0.0, 0.0], &both(), None).unwrap().facial_id;
        let _b = v.enroll(&[0.0, 1.0, 0.0], &both(), None).unwrap().facial_id;
        let hits = v.identify(&[0.9, 0.1, 0.0], 2, None, "identification").unwrap();
        assert_eq!(hits.len(), 1, "{metric:?}: {hits:?}");
        assert_eq!(hits[0].facial_id, a);
        if metric == Metric::L2 {
            let expect = ((0.1f32 * 0.1) + (0.1 * 0.1)).sqrt();
            assert!((hits[0].score - expect).abs() < 1e-5, "L2 score is the Euclidean distance");
        } else {
            assert!((hits[0].score - 0.9).abs() < 1e-6);
        }
    }
}

#[test]
fn quantized_storage_reopens_with_identical_scores() {
    for storage in [StorageType::F16, StorageType::Int8 { rerank: true }, StorageType::Int8 { rerank: false }] {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        let key = VaultKey::generate();
        let mut cfg = VaultConfig::new(64);
        cfg.storage = storage;
        let v = Vault::create(&p, &key, cfg).unwrap();
        let mut f = Faces::new(64, 12);
        let centres: Vec<Vec<f32>> = (0..200).map(|_| f.identity()).collect();
        let ids: Vec<FacialId> = centres.iter().map(|c| v.enroll(&f.capture(c), &both(), None).unwrap().facial_id).collect();
        if storage == (StorageType::Int8 { rerank: true }) {
            assert!(v.recalibrate_int8().unwrap());
        }
        v.commit().unwrap();
        let probes: Vec<Vec<f32>> = centres.iter().take(30).map(|c| f.capture(c)).collect();
        let before: Vec<Vec<Match>> = probes.iter().map(|p| v.identify(p, 3, None, "identification").unwrap()).collect();
        for (i, hits) in before.iter().enumerate() {
            assert_eq!(hits[0].facial_id, ids[i], "{storage:?}: probe {i} not identified");
        }
        drop(v);
        let v = Vault::open(&p, &key).unwrap();
        let after: Vec<Vec<Match>> = probes.iter().map(|p| v.identify(p, 3, None, "identification").unwrap()).collect();
        assert_eq!(before, after, "{storage:?}: results changed across reopen");
    }
}

#[test]
fn facial_ids_are_random_v4_and_the_audit_log_holds_no_biometrics() {
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let (a, _, _) = new_vault(&d1.path().join("v"), 8);
    let (b, _, _) = new_vault(&d2.path().join("v"), 8);
    let t = [0.5f32, -0.25, 0.125, 0.0, 0.75, 0.1, -0.2, 0.3];
    let ia = a.enroll(&t, &both(), Some(b"payload-marker-91")).unwrap().facial_id;
    let ib = b.enroll(&t, &both(), None).unwrap().facial_id;
    assert_ne!(ia, ib, "the same template must not give the same Facial ID");
    assert_eq!(ia.0.get_version_num(), 4);
    a.commit().unwrap();
    let log = serde_json::to_string(&a.audit_entries(0, None).unwrap()).unwrap();
    assert!(!log.contains("payload-marker-91"));
    for x in t.iter().filter(|x| **x != 0.0) {
        let normalised = x / t.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!(!log.contains(&format!("{normalised}")), "template component {normalised} in the audit log");
    }
}

/// int8 storage: the scale is calibrated from the stored templates at the first commit and
/// again whenever the vault has doubled, every row is re-quantised from its exact value
/// (for int8-only storage, read back from the encrypted segments), and the scale survives
/// reopen. `recalibrate_int8` works for both int8 modes and refuses f32.
#[cfg(feature = "test-hooks")] // uses Vault::stored_template_for_test
#[test]
fn int8_scale_is_calibrated_from_the_data_and_follows_growth() {
    use fidex::search::quant::{CALIBRATION_PERCENTILE, CALIBRATION_SAMPLE, I8_LEVELS};
    // The calibration rule as documented (src/search/quant.rs), written here independently:
    // the CALIBRATION_PERCENTILE quantile of |x| over an evenly strided sample of at most
    // CALIBRATION_SAMPLE values maps to ±127; codes are round(x / scale) clamped to ±127.
    let documented_scale = |values: &[f32]| -> f32 {
        let stride = values.len().div_ceil(CALIBRATION_SAMPLE).max(1);
        let mut s: Vec<f32> = values.iter().step_by(stride).map(|x| x.abs()).collect();
        s.sort_by(f32::total_cmp);
        let idx = ((s.len() - 1) as f64 * CALIBRATION_PERCENTILE).round() as usize;
        s[idx] / I8_LEVELS
    };
    let round_trip = |x: f32, scale: f32| ((x * (1.0 / scale)).round().clamp(-I8_LEVELS, I8_LEVELS)) * scale;
    for rerank in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        let key = VaultKey::generate();
        let mut cfg = VaultConfig::new(32);
        cfg.storage = StorageType::Int8 { rerank };
        cfg.duplicate_threshold = None;
        // Inner product: the vault stores each template exactly as given, so what it should
        // hold is known here without asking it.
        cfg.metric = fidex::Metric::InnerProduct;
        let v = Vault::create(&p, &key, cfg).unwrap();
        let mut f = Faces::new(32, 5);
        // A first template with an unusually large component: a first-row scale would be
        // far too coarse for everything after it.
        let mut odd = vec![0.0f32; 32];
        odd[0] = 1.0;
        let mut ids = vec![v.enroll(&odd, &both(), None).unwrap().facial_id];
        let mut templates = vec![odd.clone()];
        let s = v.stats().unwrap();
        assert_eq!(s.int8_calibrated_rows, 0);
        let first_row_scale = s.int8_scale.unwrap();
        let mut add = |v: &Vault, n: usize, ids: &mut Vec<FacialId>, templates: &mut Vec<Vec<f32>>| {
            for _ in 0..n {
                let c = f.identity();
                let t = f.capture(&c);
                ids.push(v.enroll(&t, &both(), None).unwrap().facial_id);
                templates.push(t);
            }
        };
        add(&v, 99, &mut ids, &mut templates);
        v.commit().unwrap();
        let check = |v: &Vault, templates: &[Vec<f32>], ids: &[FacialId], n: u64| {
            let s = v.stats().unwrap();
            assert_eq!(s.int8_calibrated_rows, n, "rerank {rerank}");
            let want = documented_scale(&templates.concat());
            assert_eq!(s.int8_scale, Some(want), "rerank {rerank}: scale not calibrated from all {n} templates");
            // Every row holds exactly quantise(template) at that scale: re-quantised from the
            // exact value, not from older int8 codes (with re-rank, the exact value itself).
            for (t, id) in templates.iter().zip(ids) {
                let held = v.stored_template_for_test(id).unwrap();
                let expected: Vec<f32> = if rerank { t.clone() } else { t.iter().map(|x| round_trip(*x, want)).collect() };
                assert_eq!(held, expected, "rerank {rerank}: row not re-quantised from its exact value");
            }
        };
        check(&v, &templates, &ids, 100);
        assert!(first_row_scale > v.stats().unwrap().int8_scale.unwrap(), "the first-row scale (1.5 × 1.0 / 127) was replaced");
        // +50: not yet doubled, the scale stays.
        add(&v, 50, &mut ids, &mut templates);
        v.commit().unwrap();
        assert_eq!(v.stats().unwrap().int8_calibrated_rows, 100);
        // +60 (210 ≥ 2 × 100): recalibrated at commit, committed rows read back from disk.
        add(&v, 60, &mut ids, &mut templates);
        v.commit().unwrap();
        check(&v, &templates, &ids, 210);
        let probe = templates[7].clone();
        let before = v.identify(&probe, 5, Some(-1.0), "authentication").unwrap();
        assert_eq!(before[0].facial_id, ids[7]);
        // Deletions leave no gaps in the re-quantisation.
        v.delete(&ids[3], DeletionReason::SubjectRequest).unwrap();
        ids.remove(3);
        templates.remove(3);
        assert!(v.recalibrate_int8().unwrap());
        check(&v, &templates, &ids, 209);
        let s = v.stats().unwrap();
        v.commit().unwrap();
        drop(v);
        let v = Vault::open(&p, &key).unwrap();
        let r = v.stats().unwrap();
        assert_eq!((r.int8_scale, r.int8_calibrated_rows), (s.int8_scale, s.int8_calibrated_rows));
        check(&v, &templates, &ids, 209);
    }
    let dir = tempfile::tempdir().unwrap();
    let (v, _, _) = new_vault(&dir.path().join("v"), 8);
    v.enroll(&[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5], &both(), None).unwrap();
    assert!(!v.recalibrate_int8().unwrap());
    assert_eq!(v.stats().unwrap().int8_scale, None);
}

/// Recalibration of a cancelable int8-only vault re-quantises from the stored (transformed)
/// templates: identification stays correct through growth, explicit recalibration, key
/// rotation and reopen.
#[test]
fn cancelable_int8_only_vault_recalibrates_from_its_transformed_templates() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v");
    let key = VaultKey::generate();
    let mut cfg = VaultConfig::new(64);
    cfg.storage = StorageType::Int8 { rerank: false };
    cfg.cancelable = true;
    cfg.duplicate_threshold = None;
    let v = Vault::create(&p, &key, cfg).unwrap();
    let mut f = Faces::new(64, 41);
    let mut centres = Vec::new();
    let mut ids = Vec::new();
    let check = |v: &Vault, centres: &[Vec<f32>], ids: &[FacialId], f: &mut Faces| {
        for (c, id) in centres.iter().zip(ids) {
            let hits = v.identify(&f.capture(c), 1, None, "identification").unwrap();
            assert_eq!(hits.first().map(|h| h.facial_id), Some(*id));
        }
    };
    for round in 0..3 {
        for _ in 0..(40 << round) {
            let c = f.identity();
            ids.push(v.enroll(&f.capture(&c), &both(), None).unwrap().facial_id);
            centres.push(c);
        }
        v.commit().unwrap();
        assert_eq!(v.stats().unwrap().int8_calibrated_rows, ids.len() as u64, "round {round}");
        check(&v, &centres, &ids, &mut f);
    }
    let before = v.stats().unwrap().int8_scale;
    assert!(v.recalibrate_int8().unwrap());
    assert_eq!(v.stats().unwrap().int8_scale, before, "same data, same scale");
    check(&v, &centres, &ids, &mut f);
    let new_key = VaultKey::generate();
    v.rotate_key(&new_key).unwrap();
    check(&v, &centres, &ids, &mut f);
    drop(v);
    let v = Vault::open(&p, &new_key).unwrap();
    check(&v, &centres, &ids, &mut f);
}

/// A batch larger than one enrollment turn (1,024 items) is still all or nothing: a refused
/// item in the third turn leaves the vault untouched and is named; the accepted batch is
/// enrolled whole, in order, and searchable (its checks and insertions run in turns so
/// that searches are not held up for the whole batch).
#[test]
fn batches_over_several_turns_are_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (v, _, _) = new_vault(dir.path(), 64);
    let mut f = Faces::new(64, 77);
    let n = 2_500;
    let mut templates: Vec<f32> = Vec::with_capacity(n * 64);
    for _ in 0..n {
        templates.extend(f.identity());
    }
    let receipts: Vec<String> = (0..n).map(|i| consent(&format!("s{i}"), &["identification"]).to_json()).collect();
    let mut jsons: Vec<&str> = receipts.iter().map(|s| s.as_str()).collect();
    // Item 2,100: a NaN component. Item 2,300: no consent. The first refused item counts.
    let mut bad = templates.clone();
    bad[2_100 * 64 + 3] = f32::NAN;
    jsons[2_300] = "";
    let err = v.enroll_many_json(&bad, &jsons, &[]).unwrap_err();
    assert_eq!(err.batch_index(), Some(2_100), "{err}");
    assert!(v.is_empty(), "nothing of a refused batch is enrolled");
    let err = v.enroll_many_json(&templates, &jsons, &[]).unwrap_err();
    assert_eq!(err.batch_index(), Some(2_300), "{err}");
    assert!(v.is_empty());
    jsons[2_300] = &receipts[2_300];
    let ids = v.enroll_many_json(&templates, &jsons, &[]).unwrap();
    assert_eq!(ids.len(), n);
    assert_eq!(v.len(), n);
    let distinct: std::collections::HashSet<_> = ids.iter().map(|e| e.facial_id).collect();
    assert_eq!(distinct.len(), n);
    for i in [0, 1_023, 1_024, 2_047, 2_048, 2_499] {
        let probe = &templates[i * 64..(i + 1) * 64];
        let hits = v.identify(probe, 1, None, "identification").unwrap();
        assert_eq!(hits[0].facial_id, ids[i].facial_id, "item {i} is found as itself");
    }
    assert_eq!(v.uncommitted_enrollments(), n);
    v.commit().unwrap();
    assert_eq!(v.uncommitted_enrollments(), 0);
}

/// The fixture's templates, as its generator enrolled them (tests/fixtures/vault-v0-generator).
const V0_IDS: [&str; 6] = [
    "c5a0aea0-defd-4f1b-bead-d42f67daad70",
    "debc75a5-2d71-429b-b711-84c555223e53",
    "79b8630f-2eb9-453b-a804-d1a7e85c2a0b",
    "a9d60277-a2d7-4f0b-b90e-3eacf636b766",
    "fcab48dc-552d-4dbf-8e8e-42c95cfd32d9",
    "5cb82644-3a69-4495-9310-536f7f54baa1",
];
const V0_PURPOSES: [&[&str]; 6] = [
    &["authentication"],
    &["identification"],
    &["authentication", "identification"],
    &["fraud-prevention"],
    &["identification", "fraud-prevention"],
    &["authentication"],
];
/// Templates 1, 3 and 5 carry consents that expire at 2028-01-01T00:00:00Z.
const V0_EXPIRY: i64 = 1_830_297_600;

fn v0_template(i: usize) -> Vec<f32> {
    let mut x = vec![0.05f32; 4];
    x[i % 4] = 1.0;
    x[(i + 1) % 4] = 0.1 * i as f32;
    x
}

/// Manifest header flags, read from the file as docs/FORMAT.md lays it out (offset 12).
fn manifest_flags(dir: &std::path::Path) -> u32 {
    let b = std::fs::read(dir.join("fidex.vault")).unwrap();
    u32::from_le_bytes(b[12..16].try_into().unwrap())
}

/// For every template and vault purpose: whether a search for that purpose finds it,
/// against what its consent covered when the generator enrolled it.
fn assert_v0_purposes(v: &Vault, gone: &[usize]) {
    for i in (0..6).filter(|i| !gone.contains(i)) {
        for p in ["authentication", "identification", "fraud-prevention"] {
            let found = v.identify(&v0_template(i), 6, None, p).unwrap().iter().any(|m| m.facial_id.to_string() == V0_IDS[i]);
            assert_eq!(found, V0_PURPOSES[i].contains(&p), "template {i}, purpose {p}");
        }
    }
}

/// A vault written before segments stored consent facts (meta version 0, header flag
/// clear) opens with each template's purposes as consented; a commit that rewrites one of
/// its two segments leaves the flag clear (one old segment remains); a key rotation, which
/// rewrites every segment, sets it; after each step a reopen gives the same purposes, and
/// the expiries survive all of it (a purge as of 2028 removes exactly the three that carry
/// one).
#[test]
fn vaults_written_before_consent_facts_open_and_upgrade() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    std::fs::create_dir(&dir).unwrap();
    for e in std::fs::read_dir(fixture.join("vault-v0")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    let key = VaultKey::import_text(std::fs::read_to_string(fixture.join("vault-v0.key")).unwrap().trim()).unwrap();
    const FACTS: u32 = 4;
    assert_eq!(manifest_flags(&dir) & FACTS, 0, "the fixture predates the flag");

    let v = Vault::open(&dir, &key).unwrap();
    assert_eq!(v.len(), 6);
    assert_v0_purposes(&v, &[]);
    // Template 0 leaves the first segment, which is rewritten; the second stays as written.
    let id0: FacialId = V0_IDS[0].parse().unwrap();
    v.delete(&id0, DeletionReason::SubjectRequest).unwrap();
    assert_eq!(manifest_flags(&dir) & FACTS, 0, "an old segment remains");
    drop(v);
    let v = Vault::open(&dir, &key).unwrap();
    assert_eq!(v.len(), 5);
    assert_v0_purposes(&v, &[0]);

    let new_key = VaultKey::generate();
    v.rotate_key(&new_key).unwrap();
    assert_ne!(manifest_flags(&dir) & FACTS, 0, "every segment was rewritten");
    drop(v);
    let v = Vault::open(&dir, &new_key).unwrap();
    assert_eq!(v.len(), 5);
    assert_v0_purposes(&v, &[0]);
    let mut purged: Vec<String> = v.purge_expired(Some(V0_EXPIRY)).unwrap().iter().map(|r| r.facial_id.to_string()).collect();
    purged.sort();
    let mut expected: Vec<String> = [1, 3, 5].iter().map(|&i| V0_IDS[i].to_string()).collect();
    expected.sort();
    assert_eq!(purged, expected);
    drop(v);
    let v = Vault::open(&dir, &new_key).unwrap();
    assert_eq!(v.len(), 2);
    assert_v0_purposes(&v, &[0, 1, 3, 5]);
}

/// A batch whose insertion takes several turns of the exclusive lock, beside a thread that
/// searches without pause: every search succeeds and the count of templates it sees never
/// goes down; afterwards every template is enrolled, in order, and found as itself.
#[test]
fn searches_run_between_the_insertion_turns_of_a_large_batch() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = VaultConfig::new(8);
    cfg.duplicate_threshold = None;
    cfg.max_templates = 100_000;
    // L2 and rows on a grid, all distinct: each row's nearest is itself (distance 0).
    cfg.metric = Metric::L2;
    let v = Vault::create(dir.path().join("v"), &VaultKey::generate(), cfg).unwrap();
    let n = 60_000;
    let rows: Vec<f32> = (0..n * 8).map(|k| (((k / 8 + 1) >> (2 * (k % 8))) & 3) as f32).collect();
    let c = consent("bulk", &["identification"]);
    let items: Vec<NewEnrollment> = rows.chunks_exact(8).map(|t| NewEnrollment { template: t, consent: &c, payload: None }).collect();
    let done = AtomicBool::new(false);
    let (enrolled, seen) = std::thread::scope(|s| {
        let searcher = s.spawn(|| {
            let mut seen = Vec::new();
            while !done.load(Ordering::Relaxed) {
                v.identify(&rows[..8], 1, None, "identification").unwrap();
                seen.push(v.len());
            }
            seen
        });
        let enrolled = v.enroll_many(&items).unwrap();
        done.store(true, Ordering::Relaxed);
        (enrolled, searcher.join().unwrap())
    });
    assert!(!seen.is_empty());
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "the count a search saw went down");
    let partial = seen.iter().filter(|&&l| l > 0 && l < n).count();
    println!("{} searches, {partial} of them saw the batch partly enrolled", seen.len());
    assert_eq!(v.len(), n);
    assert_eq!(v.facial_ids().len(), n);
    for i in [0, 1, 4_095, 30_000, n - 1] {
        let probe = &rows[i * 8..(i + 1) * 8];
        let hit = v.identify(probe, 1, None, "identification").unwrap();
        assert_eq!(hit[0].facial_id, enrolled[i].facial_id, "item {i}");
    }
}
