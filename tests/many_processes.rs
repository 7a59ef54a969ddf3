//! Many processes, one vault (issue 14): the lock cannot be defeated by removing its file,
//! read-only opens change nothing, reads are bounded, a damaged header is not a "wrong
//! key", writers can wait for the lock, and read-only handles in other processes search
//! while a writer changes the vault, never seeing a torn state, a deleted template past the
//! refresh bound, or an error.
//!
//! Real processes: the `fidex` CLI, and this test binary run again as a reader
//! (`reader_process_child`, ignored in normal runs and started by
//! `readers_in_other_processes_follow_a_busy_writer`).

use fidex::clock::ManualClock;
use fidex::storage::{FsStorage, HeldLock, Storage};
use fidex::{ConsentReceipt, Error, OpenOptions, Vault, VaultConfig, VaultKey};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const DIM: usize = 32;

fn now_s() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Subject `s`'s template: deterministic pseudo-random, so any process can make the probe.
fn template(s: u64) -> Vec<f32> {
    let mut x = s.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    (0..DIM)
        .map(|_| {
            x ^= x >> 30;
            x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x ^= x >> 27;
            x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^= x >> 31;
            (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn consent(s: u64) -> ConsentReceipt {
    ConsentReceipt::explicit(&format!("subject-{s}"), "Acme", "https://acme.example/privacy", &["authentication", "identification"], now_s() - 60)
        .unwrap()
}

struct Setup {
    dir: tempfile::TempDir,
    key: VaultKey,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let key = VaultKey::generate();
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(dir.path().join("key")).unwrap();
        f.write_all(key.export_text().as_bytes()).unwrap();
        let mut config = VaultConfig::new(DIM as u32);
        config.match_threshold = 0.95;
        Vault::create(dir.path().join("v"), &key, config).unwrap();
        Setup { dir, key }
    }
    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn vault(&self) -> PathBuf {
        self.p("v")
    }
    /// `fidex` with the key file in the environment.
    fn fidex(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_fidex"));
        c.current_dir(self.dir.path()).env_remove("FIDEX_KEY").env("FIDEX_KEY_FILE", self.p("key"));
        c
    }
    /// Writes subject `s`'s consent and template for `fidex enroll`.
    fn subject_files(&self, s: u64) -> (PathBuf, PathBuf) {
        let c = self.p(&format!("consent-{s}.json"));
        std::fs::write(&c, consent(s).to_json()).unwrap();
        let v = self.p(&format!("vector-{s}.json"));
        std::fs::write(&v, serde_json::to_string(&vec![template(s)]).unwrap()).unwrap();
        (c, v)
    }
    fn files(&self) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(self.vault())
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name().into_string().unwrap(), std::fs::read(e.path()).unwrap())
            })
            .collect();
        out.sort();
        out
    }
}

fn enroll_subjects(v: &Vault, range: std::ops::Range<u64>) {
    let consents: Vec<ConsentReceipt> = range.clone().map(consent).collect();
    let templates: Vec<Vec<f32>> = range.clone().map(template).collect();
    let payloads: Vec<Vec<u8>> = range.clone().map(|s| format!("s{s}").into_bytes()).collect();
    let items: Vec<fidex::NewEnrollment> = (0..consents.len())
        .map(|i| fidex::NewEnrollment { template: &templates[i], consent: &consents[i], payload: Some(&payloads[i]) })
        .collect();
    v.enroll_many(&items).unwrap();
}

