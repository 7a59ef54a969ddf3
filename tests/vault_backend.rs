//! The vault's search backend setting (issue 4, part 5): a vault created with the faiss IVF
//! backend gives the same results API and the same consent/purpose filtering as a flat
//! vault, deletes for real, and keeps its backend across reopen and key rotation. Builds
//! without cargo feature `faiss` refuse the backend with a clear, typed error.
//!
//! Run: `cargo test --test vault_backend` and `cargo test --features faiss --test vault_backend`.

mod common;

#[cfg(feature = "faiss")]
use common::*;
use fidex::search::engine::Backend;
#[cfg(feature = "faiss")]
use fidex::{DeletionReason, FacialId};
use fidex::{Error, Vault, VaultConfig, VaultKey};

fn ivf(nlist: u32, nprobe: u32, sq8: bool) -> Backend {
    Backend::FaissIvf { nlist, nprobe, sq8 }
}

#[test]
fn ivf_parameters_are_validated_in_every_build() {
    for (b, needle) in [
        (ivf(0, 1, false), "nlist"),
        (ivf(8, 0, false), "nprobe"),
        (ivf(8, 9, false), "nprobe"),
        (ivf((1 << 20) + 1, 1, false), "nlist"),
    ] {
        let mut c = VaultConfig::new(16);
        c.backend = b;
        match c.validate() {
            Err(Error::InvalidConfig(m)) => assert!(m.contains(needle), "{b}: {m}"),
            other => panic!("{b}: expected InvalidConfig, got {other:?}"),
        }
    }
    let mut c = VaultConfig::new(16);
    c.backend = ivf(8, 8, true);
    assert!(c.validate().is_ok());
    assert_eq!(c.backend.to_string(), "faiss-ivf(nlist=8,nprobe=8,sq8)");
    assert_eq!(Backend::Flat.to_string(), "flat");
}

#[cfg(not(feature = "faiss"))]
#[test]
fn without_the_faiss_feature_the_ivf_backend_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v");
    let mut c = VaultConfig::new(16);
    c.backend = ivf(8, 4, false);
    match Vault::create(&path, &VaultKey::generate(), c.clone()) {
        Err(Error::InvalidConfig(m)) => assert!(m.contains("feature `faiss`"), "{m}"),
        other => panic!("expected InvalidConfig, got {:?}", other.map(|_| ())),
    }
    assert!(!path.join("MANIFEST").exists());
    assert!(matches!(c.validate_for_build(), Err(Error::InvalidConfig(_))));
    // The flat default still works in the same directory.
    let v = Vault::create(&path, &VaultKey::generate(), VaultConfig::new(16)).unwrap();
    assert_eq!(v.stats().unwrap().backend, "flat");
}

/// Two vaults on the same data, one flat and one with `backend`, with a shared clock.
#[cfg(feature = "faiss")]
struct Pair {
    flat: Vault,
    other: Option<Vault>,
    other_key: VaultKey,
    /// Enrollment order → (flat id, other id).
    ids: Vec<(FacialId, FacialId)>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    _key: VaultKey,
    faces: Faces,
    centres: Vec<Vec<f32>>,
}

#[cfg(feature = "faiss")]
fn config(dim: u32, backend: Backend, cancelable: bool) -> VaultConfig {
    let mut c = VaultConfig::new(dim);
    c.backend = backend;
    c.duplicate_threshold = None;
    c.cancelable = cancelable;
    c
}

/// `n_ids` identities × 4 captures; every third identity consents to authentication only,
/// the others to both purposes.
#[cfg(feature = "faiss")]
fn pair(dim: u32, n_ids: usize, backend: Backend, cancelable: bool) -> Pair {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let key = VaultKey::generate();
    let clock = std::sync::Arc::new(fidex::clock::ManualClock::new(T0));
    let flat = Vault::create(d1.path(), &key, config(dim, Backend::Flat, cancelable)).unwrap();
    let other_key = VaultKey::generate();
    let other = Vault::create(d2.path(), &other_key, config(dim, backend, cancelable)).unwrap();
    flat.set_clock(clock.clone());
    other.set_clock(clock);
    let mut faces = Faces::new(dim as usize, 77);
    let mut ids = Vec::new();
    let mut centres = Vec::new();
    for i in 0..n_ids {
        let c = faces.identity();
        let consent = if i % 3 == 0 {
            consent(&format!("s{i}"), &["authentication"])
        } else {
            consent(&format!("s{i}"), &["authentication", "identification"])
        };
        for _ in 0..4 {
            let t = faces.capture(&c);
            let a = flat.enroll(&t, &consent, None).unwrap().facial_id;
            let b = other.enroll(&t, &consent, None).unwrap().facial_id;
            ids.push((a, b));
        }
        centres.push(c);
    }
    flat.commit().unwrap();
    other.commit().unwrap();
    Pair { flat, other: Some(other), other_key, ids, _dirs: (d1, d2), _key: key, faces, centres }
}

