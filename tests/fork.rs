//! A real fork() after searches: the child searches with the vault the parent opened (the
//! pre-fork server pattern of gunicorn --preload, Python multiprocessing, Node cluster).
//!
//! Before the process-owned search pool, the child's first parallel search waited forever
//! for rayon's global pool, whose threads do not exist in a forked child. Here the child
//! must answer within a time limit, with exactly the parent's results, and must be refused
//! any change (the parent holds the vault's lock). One test per binary: fork in a process
//! whose other threads are idle, as the fork documentation requires.

mod common;

use fidex::vault::NewEnrollment;
use fidex::{Error, Match, Vault, VaultConfig, VaultKey};
use std::io::Read;
use std::os::fd::FromRawFd;
use std::time::{Duration, Instant};

const DIM: usize = 128;
/// Enough rows that one probe's scan is split across threads (8192 rows a chunk at least).
const N: usize = 40_000;
const BATCH: usize = 16;

fn encode(single: &[Match], batch: &[Vec<Match>]) -> Vec<u8> {
    let mut out = Vec::new();
    for list in std::iter::once(single).chain(batch.iter().map(Vec::as_slice)) {
        out.extend_from_slice(&(list.len() as u32).to_le_bytes());
        for m in list {
            out.extend_from_slice(m.facial_id.as_bytes());
            out.extend_from_slice(&m.score.to_bits().to_le_bytes());
        }
    }
    out
}

#[test]
fn a_forked_child_searches_with_the_parents_vault_and_cannot_change_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = VaultKey::generate();
    let mut cfg = VaultConfig::new(DIM as u32);
    cfg.duplicate_threshold = None;
    let vault = Vault::create(dir.path().join("v"), &key, cfg).unwrap();
    let mut faces = common::Faces::new(DIM, 42);
    let templates: Vec<Vec<f32>> = (0..N).map(|_| faces.identity()).collect();
    let consent = common::consent("subject", &["identification"]);
    let items: Vec<NewEnrollment<'_>> =
        templates.iter().map(|t| NewEnrollment { template: t, consent: &consent, payload: None }).collect();
    vault.enroll_many(&items).unwrap();
    vault.commit().unwrap();
    let probes: Vec<f32> = (0..BATCH).flat_map(|i| faces.capture(&templates[i * 997])).collect();

    // The parent searches first, so the search threads exist before the fork.
    let single = vault.identify(&probes[..DIM], 10, Some(-1.0), "identification").unwrap();
    let batch = vault.identify_batch(&probes, 10, Some(-1.0), "identification").unwrap();
    assert_eq!(single.len(), 10);
    let want = encode(&single, &batch);

    let mut fds = [0; 2];
    // SAFETY: plain pipe(2) into a two-int array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: fork(2); the child only runs fidex calls and async-signal-safe exits below.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // Child: a hang kills it (SIGALRM) instead of the test run.
        // SAFETY: alarm(2) and close(2) on our own descriptor.
        unsafe {
            libc::alarm(120);
            libc::close(fds[0]);
        }
        let mut code = 0;
        let got = match (
            vault.identify(&probes[..DIM], 10, Some(-1.0), "identification"),
            vault.identify_batch(&probes, 10, Some(-1.0), "identification"),
        ) {
            (Ok(s), Ok(b)) => encode(&s, &b),
            _ => {
                code = 2;
                Vec::new()
            }
        };
        // SAFETY: write(2) of a live buffer to our pipe end.
        let written = unsafe { libc::write(fds[1], got.as_ptr().cast(), got.len()) };
        if written != got.len() as isize {
            code = 3;
        }
        match vault.enroll(&templates[0], &consent, None) {
            Err(Error::ForkedChild { owner_pid }) if owner_pid != std::process::id() => {}
            _ => code = 4,
        }
        if !matches!(vault.delete(&single[0].facial_id, fidex::DeletionReason::Admin), Err(Error::ForkedChild { .. })) {
            code = 5;
        }
        if !matches!(vault.commit(), Err(Error::ForkedChild { .. })) {
            code = 6;
        }
        // SAFETY: _exit(2) skips the parent's destructors (the vault and tempdir are its).
        unsafe { libc::_exit(code) };
    }
    // SAFETY: the write end belongs to the child now; the read end becomes a File once.
    unsafe { libc::close(fds[1]) };
    let mut pipe = unsafe { std::fs::File::from_raw_fd(fds[0]) };
    let start = Instant::now();
    let mut got = Vec::new();
    pipe.read_to_end(&mut got).unwrap();
    let mut status = 0;
    loop {
        // SAFETY: waitpid(2) on our child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        if start.elapsed() > Duration::from_secs(150) {
            // SAFETY: kill(2) of our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the forked child hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(libc::WIFEXITED(status), "child killed by signal {} (SIGALRM = a hang)", libc::WTERMSIG(status));
    assert_eq!(libc::WEXITSTATUS(status), 0, "child failed (2: search error, 3: pipe, 4-6: a change was not refused)");
    assert_eq!(got, want, "the child's results differ from the parent's");

    // The parent still owns the vault.
    vault.enroll(&faces.identity(), &consent, None).unwrap();
    vault.commit().unwrap();
    assert_eq!(vault.len(), N + 1);
}
