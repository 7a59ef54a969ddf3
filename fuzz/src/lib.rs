//! Shared harness for the fidex fuzz targets.
//!
//! * [`Fixture`]: a real, small committed vault (built by `gen_seeds`, stored in
//!   `fixture/vault.bin`) under the fixed test key [`FIXTURE_KEY`].
//! * [`seal_file`] / [`open_file`]: a re-implementation of the documented file sealing
//!   (64-byte plaintext header, AES-256-GCM-SIV with `role label ‖ header` as associated
//!   data, subkey = HKDF-SHA256(key, salt = vault id, info = "fidex/v1/data-aead")). With
//!   it the `open_vault` target can hand the vault *authenticated* bodies the fuzzer chose,
//!   which reaches the parsers behind the AEAD (postcard manifest body, segment records,
//!   stored consent JSON, payloads, interaction times, audit-log chunks). Without it every mutation
//!   would stop at "failed authentication".
//! * [`run_open`]: the `open_vault` / `open_vault_wrong_key` property.
//! * [`MemStorage`]: an in-memory [`fidex::storage::Storage`] for cheap commit + reopen.

use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use fidex::storage::Storage;
use fidex::{Error, Vault, VaultKey};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// The fixed key of the fixture vault (test material only, never a real key).
pub const FIXTURE_KEY: [u8; 32] = [0x5a; 32];
/// A different key, for the wrong-key target.
pub const WRONG_KEY: [u8; 32] = [0xa5; 32];
/// The fixture vault's files in the container format of [`encode_container`].
pub const FIXTURE_BYTES: &[u8] = include_bytes!("../fixture/vault.bin");
/// The fixture vault's verification key text.
pub const FIXTURE_VK: &str = include_str!("../fixture/vk.txt");
/// Genuine receipts issued by the fixture vault, separated by a line `----`.
pub const FIXTURE_RECEIPTS: &str = include_str!("../fixture/receipts.txt");

/// Separator line between receipts in `fixture/receipts.txt`.
pub const RECEIPT_SEPARATOR: &str = "\n----\n";
const CONTAINER_MAGIC: &[u8; 8] = b"FXFIXT01";
/// Length of every vault file header.
pub const HEADER_LEN: usize = 64;
/// The manifest's file name.
pub const MANIFEST: &str = "fidex.vault";

/// Files of a vault, manifest first, then the others sorted by name.
#[derive(Clone, Debug)]
pub struct Fixture {
    /// (file name, bytes)
    pub files: Vec<(String, Vec<u8>)>,
}

impl Fixture {
    /// The vault id from the manifest header.
    pub fn vault_id(&self) -> [u8; 16] {
        self.files[0].1[16..32].try_into().expect("manifest header")
    }
}

/// Serialises files: magic, u32 count, then (u32 name len, name, u32 len, bytes) each.
pub fn encode_container(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = CONTAINER_MAGIC.to_vec();
    out.extend_from_slice(&(files.len() as u32).to_le_bytes());
    for (n, b) in files {
        out.extend_from_slice(&(n.len() as u32).to_le_bytes());
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(b);
    }
    out
}

/// Inverse of [`encode_container`] (the input is our own fixture: panics if malformed).
pub fn decode_container(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    assert_eq!(&bytes[..8], CONTAINER_MAGIC, "fixture/vault.bin is not a fixture container");
    let mut pos = 8;
    let u32_at = |pos: &mut usize| {
        let v = u32::from_le_bytes(bytes[*pos..*pos + 4].try_into().unwrap()) as usize;
        *pos += 4;
        v
    };
    let n = u32_at(&mut pos);
    let mut files = Vec::with_capacity(n);
    for _ in 0..n {
        let nl = u32_at(&mut pos);
        let name = String::from_utf8(bytes[pos..pos + nl].to_vec()).unwrap();
        pos += nl;
        let bl = u32_at(&mut pos);
        files.push((name, bytes[pos..pos + bl].to_vec()));
        pos += bl;
    }
    files
}

/// The committed fixture vault.
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let files = decode_container(FIXTURE_BYTES);
        assert_eq!(files[0].0, MANIFEST, "fixture must list the manifest first");
        Fixture { files }
    })
}

/// The fixture vault's verification key.
pub fn fixture_vk() -> fidex::VerificationKey {
    fidex::VerificationKey::from_text(FIXTURE_VK).expect("fixture/vk.txt")
}

/// The genuine receipts of the fixture vault (canonical JSON text).
pub fn fixture_receipts() -> Vec<String> {
    FIXTURE_RECEIPTS.split(RECEIPT_SEPARATOR).map(|s| s.trim_end_matches('\n').to_string()).filter(|s| !s.is_empty()).collect()
}

fn aad_label(name: &str) -> &'static [u8] {
    if name == MANIFEST {
        b"fidex/v1/manifest"
    } else if name.starts_with("seg-") {
        b"fidex/v1/segment"
    } else {
        b"fidex/v1/log"
    }
}