#[cfg(feature = "faiss")]
impl Pair {
    fn o(&self) -> &Vault {
        self.other.as_ref().unwrap()
    }
    /// Closes the second vault and opens it again from disk with `other_key`.
    fn reopen(&mut self) {
        self.other.take().unwrap().close().unwrap();
        self.other = Some(Vault::open(self._dirs.1.path(), &self.other_key).unwrap());
    }
}

/// Every probe's hits in `other`, translated to flat ids, equal the flat vault's hits
/// (same ids in the same order, scores within 1e-4), for both purposes; returns the
/// number of hits compared.
#[cfg(feature = "faiss")]
fn assert_same_results(p: &mut Pair, probes: usize) -> usize {
    let map: std::collections::HashMap<FacialId, FacialId> = p.ids.iter().map(|(a, b)| (*b, *a)).collect();
    let mut compared = 0;
    for i in 0..probes {
        let c = p.centres[(i * 7) % p.centres.len()].clone();
        let probe = p.faces.capture(&c);
        for purpose in ["authentication", "identification"] {
            let want = p.flat.identify(&probe, 5, Some(-1.0), purpose).unwrap();
            let got = p.o().identify(&probe, 5, Some(-1.0), purpose).unwrap();
            assert_eq!(want.len(), got.len(), "probe {i} {purpose}");
            for (w, g) in want.iter().zip(&got) {
                assert_eq!(map[&g.facial_id], w.facial_id, "probe {i} {purpose}");
                assert!((w.score - g.score).abs() < 1e-4, "{} vs {}", w.score, g.score);
            }
            let batch = p.o().identify_batch(&probe, 5, Some(-1.0), purpose).unwrap();
            assert_eq!(batch[0].iter().map(|m| m.facial_id).collect::<Vec<_>>(), got.iter().map(|m| m.facial_id).collect::<Vec<_>>());
            compared += got.len();
        }
    }
    compared
}

