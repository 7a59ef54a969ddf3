//! Storage robustness: every byte of a committed vault is authenticated (tamper sweep and
//! truncation), injected disk faults leave the last good commit, and a child process killed
//! at random points during commits loses nothing acknowledged and resurrects nothing deleted.
mod common;
use common::*;
use fidex::storage::{Fault, FaultyStorage, FsStorage, Storage};
use fidex::*;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

fn small_vault(p: &Path) -> (VaultKey, Vec<FacialId>, Vec<f32>) {
    let (v, key, _c) = new_vault(p, 4);
    let a = v.enroll(&[1.0, 0.2, 0.0, 0.0], &both(), Some(b"pa")).unwrap().facial_id;
    let b = v.enroll(&[0.0, 1.0, 0.3, 0.0], &both(), None).unwrap().facial_id;
    v.commit().unwrap();
    let c = v.enroll(&[0.0, 0.0, 1.0, 0.4], &both(), None).unwrap().facial_id;
    v.delete(&b, DeletionReason::SubjectRequest).unwrap();
    v.close().unwrap();
    (key, vec![a, c], vec![0.9, 0.25, 0.0, 0.0])
}

/// Opening must fail with an error; it must never panic and never succeed on damaged data.
fn assert_open_fails(p: &Path, key: &VaultKey, what: &str) {
    let r = std::panic::catch_unwind(|| Vault::open(p, key));
    match r {
        Err(_) => panic!("{what}: open panicked"),
        Ok(Ok(_)) => panic!("{what}: a damaged vault opened"),
        Ok(Err(_)) => {}
    }
}

#[test]
fn every_flipped_byte_and_every_truncation_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v");
    let (key, ids, probe) = small_vault(&p);
    let files: Vec<String> = std::fs::read_dir(&p)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "LOCK")
        .collect();
    assert!(files.len() >= 3, "expected manifest, segment(s) and log chunk(s): {files:?}");
    let mut cases = 0;
    for name in &files {
        let path = p.join(name);
        let orig = std::fs::read(&path).unwrap();
        for i in 0..orig.len() {
            let mut m = orig.clone();
            m[i] ^= 0x01;
            std::fs::write(&path, &m).unwrap();
            assert_open_fails(&p, &key, &format!("{name} byte {i} flipped"));
            cases += 1;
        }
        for len in 0..orig.len() {
            std::fs::write(&path, &orig[..len]).unwrap();
            assert_open_fails(&p, &key, &format!("{name} truncated to {len}"));
            cases += 1;
        }
        std::fs::write(&path, &orig).unwrap();
    }
    // Swapping a file in from another commit of the same vault fails too (generation binding).
    println!("tamper sweep: {cases} damaged variants, all rejected");
    let v = Vault::open(&p, &key).unwrap();
    assert_eq!(v.identify(&probe, 1, None, "identification").unwrap()[0].facial_id, ids[0]);
}

#[test]
fn files_cannot_be_swapped_between_vaults() {
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let (p1, p2) = (d1.path().join("v"), d2.path().join("v"));
    let key = VaultKey::generate();
    for p in [&p1, &p2] {
        let v = Vault::create(p, &key, VaultConfig::new(4)).unwrap();
        v.enroll(&[1.0, 0.0, 0.0, 0.0], &both(), None).unwrap();
        v.close().unwrap();
    }
    // Same key, different vault: a segment copied across under the expected name is rejected.
    let seg = |p: &Path| std::fs::read_dir(p).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).find(|n| n.starts_with("seg-")).unwrap();
    let (s1, s2) = (seg(&p1), seg(&p2));
    std::fs::copy(p1.join(&s1), p2.join(&s2)).unwrap();
    assert!(matches!(Vault::open(&p2, &key), Err(Error::Corrupt(_))));
}

fn reopen(dir: &Path, key: &VaultKey) -> Vault {
    Vault::open(dir, key).unwrap()
}

