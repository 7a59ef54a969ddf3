//! The privacy guarantees under faults (issue 17): a deletion receipt never claims more than
//! the files show, a failed key rotation never leaves memory and disk under different keys,
//! a batch of withdrawals never loses a receipt, and a panic inside a change leaves a vault
//! that refuses further use instead of one that goes on with half-changed state.
//!
//! Faults come from [`Scripted`], a storage that wraps the real file system and fails the
//! operations a test names (by kind and by count), so every position of every operation can
//! be hit, including two faults in one call (a failed commit followed by a failed re-read).
#![allow(clippy::type_complexity, clippy::needless_range_loop)] // test scaffolding

mod common;

use common::{both, Faces};
use fidex::clock::ManualClock;
use fidex::storage::{FsStorage, Storage};
use fidex::{DeletionReason, Error, FacialId, Vault, VaultConfig, VaultKey};
use fidex::storage::format::MANIFEST_FILE as MANIFEST;
use std::collections::BTreeSet;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Write,
    Rename,
    Remove,
    SyncDir,
    Read,
}

/// Fails chosen operations: each entry `(op, n, name_part)` fails the `n`-th (from 0) later
/// operation of kind `op` whose file name contains `name_part`; optionally panics instead.
#[derive(Debug, Clone)]
struct Scripted {
    inner: Arc<FsStorage>,
    plan: Arc<Mutex<Vec<(Op, u32, &'static str)>>>,
    panic_instead: Arc<AtomicBool>,
}

impl Scripted {
    fn new(dir: &Path) -> Scripted {
        Scripted { inner: Arc::new(FsStorage::new(dir)), plan: Arc::default(), panic_instead: Arc::default() }
    }
    fn fail(&self, op: Op, n: u32, name_part: &'static str) {
        self.plan.lock().unwrap().push((op, n, name_part));
    }
    fn clear(&self) {
        self.plan.lock().unwrap().clear();
    }
    fn pending(&self) -> usize {
        self.plan.lock().unwrap().len()
    }
    fn hit(&self, op: Op, name: &str) -> io::Result<()> {
        let mut plan = self.plan.lock().unwrap();
        let mut fire = false;
        plan.retain_mut(|(o, n, part)| {
            if *o != op || !name.contains(*part) || fire {
                return true;
            }
            if *n == 0 {
                fire = true;
                false
            } else {
                *n -= 1;
                true
            }
        });
        drop(plan);
        if fire {
            if self.panic_instead.load(Ordering::SeqCst) {
                panic!("injected panic in {op:?} {name}");
            }
            return Err(io::Error::other(format!("injected {op:?} failure on {name}")));
        }
        Ok(())
    }
}

impl Storage for Scripted {
    fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        self.hit(Op::Read, name)?;
        self.inner.read(name)
    }
    fn write_new(&self, name: &str, data: &[u8]) -> io::Result<()> {
        self.hit(Op::Write, name)?;
        self.inner.write_new(name, data)
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.hit(Op::Rename, to)?;
        self.inner.rename(from, to)
    }
    fn remove(&self, name: &str) -> io::Result<()> {
        self.hit(Op::Remove, name)?;
        self.inner.remove(name)
    }
    fn list(&self) -> io::Result<Vec<String>> {
        self.inner.list()
    }
    fn sync_dir(&self) -> io::Result<()> {
        self.hit(Op::SyncDir, "")?;
        self.inner.sync_dir()
    }
    fn size(&self, name: &str) -> io::Result<u64> {
        self.inner.size(name)
    }
    fn location(&self) -> String {
        self.inner.location()
    }
    fn append(&self, name: &str, data: &[u8]) -> io::Result<()> {
        self.hit(Op::Write, name)?;
        self.inner.append(name, data)
    }
    fn lock_vault(&self, create: bool) -> io::Result<Option<Box<dyn fidex::storage::HeldLock>>> {
        self.inner.lock_vault(create)
    }
}

fn files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect()
}

fn segments(dir: &Path) -> BTreeSet<String> {
    files(dir).into_iter().filter(|n| n.starts_with("seg-")).collect()
}