#[cfg(feature = "faiss")]
#[test]
fn ivf_vault_with_every_list_probed_equals_the_flat_vault_through_delete_and_reopen() {
    // nlist 8 trains at 39 × 8 = 312 rows; 150 identities × 4 = 600 rows.
    let mut p = pair(64, 150, ivf(8, 8, false), false);
    let s = p.o().stats().unwrap();
    assert_eq!(s.backend, "faiss-ivf(nlist=8,nprobe=8)");
    assert_eq!(s.templates, 600);
    // faiss holds its own copy of every vector (IVF-Flat: 4 bytes a component): proof that
    // the searches below go through the trained IVF, not the exact row store.
    let faiss_bytes = |p: &Pair| p.o().stats().unwrap().index_memory_bytes - p.flat.stats().unwrap().index_memory_bytes;
    assert!(faiss_bytes(&p) >= 600 * 64 * 4, "{}", faiss_bytes(&p));
    assert!(assert_same_results(&mut p, 40) > 0);

    // Purpose limitation: authentication-only subjects never match an identification search.
    let auth_only: std::collections::HashSet<FacialId> =
        p.ids.iter().enumerate().filter(|(i, _)| (i / 4) % 3 == 0).map(|(_, (_, b))| *b).collect();
    for i in (0..150).step_by(3) {
        let probe = p.centres[i].clone();
        let hits = p.o().identify(&probe, 10, Some(-1.0), "identification").unwrap();
        assert!(hits.iter().all(|h| !auth_only.contains(&h.facial_id)));
        let hits = p.o().identify(&probe, 1, None, "authentication").unwrap();
        assert!(p.ids[i * 4..i * 4 + 4].iter().any(|x| x.1 == hits[0].facial_id), "identity {i} not found");
    }

    // Delete every capture of 30 identities (subject request) in both vaults.
    let mut deleted = Vec::new();
    for ident in (0..150).step_by(5) {
        for (a, b) in p.ids[ident * 4..ident * 4 + 4].iter().copied() {
            p.flat.delete(&a, DeletionReason::SubjectRequest).unwrap();
            let r = p.o().delete(&b, DeletionReason::SubjectRequest).unwrap();
            fidex::receipt::verify(&r, &p.o().verification_key()).unwrap();
            deleted.push(b);
        }
    }
    p.ids.retain(|(_, b)| !deleted.contains(b));
    // remove_ids took the 120 vectors out of faiss too.
    assert!(faiss_bytes(&p) >= 480 * 64 * 4 && faiss_bytes(&p) < 600 * 64 * 4, "{}", faiss_bytes(&p));
    assert_same_results(&mut p, 40);
    for ident in (0..150).step_by(5) {
        let probe = p.centres[ident].clone();
        let hits = p.o().identify(&probe, 20, Some(-1.0), "authentication").unwrap();
        assert!(hits.iter().all(|h| !deleted.contains(&h.facial_id)), "a deleted template matched");
    }
    for id in &deleted {
        assert!(matches!(p.o().verify(id, &p.centres[0], "authentication"), Err(Error::NotFound | Error::NotFoundId(_))));
    }

    // Reopen: the backend comes back from the manifest, the IVF is rebuilt and trained.
    p.reopen();
    assert_eq!(p.o().stats().unwrap().backend, "faiss-ivf(nlist=8,nprobe=8)");
    assert_eq!(p.o().config().backend, ivf(8, 8, false));
    assert_same_results(&mut p, 40);
}

#[cfg(feature = "faiss")]
#[test]
fn ivf_vault_below_the_training_threshold_searches_exactly() {
    // nlist 64 needs 2,496 rows to train; 800 rows stay in the exact row store, and faiss
    // holds nothing but its (empty) centroid table: far less than one copy of the rows.
    let mut p = pair(32, 200, ivf(64, 1, false), false);
    assert_eq!(p.o().stats().unwrap().templates, 800);
    let extra = p.o().stats().unwrap().index_memory_bytes - p.flat.stats().unwrap().index_memory_bytes;
    assert!(extra < 800 * 32 * 4 / 4, "untrained: faiss holds no vectors yet ({extra} extra bytes)");
    assert!(assert_same_results(&mut p, 20) > 0);
}

#[cfg(feature = "faiss")]
#[test]
fn ivf_recall_with_few_probed_lists_and_cancelable_key_rotation() {
    // 16 lists, 4 probed: approximate. Recall@1 against the flat vault must stay high, and
    // the backend survives a key rotation of a cancelable vault (templates re-transformed,
    // IVF rebuilt).
    let mut p = pair(64, 200, ivf(16, 4, true), true);
    let recall = |p: &mut Pair| {
        let map: std::collections::HashMap<FacialId, FacialId> = p.ids.iter().map(|(a, b)| (*b, *a)).collect();
        let mut hit = 0;
        for i in 0..100 {
            let probe = p.faces.capture(&p.centres[i].clone());
            let want = p.flat.identify(&probe, 1, Some(-1.0), "authentication").unwrap();
            let got = p.o().identify(&probe, 1, Some(-1.0), "authentication").unwrap();
            hit += usize::from(map[&got[0].facial_id] == want[0].facial_id);
        }
        hit as f64 / 100.0
    };
    let before = recall(&mut p);
    assert!(before >= 0.95, "recall@1 {before}");
    let new_key = VaultKey::generate();
    p.o().rotate_key(&new_key).unwrap();
    assert_eq!(p.o().stats().unwrap().backend, "faiss-ivf(nlist=16,nprobe=4,sq8)");
    let after = recall(&mut p);
    assert!(after >= 0.95, "recall@1 after rotation {after}");
    p.other_key = new_key;
    p.reopen();
    assert!(recall(&mut p) >= 0.95);
}