#[test]
fn injected_faults_leave_the_last_good_commit() {
    let faults = [Fault::NoSpace, Fault::ShortWrite, Fault::FsyncFails, Fault::RenameFails, Fault::TornRename, Fault::DirSyncFails, Fault::RemoveFails];
    let mut exercised = 0;
    for fault in faults {
        for after in 0..4u64 {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("v");
            std::fs::create_dir_all(&p).unwrap();
            let fs: Arc<dyn Storage> = Arc::new(FsStorage::new(&p));
            let faulty = FaultyStorage::new(fs.clone());
            let key = VaultKey::generate();
            let clock = Arc::new(fidex::clock::ManualClock::new(T0));
            let v = Vault::create_in(Arc::new(faulty.clone()), &key, VaultConfig::new(8), clock.clone()).unwrap();
            let mut f = Faces::new(8, 11);
            let keep = v.enroll(&f.identity(), &both(), None).unwrap().facial_id;
            let doomed = v.enroll(&f.identity(), &both(), None).unwrap().facial_id;
            v.commit().unwrap();
            let fresh = v.enroll(&f.identity(), &both(), None).unwrap().facial_id;
            faulty.arm(fault, after);
            let res = v.delete(&doomed, DeletionReason::SubjectRequest);
            let fired = faulty.fired();
            faulty.disarm();
            if fired {
                exercised += 1;
            }
            match fault {
                // Failing to remove an obsolete file does not fail the committed deletion; the
                // receipt names every old file still on disk (tests/privacy_faults.rs checks
                // that exactly), and the removal is retried.
                Fault::RemoveFails => {
                    let r = res.as_ref().expect("the deletion is committed");
                    for f in &r.erasure_pending {
                        assert!(p.join(f).exists(), "{fault:?}@{after}: receipt names {f}, which is not there");
                    }
                }
                // Only the commit's own directory fsync matters; the one after removing obsolete
                // files is best effort (an unreferenced file is removed again at the next open).
                Fault::DirSyncFails if after > 0 => assert!(res.is_ok()),
                _ if fired => assert!(res.is_err(), "{fault:?}@{after} fired but delete reported success"),
                _ => assert!(res.is_ok()),
            }
            if let Err(e) = &res {
                assert!(matches!(e, Error::Io { .. }), "{fault:?}: {e}");
            }
            drop(v);
            // The on-disk vault opens at a committed state: either before or after the delete.
            let v2 = reopen(&p, &key);
            assert!(v2.contains(&keep), "{fault:?}@{after}: committed template lost");
            let after_state = !v2.contains(&doomed);
            if after_state {
                assert!(v2.contains(&fresh), "{fault:?}@{after}: delete committed without the pending enrollment");
            } else {
                assert!(!v2.contains(&fresh), "{fault:?}@{after}: half a commit is visible");
                // Retrying on a healthy disk completes it.
                v2.delete(&doomed, DeletionReason::SubjectRequest).unwrap();
            }
            if res.is_ok() {
                assert!(after_state, "{fault:?}@{after}: acknowledged delete not on disk");
            }
            drop(v2);
            let v3 = reopen(&p, &key);
            assert!(!v3.contains(&doomed));
            // No unreferenced file survives a reopen.
            let names: Vec<String> = fs.list().unwrap();
            assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
        }
    }
    assert!(exercised >= 14, "only {exercised} faults fired");
}

/// Child half of the crash test: commits in a loop, acknowledging each durable step.
#[test]
#[ignore]
fn crash_worker() {
    let Ok(dir) = std::env::var("FIDEX_CRASH_DIR") else { return };
    let dir = Path::new(&dir);
    let key = VaultKey::import_text(&std::fs::read_to_string(dir.join("key")).unwrap()).unwrap();
    let vp = dir.join("vault");
    let v = if vp.join("fidex.vault").exists() { Vault::open(&vp, &key).unwrap() } else { Vault::create(&vp, &key, VaultConfig::new(16)).unwrap() };
    let mut ack = std::fs::OpenOptions::new().append(true).create(true).open(dir.join("acks")).unwrap();
    let seed: u64 = std::env::var("FIDEX_CRASH_SEED").unwrap().parse().unwrap();
    let mut f = Faces::new(16, seed);
    let mut live: Vec<FacialId> = v.facial_ids();
    for round in 0.. {
        let mut batch = Vec::new();
        for _ in 0..(1 + round % 4) {
            batch.push(v.enroll(&f.identity(), &both(), Some(&[round as u8; 64])).unwrap().facial_id);
        }
        v.commit().unwrap();
        for id in &batch {
            writeln!(ack, "E {id}").unwrap();
        }
        ack.sync_data().unwrap();
        live.extend(batch);
        if round % 3 == 2 && live.len() > 2 {
            let id = live.remove((seed as usize + round) % live.len());
            writeln!(ack, "d {id}").unwrap();
            ack.sync_data().unwrap();
            v.delete(&id, DeletionReason::SubjectRequest).unwrap();
            writeln!(ack, "D {id}").unwrap();
            ack.sync_data().unwrap();
        }
    }
}