/// A committed vault of `n` templates on a scripted storage.
fn vault(dir: &Path, n: usize) -> (Vault, Scripted, VaultKey, Vec<FacialId>) {
    std::fs::create_dir_all(dir).unwrap();
    let s = Scripted::new(dir);
    let key = VaultKey::generate();
    let v = Vault::create_in(Arc::new(s.clone()), &key, VaultConfig::new(16), Arc::new(ManualClock::new(common::T0))).unwrap();
    let mut f = Faces::new(16, 9);
    let ids = (0..n).map(|_| v.enroll(&f.identity(), &both(), Some(b"payload")).unwrap().facial_id).collect();
    v.commit().unwrap();
    (v, s, key, ids)
}

// ---------------------------------------------------------------------------------------
// 1. A deletion receipt says which files still hold the template when removal fails.

#[test]
fn a_deletion_receipt_never_claims_erasure_the_files_do_not_show() {
    let mut pending_cases = 0;
    for n in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        let (v, s, key, ids) = vault(&p, 12);
        let before = segments(&p);
        assert_eq!(before.len(), 1, "one segment holds every template");
        // The n-th removal during the deletion fails, and its immediate retry too (whatever
        // file it is).
        s.fail(Op::Remove, n, "");
        s.fail(Op::Remove, n, "");
        let receipt = v.delete(&ids[3], DeletionReason::SubjectRequest).expect("the deletion itself commits");
        let still_there: Vec<String> = before.intersection(&segments(&p)).cloned().collect();
        let json: serde_json::Value = serde_json::from_str(&fidex::receipt::to_json(&receipt)).unwrap();
        let claimed: Vec<String> = json
            .get("erasure_pending")
            .and_then(|x| x.as_array())
            .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        assert_eq!(claimed, still_there, "position {n}: the receipt must list exactly the old files still on disk");
        fidex::receipt::verify(&receipt, &v.verification_key()).unwrap();
        let stats = serde_json::to_value(v.stats().unwrap()).unwrap();
        let listed: Vec<String> =
            stats["pending_removals"].as_array().map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect()).unwrap_or_default();
        for f in &still_there {
            assert!(listed.contains(f), "position {n}: stats must show pending removal {f}: {stats}");
            pending_cases += 1;
        }
        // The removal is retried: after reopening (nothing failing any more) the file is gone.
        drop(v);
        s.clear();
        let v = Vault::open_in(Arc::new(s.clone()), &key, Arc::new(ManualClock::new(common::T0))).unwrap();
        assert!(before.intersection(&segments(&p)).next().is_none(), "position {n}: the old segment survived a reopen");
        assert!(v.pending_removals().is_empty());
    }
    assert!(pending_cases > 0, "no position hit the removal of the old segment");
}

// ---------------------------------------------------------------------------------------
// 2. A failed key rotation never leaves the caller with the wrong key.

/// What a caller can rely on after `rotate_key` returned an error: if the error says to keep
/// both keys, one of them opens the vault; otherwise the old key does — also after the
/// handle made further commits.
fn check_rotation_outcome(p: &Path, v: Vault, s: &Scripted, old: &VaultKey, new: &VaultKey, err: &Error, what: &str) {
    s.clear();
    let mut f = Faces::new(16, 77);
    // Further use of the handle: either refused (the vault marked itself failed), or it
    // commits — and then under the key the caller was told about.
    let extra = v.enroll(&f.identity(), &both(), None);
    let committed = extra.is_ok() && v.commit().is_ok();
    let n_in_memory = v.len();
    drop(v);
    let keep_both = err.to_string().contains("keep both keys");
    let opens = |k: &VaultKey| Vault::open(p, k).ok().map(|x| x.len());
    match (opens(old), opens(new)) {
        (Some(n), _) => {
            if committed {
                assert_eq!(n, n_in_memory, "{what}: the old key opens, but not what the handle committed after the error");
            }
        }
        (None, Some(n)) => {
            assert!(keep_both, "{what}: told the rotation failed ({err}), yet only the NEW key opens the vault");
            if committed {
                assert_eq!(n, n_in_memory, "{what}");
            }
        }
        (None, None) => panic!("{what}: neither key opens the vault after a failed rotation ({err})"),
    }
}