fn cipher(key: &VaultKey, vault_id: &[u8; 16]) -> Aes256GcmSiv {
    let sub = key.subkey(vault_id, "fidex/v1/data-aead");
    Aes256GcmSiv::new_from_slice(&sub[..]).expect("32-byte key")
}

/// Decrypts the body of vault file `name` (None if it does not authenticate).
pub fn open_file(key: &VaultKey, vault_id: &[u8; 16], name: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < HEADER_LEN + 12 + 16 {
        return None;
    }
    let (h, rest) = bytes.split_at(HEADER_LEN);
    let aad = [aad_label(name), h].concat();
    let (nonce, ct) = rest.split_at(12);
    let nonce = Nonce::try_from(nonce).expect("12 bytes");
    cipher(key, vault_id).decrypt(&nonce, Payload { msg: ct, aad: &aad }).ok()
}

/// Seals `body` as vault file `name` under `header` (deterministic nonce from the body).
pub fn seal_file(key: &VaultKey, vault_id: &[u8; 16], name: &str, header: &[u8], body: &[u8]) -> Vec<u8> {
    let aad = [aad_label(name), header].concat();
    let nonce: [u8; 12] = Sha256::digest(body)[..12].try_into().unwrap();
    let ct = cipher(key, vault_id)
        .encrypt(&Nonce::from(nonce), Payload { msg: body, aad: &aad })
        .expect("in-memory encryption");
    [header, &nonce[..], &ct].concat()
}

/// An in-memory vault directory.
#[derive(Debug, Clone, Default)]
pub struct MemStorage {
    files: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl MemStorage {
    /// With these files.
    pub fn with_files(files: &[(String, Vec<u8>)]) -> MemStorage {
        let s = MemStorage::default();
        s.files.lock().unwrap().extend(files.iter().cloned());
        s
    }
}

fn not_found(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, name.to_string())
}

impl Storage for MemStorage {
    fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        self.files.lock().unwrap().get(name).cloned().ok_or_else(|| not_found(name))
    }
    fn write_new(&self, name: &str, data: &[u8]) -> io::Result<()> {
        let mut f = self.files.lock().unwrap();
        if f.contains_key(name) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, name.to_string()));
        }
        f.insert(name.to_string(), data.to_vec());
        Ok(())
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let mut f = self.files.lock().unwrap();
        let d = f.remove(from).ok_or_else(|| not_found(from))?;
        f.insert(to.to_string(), d);
        Ok(())
    }
    fn remove(&self, name: &str) -> io::Result<()> {
        self.files.lock().unwrap().remove(name);
        Ok(())
    }
    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.files.lock().unwrap().keys().cloned().collect())
    }
    fn sync_dir(&self) -> io::Result<()> {
        Ok(())
    }
    fn size(&self, name: &str) -> io::Result<u64> {
        self.files.lock().unwrap().get(name).map(|d| d.len() as u64).ok_or_else(|| not_found(name))
    }
    fn location(&self) -> String {
        "memory".into()
    }
}

/// A per-process scratch directory, emptied before each use.
fn scratch_dir() -> PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    let d = D.get_or_init(|| {
        let base = std::env::var_os("FIDEX_FUZZ_TMP").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
        let d = base.join(format!("fidex-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch dir");
        d
    });
    for e in std::fs::read_dir(d).expect("scratch dir").flatten() {
        let _ = std::fs::remove_file(e.path());
    }
    d.clone()
}

/// What the first two input bytes select.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The rest of the input replaces the file's bytes as they are.
    Raw,
    /// The rest of the input is the file's *plaintext body*, sealed with the original
    /// header under `seal_key` (so it authenticates when `seal_key` is the vault key).
    Sealed,
    /// The file is removed.
    Missing,
}

/// Builds the fixture's files with one file replaced as `data` says:
/// `data[0]` picks the file (mod the number of files), `data[1] % 3` the [`Mode`].
pub fn mutated_files(data: &[u8], seal_key: &VaultKey) -> Option<(Vec<(String, Vec<u8>)>, usize, Mode)> {
    if data.len() < 2 {
        return None;
    }
    let fx = fixture();
    let idx = data[0] as usize % fx.files.len();
    let mode = match data[1] % 3 {
        0 => Mode::Raw,
        1 => Mode::Sealed,
        _ => Mode::Missing,
    };
    let body = &data[2..];
    let vid = fx.vault_id();
    let mut files = fx.files.clone();
    match mode {
        Mode::Raw => files[idx].1 = body.to_vec(),
        Mode::Sealed => {
            let (name, orig) = &files[idx];
            let sealed = seal_file(seal_key, &vid, name, &orig[..HEADER_LEN], body);
            files[idx].1 = sealed;
        }
        Mode::Missing => {
            files.remove(idx);
        }
    }
    Some((files, idx, mode))
}