#[test]
fn sigkill_during_commits_loses_nothing_and_resurrects_nothing() {
    let iterations: u64 = std::env::var("FIDEX_CRASH_ITERATIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let exe = std::env::current_exe().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = VaultKey::generate();
    std::fs::write(dir.path().join("key"), key.export_text().as_bytes()).unwrap();
    let mut total_acked = 0;
    for i in 0..iterations {
        let mut child = std::process::Command::new(&exe)
            .args(["--ignored", "--exact", "crash_worker", "--nocapture", "--test-threads=1"])
            .env("FIDEX_CRASH_DIR", dir.path())
            .env("FIDEX_CRASH_SEED", (1000 + i).to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill at a pseudo-random point 5..70 ms in (process start-up included).
        let delay = 5 + (i * 37 % 65);
        std::thread::sleep(std::time::Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let acks = std::fs::read_to_string(dir.path().join("acks")).unwrap_or_default();
        let (mut enrolled, mut deleted, mut deleting) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for line in acks.lines() {
            // A torn last line (killed mid-write) is ignored: it was never acknowledged.
            let Some((tag, id)) = line.split_once(' ') else { continue };
            let Ok(id) = id.parse::<FacialId>() else { continue };
            match tag {
                "E" => {
                    enrolled.insert(id);
                }
                "d" => {
                    deleting.insert(id);
                }
                "D" => {
                    deleted.insert(id);
                }
                _ => {}
            }
        }
        if !dir.path().join("vault").join("fidex.vault").exists() {
            assert!(enrolled.is_empty());
            continue;
        }
        let v = Vault::open(dir.path().join("vault"), &key).unwrap_or_else(|e| panic!("iteration {i}: vault does not open after SIGKILL: {e}"));
        for id in &enrolled {
            if deleting.contains(id) {
                continue; // deletion in flight: either state is allowed
            }
            assert!(v.contains(id), "iteration {i}: acknowledged enrollment {id} lost");
        }
        for id in &deleted {
            assert!(!v.contains(id), "iteration {i}: deleted template {id} came back");
        }
        // Nothing in the vault that was never enrolled by the worker.
        assert!(v.len() >= enrolled.len() - deleting.len());
        total_acked = enrolled.len();
        v.check().unwrap();
        drop(v);
    }
    println!("crash injection: {iterations} SIGKILLs, {total_acked} acknowledged enrollments checked at the end");
}

/// The fuzz fixture (`fuzz/fixture/vault.bin`, made by `fuzz/gen_seeds.rs`) must be a vault
/// this build opens: otherwise every `open_vault` seed stops at the first parse error and
/// the fuzzer never reaches the deeper parsers. A format change must regenerate it
/// (`cd fuzz && cargo run --release --example gen_seeds`).
#[test]
fn fuzz_fixture_vault_opens_with_the_current_format() {
    let bytes: &[u8] = include_bytes!("../fuzz/fixture/vault.bin");
    assert_eq!(&bytes[..8], b"FXFIXT01");
    let u32_at = |p: usize| u32::from_le_bytes(bytes[p..p + 4].try_into().unwrap()) as usize;
    let dir = tempfile::tempdir().unwrap();
    let (n, mut pos) = (u32_at(8), 12);
    for _ in 0..n {
        let nl = u32_at(pos);
        let name = std::str::from_utf8(&bytes[pos + 4..pos + 4 + nl]).unwrap().to_string();
        pos += 4 + nl;
        let bl = u32_at(pos);
        std::fs::write(dir.path().join(&name), &bytes[pos + 4..pos + 4 + bl]).unwrap();
        pos += 4 + bl;
    }
    assert_eq!(pos, bytes.len());
    std::fs::write(dir.path().join("LOCK"), b"").unwrap(); // the fixture packs vault files only
    let key = fidex::VaultKey::from_bytes([0x5a; 32]); // FIXTURE_KEY of fuzz/src/lib.rs
    let v = fidex::Vault::open(dir.path(), &key).expect("fixture opens: regenerate it after a format change");
    let vk = include_str!("../fuzz/fixture/vk.txt").trim();
    assert_eq!(v.verification_key().to_text(), vk);
    assert_eq!(v.stats().unwrap().templates, 3);
}