#[test]
fn every_fault_position_of_a_rotation_leaves_a_key_that_opens_the_vault() {
    let mut scripts: Vec<(String, Vec<(Op, u32, &'static str)>)> = Vec::new();
    for k in 0..4 {
        scripts.push((format!("write #{k} fails"), vec![(Op::Write, k, "")]));
    }
    scripts.push(("manifest rename fails".into(), vec![(Op::Rename, 0, MANIFEST)]));
    scripts.push(("directory sync fails".into(), vec![(Op::SyncDir, 0, "")]));
    scripts.push(("second directory sync fails".into(), vec![(Op::SyncDir, 1, "")]));
    // The failed re-read: the commit fails, then reading the manifest back fails too.
    scripts.push(("rename fails, then the reload fails".into(), vec![(Op::Rename, 0, MANIFEST), (Op::Read, 0, MANIFEST)]));
    scripts.push(("sync fails, then the reload fails".into(), vec![(Op::SyncDir, 0, ""), (Op::Read, 0, MANIFEST)]));
    scripts.push(("old file removal fails".into(), vec![(Op::Remove, 1, "")]));
    let mut failures_seen = 0;
    for (what, script) in scripts {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        let (v, s, old, _) = vault(&p, 10);
        let new = VaultKey::generate();
        for (op, n, part) in &script {
            s.fail(*op, *n, part);
        }
        let outcome = v.rotate_key(&new);
        println!("{what}: {:?}", outcome.as_ref().map_err(|e| e.to_string()));
        match outcome {
            Ok(()) => {
                // Success means: the new key opens it, the old one no longer does.
                s.clear();
                drop(v);
                assert!(Vault::open(&p, &new).is_ok(), "{what}: rotation reported success but the new key does not open");
                assert!(matches!(Vault::open(&p, &old), Err(Error::WrongKey)), "{what}");
            }
            Err(e) => {
                failures_seen += 1;
                check_rotation_outcome(&p, v, &s, &old, &new, &e, &what);
            }
        }
    }
    assert!(failures_seen >= 6, "the scripts must make rotations fail");
}

// ---------------------------------------------------------------------------------------
// 3. Withdrawals in a batch are all or nothing.

#[test]
fn withdrawing_several_subjects_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v");
    let (v, _s, _k, ids) = vault(&p, 6);
    let unknown = FacialId::random();
    let err = v.withdraw_consent_many(&[ids[0], ids[1], unknown]).unwrap_err();
    assert!(matches!(err, Error::NotFound | Error::NotFoundId(_)), "{err:?}");
    assert!(v.contains(&ids[0]) && v.contains(&ids[1]), "a refused batch withdrew someone");
    let receipts = v.withdraw_consent_many(&[ids[0], ids[1]]).unwrap();
    assert_eq!(receipts.len(), 2);
    for (r, id) in receipts.iter().zip(&ids[..2]) {
        assert_eq!(r.facial_id, *id);
        assert_eq!(r.reason, DeletionReason::ConsentWithdrawn);
        fidex::receipt::verify(r, &v.verification_key()).unwrap();
        assert!(!v.contains(id));
    }
}

// ---------------------------------------------------------------------------------------
// 7. A panic inside a change fails the vault instead of leaving half-changed state in use.

#[test]
fn a_panic_inside_a_change_makes_the_vault_refuse_further_use() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v");
    let (v, s, key, ids) = vault(&p, 8);
    // A panic while the deletion holds the vault's write lock (removing the old segment).
    s.panic_instead.store(true, Ordering::SeqCst);
    s.fail(Op::Remove, 1, "");
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| v.delete(&ids[2], DeletionReason::Admin)));
    assert!(r.is_err(), "the injected panic must unwind");
    assert_eq!(s.pending(), 0, "the panic point was reached");
    s.panic_instead.store(false, Ordering::SeqCst);
    // Every later call refuses with a clear error naming what to do.
    let mut f = Faces::new(16, 3);
    let probe = f.identity();
    for (what, r) in [
        ("identify", v.identify(&probe, 1, None, "identification").map(|_| ())),
        ("enroll", v.enroll(&probe, &both(), None).map(|_| ())),
        ("commit", v.commit().map(|_| ())),
        ("stats", v.stats().map(|_| ())),
    ] {
        let e = r.expect_err(what);
        assert!(e.to_string().contains("open the vault again"), "{what}: {e}");
    }
    drop(v);
    // What was committed is intact: the vault reopens, and the deletion either happened
    // or did not — never half.
    let v = Vault::open(&p, &key).unwrap();
    assert!(v.len() == 7 || v.len() == 8);
    v.check().unwrap();
    let _ = s.pending();
}