fn write_dir(files: &[(String, Vec<u8>)]) -> PathBuf {
    let d = scratch_dir();
    for (n, b) in files {
        std::fs::write(d.join(n), b).expect("write scratch file");
    }
    // The lock file every vault directory has (the packed fixture holds vault files only).
    std::fs::write(d.join("LOCK"), b"").expect("write scratch LOCK");
    d
}

/// `open_vault`: the fixture with one file replaced, opened from a directory with the
/// right key. It must return an error or a vault whose every read works; an opened vault
/// must also survive commit + reopen.
pub fn run_open(data: &[u8]) {
    let key = VaultKey::from_bytes(FIXTURE_KEY);
    let Some((files, _, _)) = mutated_files(data, &key) else { return };
    let dir = write_dir(&files);
    match Vault::open(&dir, &key) {
        Err(e) => check_error(&e),
        Ok(v) => {
            exercise(&v);
            drop(v);
            commit_and_reopen(&files, &key);
        }
    }
}

/// `open_vault_wrong_key`: (a) the mutated fixture opened with a wrong key must fail;
/// (b) the replaced file sealed under the wrong key, opened with the right key, must fail
/// unless the file was not used at all (removed / raw modes are covered by `open_vault`).
pub fn run_open_wrong_key(data: &[u8]) {
    let right = VaultKey::from_bytes(FIXTURE_KEY);
    let wrong = VaultKey::from_bytes(WRONG_KEY);
    if let Some((files, _, _)) = mutated_files(data, &right) {
        let dir = write_dir(&files);
        match Vault::open(&dir, &wrong) {
            Err(e) => check_error(&e),
            Ok(_) => panic!("a wrong key opened the vault"),
        }
    }
    if let Some((files, _, Mode::Sealed)) = mutated_files(data, &wrong) {
        let dir = write_dir(&files);
        match Vault::open(&dir, &right) {
            Err(e) => check_error(&e),
            Ok(_) => panic!("a file sealed under another key was accepted"),
        }
    }
}

/// Errors from opening must be well-formed (stable code, non-empty message).
pub fn check_error(e: &Error) {
    let code = e.code();
    assert!((1001..=1999).contains(&code), "error code {code} out of range: {e:?}");
    assert_ne!(Error::describe_code(code), "unknown status code", "{e:?}");
    assert!(!e.to_string().is_empty());
}

/// Every read of an opened vault must work.
pub fn exercise(v: &Vault) {
    let cfg = v.config();
    let d = cfg.dimension as usize;
    let ids = v.facial_ids();
    assert_eq!(ids.len(), v.len());
    let probe: Vec<f32> = (0..d).map(|i| 1.0 / (i as f32 + 1.0)).collect();
    let everything = match cfg.metric {
        fidex::Metric::L2 => 1e30,
        _ => -1e30,
    };
    for p in &cfg.purposes {
        let hits = v.identify(&probe, 5, None, p).expect("identify on an opened vault");
        let all = v.identify(&probe, ids.len().clamp(1, fidex::vault::MAX_K), Some(everything), p).expect("identify (all) on an opened vault");
        for h in hits.iter().chain(&all) {
            assert!(ids.binary_search(&h.facial_id).is_ok(), "identify returned a Facial ID that is not live");
            assert!(!h.score.is_nan(), "NaN score");
        }
        let batch = v.identify_batch(&[probe.clone(), probe.clone()].concat(), 3, None, p).expect("identify_batch");
        assert_eq!(batch.len(), 2);
    }
    for id in &ids {
        let consent = v.consent(id).expect("consent of a live id");
        let _ = consent.validate(0);
        v.payload(id).expect("payload of a live id");
        if let Ok(r) = v.verify(id, &probe, &cfg.purposes[0]) {
            assert!(!r.score.is_nan());
        }
        let ex = v.export_subject(id, true).expect("export of a live id");
        assert_eq!(ex.template.map(|t| t.len()), Some(d));
    }
    v.stats().expect("stats");
    v.audit_entries(0, None).expect("audit entries");
    v.tree_head().expect("a tree head").verify(&v.verification_key()).expect("fresh tree head verifies");
    v.check().expect("check() of a freshly opened vault");
}

/// An opened vault must commit and reopen to the same live set (on an in-memory copy).
fn commit_and_reopen(files: &[(String, Vec<u8>)], key: &VaultKey) {
    let st = MemStorage::with_files(files);
    let clock: Arc<dyn fidex::clock::Clock> = Arc::new(fidex::clock::ManualClock::new(FIXTURE_NOW));
    let v = Vault::open_in(Arc::new(st.clone()), key, clock.clone()).expect("opens in memory too");
    let info = v.commit().expect("an opened vault commits");
    let ids = v.facial_ids();
    drop(v);
    let v = Vault::open_in(Arc::new(st), key, clock).expect("reopens after its own commit");
    assert_eq!(v.facial_ids(), ids, "commit + reopen changed the live set (purged {})", info.purged.len());
    exercise(&v);
}

/// The time the fixture was made at (its ManualClock).
pub const FIXTURE_NOW: i64 = 1_750_000_000;