/// Opens for writing, waiting for the lock: a child process that another test (in this
/// process) spawns holds a copy of every descriptor, the lock's too, until its exec.
fn open_w(path: impl AsRef<Path>, key: &VaultKey) -> Vault {
    let wait = OpenOptions { lock_wait: Some(Duration::from_secs(10)), ..Default::default() };
    Vault::open_with(path, key, &wait).unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Runs `c` and kills it if it has not finished within `limit` (a hang is a failure, not a
/// stuck test run).
fn run_within(mut c: Command, limit: Duration) -> Output {
    let mut child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("the command did not finish within {limit:?} (it hangs): {}", text(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------- lock

/// Issue 14, defect 1. Writer A holds the lock; someone removes `LOCK`. Before the fix, a
/// second process silently made a new lock file, took it, and committed; A's next commit
/// collided with B's file names and its cleanup removed B's segment: the vault no longer
/// opened and B's acknowledged enrollments were gone.
#[test]
fn removed_lock_file_loses_no_acknowledged_enrollment() {
    let t = Setup::new();
    let a = open_w(t.vault(), &t.key);
    enroll_subjects(&a, 0..3); // A's uncommitted work
    std::fs::remove_file(t.vault().join("LOCK")).unwrap();

    // B (another process) refuses instead of making a lock of its own.
    let (c, v) = t.subject_files(1000);
    let out = t.fidex().args(["enroll", "v", "--consent"]).arg(&c).arg("--vectors").arg(&v).output().unwrap();
    assert_eq!(code(&out), 11, "{}", text(&out));
    assert!(text(&out).contains("LOCK"), "the message names the lock file: {}", text(&out));
    assert!(!t.vault().join("LOCK").exists(), "nothing recreated the lock file");

    // An operator recreates the file while A still runs: B now holds a lock of its own and
    // commits 300 enrollments, acknowledged (exit 0).
    std::fs::write(t.vault().join("LOCK"), b"").unwrap();
    let manifest: String = (1000..1300)
        .map(|s| {
            let consent: serde_json::Value = serde_json::from_str(&consent(s).to_json()).unwrap();
            serde_json::json!({"consent": consent, "vector": template(s), "payload": format!("s{s}")}).to_string() + "\n"
        })
        .collect();
    std::fs::write(t.p("b.jsonl"), manifest).unwrap();
    let out = t.fidex().args(["enroll", "v", "--manifest", "b.jsonl"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));

    // A notices that the file at LOCK is not the one it holds, writes nothing, and fails.
    let files_before = t.files();
    let err = a.commit().unwrap_err();
    assert!(matches!(err, Error::LockLost(_)), "{err}");
    assert_eq!(err.code(), 1020);
    assert!(matches!(a.enroll(&template(5), &consent(5), None), Err(Error::VaultFailed(_))));
    assert_eq!(t.files(), files_before, "the writer that lost its lock changed no file");
    drop(a);

    // Every enrollment B acknowledged is there, and the vault is whole.
    let v = open_w(t.vault(), &t.key);
    assert_eq!(v.len(), 300);
    v.check().unwrap();
    for s in [1000u64, 1150, 1299] {
        let hits = v.identify_with_payloads(&template(s), 1, None, "identification").unwrap();
        assert_eq!(&hits[0].1[..], format!("s{s}").as_bytes());
    }
}

/// A missing lock file is refused at open (a writer may hold the removed one), by the
/// library too, and the message says how to recover.
#[test]
fn missing_lock_file_is_refused_not_recreated() {
    let t = Setup::new();
    std::fs::remove_file(t.vault().join("LOCK")).unwrap();
    let err = Vault::open(t.vault(), &t.key).unwrap_err();
    assert!(matches!(&err, Error::LockLost(m) if m.contains("create an empty file named LOCK")), "{err}");
    assert!(!t.vault().join("LOCK").exists());
    // Readers take no lock, so they still open.
    Vault::open_read_only(t.vault(), &t.key).unwrap();
    std::fs::write(t.vault().join("LOCK"), b"").unwrap();
    open_w(t.vault(), &t.key);
}

/// `--wait` (and `OpenOptions::lock_wait`) wait for the lock instead of failing at once.
#[test]
fn writers_can_wait_for_the_lock() {
    let t = Setup::new();
    let (c, v) = t.subject_files(7);
    let holder = open_w(t.vault(), &t.key);

    let out = t.fidex().args(["enroll", "v", "--consent"]).arg(&c).arg("--vectors").arg(&v).output().unwrap();
    assert_eq!(code(&out), 11, "without --wait: locked at once: {}", text(&out));

    let opts = OpenOptions { lock_wait: Some(Duration::from_millis(300)), ..Default::default() };
    let started = Instant::now();
    assert!(matches!(Vault::open_with(t.vault(), &t.key, &opts), Err(Error::Locked)));
    assert!(started.elapsed() >= Duration::from_millis(300), "it waited before giving up");

    let mut child = t
        .fidex()
        .args(["enroll", "v", "--wait", "60", "--consent"])
        .arg(&c)
        .arg("--vectors")
        .arg(&v)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    assert!(child.try_wait().unwrap().is_none(), "the waiting command has not given up");
    drop(holder);
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(open_w(t.vault(), &t.key).len(), 1);

    let out = t.fidex().args(["stats", "v", "--wait=-1"]).output().unwrap();
    assert_eq!(code(&out), 0, "read-only commands ignore --wait: {}", text(&out));
    let out = t.fidex().args(["compact", "v", "--wait=-1"]).output().unwrap();
    assert_eq!(code(&out), 2, "a negative wait is a usage error: {}", text(&out));
}

// ----------------------------------------------------------------------- read-only opens

/// Issue 14, defect 3: with only the manifest rolled back to an older copy, `fidex stats`
/// opened the older generation and deleted the newer segment and log files.
#[test]
fn read_only_commands_never_delete_and_strays_block_writers() {
    let t = Setup::new();
    let v = open_w(t.vault(), &t.key);
    enroll_subjects(&v, 0..20);
    v.commit().unwrap();
    let old_manifest = std::fs::read(t.vault().join("fidex.vault")).unwrap();
    // A small commit that only adds files (one segment, one log chunk): the older
    // manifest's files all remain, so the rolled-back vault opens.
    enroll_subjects(&v, 20..21);
    v.commit().unwrap();
    drop(v);
    let new_manifest = std::fs::read(t.vault().join("fidex.vault")).unwrap();
    std::fs::write(t.vault().join("fidex.vault"), &old_manifest).unwrap();
    let files = t.files();

    let out = t.fidex().args(["--json", "stats", "v"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let strays = stats["stats"]["stray_files"].as_array().unwrap();
    assert!(!strays.is_empty(), "stats reports the newer files: {stats}");
    assert_eq!(t.files(), files, "stats changed nothing");

    let out = t.fidex().args(["--json", "check", "v"]).output().unwrap();
    assert_eq!(code(&out), 7, "{}", text(&out));
    assert!(text(&out).contains("newer generation"), "{}", text(&out));
    let (c, vf) = t.subject_files(50);
    let out = t.fidex().args(["enroll", "v", "--consent"]).arg(&c).arg("--vectors").arg(&vf).output().unwrap();
    assert_eq!(code(&out), 7, "a writer refuses changes while strays exist: {}", text(&out));
    let out = t.fidex().args(["identify", "v", "--vectors"]).arg(&vf).output().unwrap();
    assert_eq!(code(&out), 10, "searches still work (no match for a new face): {}", text(&out));
    assert_eq!(t.files(), files, "no command changed a file");

    let w = open_w(t.vault(), &t.key);
    assert_eq!(w.stray_files().len(), 2, "the newer segment and log chunk");
    assert_eq!(w.stray_files().len(), strays.len());
    assert!(matches!(w.enroll(&template(51), &consent(51), None), Err(Error::StrayFiles(_))));
    drop(w);
    assert_eq!(t.files(), files, "a writer's open removed nothing it cannot prove is debris");

    // Nothing was lost: with the newer manifest back, the newer state is whole.
    std::fs::write(t.vault().join("fidex.vault"), &new_manifest).unwrap();
    let v = open_w(t.vault(), &t.key);
    assert!(v.stray_files().is_empty());
    assert_eq!(v.len(), 21);
    v.check().unwrap();
    drop(v);

    // And an operator can declare strays debris: `check --remove-stray`.
    std::fs::write(t.vault().join("fidex.vault"), &old_manifest).unwrap();
    let out = t.fidex().args(["check", "v", "--remove-stray"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let v = open_w(t.vault(), &t.key);
    assert!(v.stray_files().is_empty());
    assert_eq!(v.len(), 20);
    v.enroll(&template(60), &consent(60), None).unwrap();
    v.commit().unwrap();
}

/// Forwards to a directory, except that the manifest switch "crashes": the directory is
/// copied as the process would leave it if it died there, and the switch fails.
#[derive(Debug)]
struct CrashAtSwitch {
    inner: FsStorage,
    image: PathBuf,
}

impl Storage for CrashAtSwitch {
    fn read(&self, name: &str) -> std::io::Result<Vec<u8>> {
        self.inner.read(name)
    }
    fn write_new(&self, name: &str, data: &[u8]) -> std::io::Result<()> {
        self.inner.write_new(name, data)
    }
    fn rename(&self, from: &str, to: &str) -> std::io::Result<()> {
        if to == "fidex.vault" && !self.image.exists() {
            std::fs::create_dir(&self.image)?;
            for e in std::fs::read_dir(self.inner.dir())? {
                let e = e?;
                std::fs::copy(e.path(), self.image.join(e.file_name()))?;
            }
            return Err(std::io::Error::other("crash"));
        }
        self.inner.rename(from, to)
    }
    fn remove(&self, name: &str) -> std::io::Result<()> {
        self.inner.remove(name)
    }
    fn list(&self) -> std::io::Result<Vec<String>> {
        self.inner.list()
    }
    fn sync_dir(&self) -> std::io::Result<()> {
        self.inner.sync_dir()
    }
    fn size(&self, name: &str) -> std::io::Result<u64> {
        self.inner.size(name)
    }
    fn location(&self) -> String {
        self.inner.location()
    }
    fn read_at_most(&self, name: &str, max: u64) -> std::io::Result<Vec<u8>> {
        self.inner.read_at_most(name, max)
    }
    fn lock_vault(&self, create: bool) -> std::io::Result<Option<Box<dyn HeldLock>>> {
        self.inner.lock_vault(create)
    }
}

/// A commit interrupted before its manifest switch leaves a temporary manifest that lists
/// its files: a reader leaves them alone and reports no strays; the writer removes exactly
/// them. Without that temporary manifest the same files are strays.
#[test]
fn interrupted_commit_leftovers_are_provably_its_own() {
    let t = Setup::new();
    let v = Vault::open_in(
        Arc::new(CrashAtSwitch { inner: FsStorage::new(t.vault()), image: t.p("image") }),
        &t.key,
        Arc::new(fidex::clock::SystemClock),
    )
    .unwrap();
    let names = |d: &Path| {
        let mut n: Vec<String> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        n.sort();
        n
    };
    let before = names(&t.vault());
    enroll_subjects(&v, 0..4);
    assert!(v.commit().is_err());
    drop(v);
    let image = t.p("image");
    let crashed = names(&image);
    assert!(crashed.contains(&"fidex.vault.tmp".to_string()), "{crashed:?}");
    let new_files: Vec<String> = crashed.iter().filter(|n| !before.contains(n) && n.as_str() != "fidex.vault.tmp").cloned().collect();
    assert!(
        new_files.iter().any(|n| n.starts_with("seg-")) && new_files.iter().any(|n| n.starts_with("log-")),
        "the interrupted commit wrote a segment and a log chunk: {crashed:?}"
    );

    // A copy without the temporary manifest: the same files are unexplained.
    let bare = t.p("bare");
    std::fs::create_dir(&bare).unwrap();
    for n in &crashed {
        if n != "fidex.vault.tmp" {
            std::fs::copy(image.join(n), bare.join(n)).unwrap();
        }
    }

    let r = Vault::open_read_only(&image, &t.key).unwrap();
    assert!(r.stray_files().is_empty());
    assert_eq!(r.len(), 0);
    drop(r);
    assert_eq!(names(&image), crashed, "a reader removed nothing");

    let w = open_w(&image, &t.key);
    assert!(w.stray_files().is_empty());
    assert_eq!(names(&image), before, "the writer removed exactly the interrupted commit's files");
    enroll_subjects(&w, 0..4);
    w.commit().unwrap();
    drop(w);

    let w = open_w(&bare, &t.key);
    let mut strays = w.stray_files();
    strays.sort();
    assert_eq!(strays, new_files);
    assert!(matches!(w.enroll(&template(9), &consent(9), None), Err(Error::StrayFiles(_))));
    drop(w);
    assert_eq!(names(&bare).len(), crashed.len() - 1, "strays are never removed automatically");
}

// --------------------------------------------------------------------------- bounded reads

/// Issue 14, defect 4: a segment inflated to gigabytes was read whole before being
/// rejected; a file symlinked to /dev/zero hung.
#[test]
fn vault_files_are_read_within_their_bounds() {
    let t = Setup::new();
    let v = open_w(t.vault(), &t.key);
    enroll_subjects(&v, 0..5);
    v.commit().unwrap();
    drop(v);
    let seg = t.files().into_iter().map(|(n, _)| n).find(|n| n.starts_with("seg-")).unwrap();
    let seg_path = t.vault().join(&seg);
    let original = std::fs::read(&seg_path).unwrap();

    // Inflated to 3 GiB (sparse): refused from its size, before any read.
    std::fs::OpenOptions::new().write(true).open(&seg_path).unwrap().set_len(3 << 30).unwrap();
    for read_only in [false, true] {
        let err = Vault::open_with(t.vault(), &t.key, &OpenOptions { read_only, ..Default::default() }).unwrap_err();
        assert_eq!(err.code(), 1011, "{err}");
        assert!(err.to_string().contains("3221225472 bytes") && err.to_string().contains("at most"), "{err}");
    }

    // A symlink to /dev/zero in place of the segment, then of the manifest.
    std::fs::remove_file(&seg_path).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &seg_path).unwrap();
    let err = Vault::open(t.vault(), &t.key).unwrap_err();
    assert!(err.code() == 1011 && err.to_string().contains("not a regular file"), "{err}");
    std::fs::remove_file(&seg_path).unwrap();
    std::fs::write(&seg_path, &original).unwrap();
    open_w(t.vault(), &t.key);

    let manifest = t.vault().join("fidex.vault");
    std::fs::rename(&manifest, t.p("manifest.bak")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &manifest).unwrap();
    let err = Vault::open(t.vault(), &t.key).unwrap_err();
    assert!(err.code() == 1011 && err.to_string().contains("not a regular file"), "{err}");
    assert_eq!(fidex::read_header(t.vault()).unwrap_err().code(), 1011);
    let out = run_within(
        {
            let mut c = t.fidex();
            c.args(["stats", "v"]);
            c
        },
        Duration::from_secs(30),
    );
    assert_eq!(code(&out), 7, "{}", text(&out));
}

/// Issue 14, defects 4 and 5: `--key-file /dev/zero` grew without limit, a FIFO or
/// /dev/urandom hung, and `--key-file "$(cat vault.key)"` printed the key.
#[test]
fn key_files_are_bounded_regular_files_and_never_echoed() {
    let t = Setup::new();
    let fifo = t.p("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    for bad in [PathBuf::from("/dev/zero"), PathBuf::from("/dev/urandom"), fifo] {
        let mut c = t.fidex();
        c.env_remove("FIDEX_KEY_FILE").args(["stats", "v", "--key-file"]).arg(&bad);
        let out = run_within(c, Duration::from_secs(30));
        assert_eq!(code(&out), 6, "{}: {}", bad.display(), text(&out));
        assert!(text(&out).contains("not a regular file"), "{}", text(&out));
    }
    let big = t.p("big.key");
    std::fs::write(&big, vec![b'a'; 1 << 20]).unwrap();
    let out = t.fidex().env_remove("FIDEX_KEY_FILE").args(["stats", "v", "--key-file"]).arg(&big).output().unwrap();
    assert_eq!(code(&out), 6, "{}", text(&out));
    assert!(text(&out).contains("the limit is 4096"), "{}", text(&out));

    let key_text = std::fs::read_to_string(t.p("key")).unwrap();
    let out = t.fidex().env_remove("FIDEX_KEY_FILE").args(["stats", "v", "--key-file", key_text.trim()]).output().unwrap();
    assert_eq!(code(&out), 6, "{}", text(&out));
    let secret = key_text.trim().split(':').nth(1).unwrap();
    assert_eq!(secret.len(), 64);
    assert!(!text(&out).contains(secret), "the key text is echoed: {}", text(&out));
    assert!(text(&out).contains("looks like key text"), "{}", text(&out));
    let out = t.fidex().env_remove("FIDEX_KEY_FILE").env("FIDEX_KEY_FILE", key_text.trim()).args(["stats", "v"]).output().unwrap();
    assert!(!text(&out).contains(secret), "the key text is echoed: {}", text(&out));
}

// ------------------------------------------------------------------------- header damage

/// Issue 14, defect 6: damage to the vault id or key-check bytes was reported as a wrong key.
#[test]
fn damaged_header_is_not_a_wrong_key() {
    let t = Setup::new();
    let v = open_w(t.vault(), &t.key);
    enroll_subjects(&v, 0..2);
    v.commit().unwrap();
    drop(v);
    let manifest = t.vault().join("fidex.vault");
    let good = std::fs::read(&manifest).unwrap();
    for offset in [16usize, 31, 48, 63] {
        let mut bad = good.clone();
        bad[offset] ^= 0x01;
        std::fs::write(&manifest, &bad).unwrap();
        let err = Vault::open(t.vault(), &t.key).unwrap_err();
        assert_eq!(err.code(), 1011, "byte {offset}: {err}");
        assert!(err.to_string().contains("header is damaged"), "{err}");
        let out = t.fidex().args(["stats", "v"]).output().unwrap();
        assert_eq!(code(&out), 7, "byte {offset}: {}", text(&out));
        assert!(matches!(Vault::open(t.vault(), &VaultKey::generate()), Err(Error::WrongKey)), "byte {offset}");
    }
    std::fs::write(&manifest, &good).unwrap();
    assert!(matches!(Vault::open(t.vault(), &VaultKey::generate()), Err(Error::WrongKey)));
    let out = t.fidex().env_remove("FIDEX_KEY_FILE").env("FIDEX_KEY", VaultKey::generate().export_text().as_str()).args(["stats", "v"]).output().unwrap();
    assert_eq!(code(&out), 6, "{}", text(&out));
}

// -------------------------------------------------------------------- shared readers

/// Two `fidex stats` (and identify) beside a writer that holds the vault.
#[test]
fn read_only_commands_run_beside_a_writer() {
    let t = Setup::new();
    let w = open_w(t.vault(), &t.key);
    enroll_subjects(&w, 0..3);
    w.commit().unwrap();
    let (_, probe) = t.subject_files(1);
    let a = t.fidex().args(["stats", "v"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let b = t.fidex().args(["stats", "v"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    for c in [a, b] {
        let out = c.wait_with_output().unwrap();
        assert_eq!(code(&out), 0, "{}", text(&out));
    }
    let out = t.fidex().args(["--json", "identify", "v", "--vectors"]).arg(&probe).output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    for cmd in [["check", "v"], ["audit", "v"], ["processing-record", "v"]] {
        let out = t.fidex().args(cmd).output().unwrap();
        assert_eq!(code(&out), 0, "{cmd:?}: {}", text(&out));
    }
    let (c, v) = t.subject_files(9);
    let out = t.fidex().args(["enroll", "v", "--consent"]).arg(&c).arg("--vectors").arg(&v).output().unwrap();
    assert_eq!(code(&out), 11, "a second writer is still refused: {}", text(&out));
}

/// A read-only handle refuses every change, follows the writer on refresh (a deletion stops
/// matching), and its matches reach the writer's retention deadlines.
#[test]
fn reader_follows_the_writer_and_reports_interactions() {
    let t = Setup::new();
    let clock = ManualClock::new(now_s());
    let storage = || Arc::new(FsStorage::new(t.vault())) as Arc<dyn Storage>;
    let w = Vault::open_in(storage(), &t.key, Arc::new(clock.clone())).unwrap();
    enroll_subjects(&w, 0..10);
    w.commit().unwrap();
    let opts = OpenOptions { read_only: true, refresh_interval: None, ..Default::default() };
    let r = Vault::open_in_with(storage(), &t.key, Arc::new(clock.clone()), &opts).unwrap();
    assert!(r.is_read_only() && r.stats().unwrap().read_only);
    assert_eq!(r.len(), 10);
    assert!(matches!(r.enroll(&template(99), &consent(99), None), Err(Error::ReadOnly)));
    assert!(matches!(r.commit(), Err(Error::ReadOnly)));
    let id3 = r.identify(&template(3), 1, None, "identification").unwrap()[0].facial_id;
    assert!(matches!(r.delete(&id3, fidex::log::audit::DeletionReason::SubjectRequest), Err(Error::ReadOnly)));
    assert_eq!(r.remove_stray_files().unwrap_err().code(), 1028);

    // The writer deletes subject 3 and adds 10..15; the reader sees it after a refresh.
    w.delete(&id3, fidex::log::audit::DeletionReason::SubjectRequest).unwrap();
    enroll_subjects(&w, 10..15);
    w.commit().unwrap();
    assert_eq!(r.identify(&template(3), 1, None, "identification").unwrap().len(), 1, "not refreshed yet");
    assert!(r.refresh().unwrap());
    assert!(!r.refresh().unwrap(), "nothing newer");
    assert_eq!(r.len(), 14);
    assert!(r.identify(&template(3), 1, None, "identification").unwrap().is_empty());
    assert_eq!(r.identify_with_payloads(&template(12), 1, None, "identification").unwrap()[0].1.as_slice(), b"s12");
    let (rh, wh) = (r.tree_head().unwrap(), w.tree_head().unwrap());
    assert_eq!((rh.log_size, rh.log_root), (wh.log_size, wh.log_root), "the same log");
    assert_eq!(r.stats().unwrap().generation, w.stats().unwrap().generation);

    // Compaction rewrites every segment: the reader follows.
    w.compact().unwrap();
    assert!(r.refresh().unwrap());
    assert_eq!(r.len(), 14);
    r.check().unwrap();

    // A match in the reader, ten days later, extends the subject's retention in the writer.
    let id5 = w.identify(&template(5), 1, None, "identification").unwrap()[0].facial_id;
    w.commit().unwrap();
    let before = w.retention_deadline(&id5).unwrap();
    clock.advance(10 * 86_400);
    assert_eq!(r.identify(&template(5), 1, None, "identification").unwrap()[0].facial_id, id5);
    drop(r); // reports what it saw
    assert!(t.vault().join("interactions.fxi").exists());
    w.commit().unwrap();
    assert_eq!(w.retention_deadline(&id5).unwrap(), before + 10 * 86_400);
    assert!(!t.vault().join("interactions.fxi").exists() && !t.vault().join("interactions.fxi.folding").exists());
    drop(w);
    let w = open_w(t.vault(), &t.key);
    assert_eq!(w.retention_deadline(&id5).unwrap(), before + 10 * 86_400, "persisted by the commit");

    // After a key rotation a reader holding the old key is told so.
    let r = Vault::open_read_only(t.vault(), &t.key).unwrap();
    w.rotate_key(&VaultKey::generate()).unwrap();
    assert!(matches!(r.refresh(), Err(Error::WrongKey)));
}

/// Issue 14, capability 7: 8 reader processes search in a loop while this process enrolls,
/// deletes, compacts and commits for `FIDEX_MP_SECONDS` (default 30) seconds. No reader
/// may see an error, a wrong payload (a torn state), or a template deleted more than the
/// refresh interval before its search started.
#[test]
fn readers_in_other_processes_follow_a_busy_writer() {
    let seconds: u64 = std::env::var("FIDEX_MP_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    let t = Setup::new();
    let ledger = t.p("deleted.txt");
    std::fs::write(&ledger, "").unwrap();
    let w = open_w(t.vault(), &t.key);
    enroll_subjects(&w, 0..200);
    w.commit().unwrap();
    let readers: Vec<std::process::Child> = (0..8)
        .map(|i| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "reader_process_child", "--ignored", "--nocapture", "--test-threads=1"])
                .env("FIDEX_MP_CHILD", format!("{}|{}|{}|{}|{}", t.vault().display(), t.p("key").display(), ledger.display(), seconds, i))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let start = Instant::now();
    let (mut next, mut live): (u64, Vec<u64>) = (200, (0..200).collect());
    let mut rounds = 0u64;
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut rand = |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n as u64) as usize
    };
    while start.elapsed() < Duration::from_secs(seconds) {
        enroll_subjects(&w, next..next + 40);
        live.extend(next..next + 40);
        next += 40;
        w.commit().unwrap();
        let mut doomed = Vec::new();
        for _ in 0..15 {
            doomed.push(live.swap_remove(rand(live.len())));
        }
        let ids: Vec<fidex::FacialId> =
            doomed.iter().map(|s| w.identify(&template(*s), 1, None, "identification").unwrap()[0].facial_id).collect();
        w.delete_many(&ids, fidex::log::audit::DeletionReason::SubjectRequest).unwrap();
        let at = now_ms();
        let mut f = std::fs::OpenOptions::new().append(true).open(&ledger).unwrap();
        for s in &doomed {
            writeln!(f, "{s},{at}").unwrap();
        }
        rounds += 1;
        if rounds.is_multiple_of(10) {
            w.compact().unwrap();
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    let mut searches = 0u64;
    let mut matches = 0u64;
    for c in readers {
        let out = c.wait_with_output().unwrap();
        let all = text(&out);
        assert!(out.status.success(), "a reader failed:\n{all}");
        let line = all.lines().find_map(|l| l.split_once("READER ").map(|(_, r)| r)).unwrap_or_else(|| panic!("no summary:\n{all}"));
        let field = |k: &str| -> u64 {
            line.split_whitespace().find_map(|p| p.strip_prefix(k)).and_then(|v| v.parse().ok()).unwrap()
        };
        assert!(field("refreshes=") >= 3, "the reader followed the writer: {line}");
        assert!(field("deleted_misses=") >= 1, "the reader searched for deleted subjects: {line}");
        searches += field("searches=");
        matches += field("matches=");
    }
    eprintln!("writer: {rounds} rounds, {next} enrolled, {} live; readers: {searches} searches, {matches} matches", live.len());
    assert!(matches > 100, "the readers found enrolled subjects");
    w.commit().unwrap();
    w.check().unwrap();
    assert_eq!(w.len(), live.len());
}

/// One reader process of `readers_in_other_processes_follow_a_busy_writer` (started by it
/// with `FIDEX_MP_CHILD`; ignored in normal runs).
#[test]
#[ignore = "a child process of readers_in_other_processes_follow_a_busy_writer"]
fn reader_process_child() {
    let spec = std::env::var("FIDEX_MP_CHILD").expect("FIDEX_MP_CHILD names the vault, key, ledger, seconds, index");
    let parts: Vec<&str> = spec.split('|').collect();
    let (vault, key_file, ledger, seconds, index) = (parts[0], parts[1], parts[2], parts[3].parse::<u64>().unwrap(), parts[4]);
    let key = VaultKey::import_text(&std::fs::read_to_string(key_file).unwrap()).unwrap();
    const INTERVAL_MS: u64 = 200;
    let opts = OpenOptions { read_only: true, refresh_interval: Some(Duration::from_millis(INTERVAL_MS)), ..Default::default() };
    let r = Vault::open_with(vault, &key, &opts).unwrap();
    let start = Instant::now();
    let mut rng = 0x9E37_79B9u64 ^ index.parse::<u64>().unwrap().wrapping_mul(0x1000_0000_01B3);
    let (mut searches, mut matches, mut refreshes, mut deleted_misses) = (0u64, 0u64, 0u64, 0u64);
    let mut generation = r.header().generation;
    while start.elapsed() < Duration::from_secs(seconds) {
        let deleted: std::collections::HashMap<u64, u64> = std::fs::read_to_string(ledger)
            .unwrap()
            .lines()
            // The writer may be appending the last line right now: skip a partial one.
            .filter_map(|l| l.split_once(',').and_then(|(s, t)| Some((s.parse().ok()?, t.parse().ok()?))))
            .collect();
        // Subjects the writer may have enrolled by now (it adds 40 every few tens of ms).
        let newest = 200 + 800 * (start.elapsed().as_secs() + 1);
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let s = if rng.is_multiple_of(3) && !deleted.is_empty() {
            *deleted.keys().nth((rng >> 8) as usize % deleted.len()).unwrap()
        } else {
            (rng >> 8) % newest
        };
        let started_ms = now_ms();
        let hits = r
            .identify_with_payloads(&template(s), 1, None, "identification")
            .unwrap_or_else(|e| panic!("reader {index}: search failed: {e}"));
        searches += 1;
        if let Some((m, payload)) = hits.first() {
            assert_eq!(payload.as_slice(), format!("s{s}").as_bytes(), "reader {index}: subject {s} matched {} (torn state)", m.facial_id);
            if let Some(&gone_at) = deleted.get(&s) {
                assert!(
                    started_ms <= gone_at + INTERVAL_MS + 20,
                    "reader {index}: subject {s}, deleted at {gone_at} ms, matched by a search started at {started_ms} ms"
                );
            }
            matches += 1;
        } else if deleted.contains_key(&s) {
            deleted_misses += 1;
        }
        let g = r.header().generation;
        assert!(g >= generation, "reader {index}: generation went back from {generation} to {g}");
        if g > generation {
            refreshes += 1;
            generation = g;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    println!("READER index={index} searches={searches} matches={matches} refreshes={refreshes} deleted_misses={deleted_misses}");
}
