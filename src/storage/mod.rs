//! The small file interface the vault writes through.
//!
//! A vault is a directory of immutable, uniquely named files plus one manifest that is
//! replaced atomically. [`Storage`] is all the vault needs from a file system, so tests can
//! inject failures ([`FaultyStorage`]): ENOSPC, short writes, failed fsyncs, failed renames.

#![forbid(unsafe_code)]

pub mod format;

/// Nanoseconds this process has spent waiting in `fsync` of vault files and directories
/// ([`FsStorage`]), for diagnostics and benchmarks: how much of a commit's time is the
/// disk's durability latency rather than fidex's work.
pub fn fsync_nanos() -> u64 {
    FSYNC_NANOS.load(std::sync::atomic::Ordering::Relaxed)
}

static FSYNC_NANOS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn timed_sync(f: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
    let t = std::time::Instant::now();
    let r = f();
    FSYNC_NANOS.fetch_add(t.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
    r
}

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// File operations used by a vault. Names are plain file names inside the vault directory.
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// Reads a whole file.
    fn read(&self, name: &str) -> io::Result<Vec<u8>>;
    /// Creates `name` (failing if it exists), writes `data` fully and fsyncs the file.
    fn write_new(&self, name: &str, data: &[u8]) -> io::Result<()>;
    /// Atomically replaces `to` with `from`.
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    /// Removes a file; a missing file is not an error.
    fn remove(&self, name: &str) -> io::Result<()>;
    /// Lists file names in the directory.
    fn list(&self) -> io::Result<Vec<String>>;
    /// Makes directory entries (creations, renames, removals) durable.
    fn sync_dir(&self) -> io::Result<()>;
    /// Size of a file in bytes.
    fn size(&self, name: &str) -> io::Result<u64>;
    /// Human-readable location (for messages).
    fn location(&self) -> String;
    /// Reads a whole file of at most `max` bytes: a larger file, or anything that is not a
    /// regular file (a symlink, a device such as `/dev/zero`, a FIFO), is an error
    /// (`InvalidData`) without reading it.
    fn read_at_most(&self, name: &str, max: u64) -> io::Result<Vec<u8>> {
        let size = self.size(name)?;
        if size > max {
            return Err(too_large(name, size, max));
        }
        let bytes = self.read(name)?;
        if bytes.len() as u64 > max {
            return Err(too_large(name, bytes.len() as u64, max));
        }
        Ok(bytes)
    }
    /// Appends `data` to `name` (created if missing). Used only by read-only handles to
    /// report interactions, best effort; the default reports `Unsupported` (a storage
    /// without it loses readers' interactions: retention then counts from the last
    /// interaction a writer saw).
    fn append(&self, name: &str, data: &[u8]) -> io::Result<()> {
        let _ = (name, data);
        Err(io::Error::new(io::ErrorKind::Unsupported, "append is not supported by this storage"))
    }
    /// Takes the vault's exclusive writer lock for the handle's lifetime; `Ok(None)` if the
    /// storage has no locking. Err(`WouldBlock`) if another process or handle holds it.
    /// `create`: make the lock file (a new vault); otherwise it must exist (`NotFound`: it
    /// was removed, possibly while another writer holds it).
    fn lock_vault(&self, create: bool) -> io::Result<Option<Box<dyn HeldLock>>> {
        let _ = create;
        Ok(None)
    }
}

/// A lock taken by [`Storage::lock_vault`], released when dropped.
pub trait HeldLock: Send + Sync {
    /// Checks that this is still the lock of the vault: the lock file at its path is the
    /// file this lock holds. Deleting or replacing the lock file lets another process take
    /// a lock of its own, so a writer checks this before every commit.
    fn verify(&self) -> io::Result<()>;
}

fn too_large(name: &str, size: u64, max: u64) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{name} is {size} bytes; a file of this kind is at most {max} bytes"))
}

/// A vault directory on the local file system.
#[derive(Debug, Clone)]
pub struct FsStorage {
    dir: PathBuf,
}

/// Name of the lock file inside a vault directory.
pub const LOCK_FILE: &str = "LOCK";

impl FsStorage {
    /// Uses `dir` (which must exist).
    pub fn new(dir: impl Into<PathBuf>) -> FsStorage {
        FsStorage { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Storage for FsStorage {
    fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        fs::read(self.dir.join(name))
    }

    fn write_new(&self, name: &str, data: &[u8]) -> io::Result<()> {
        let path = self.dir.join(name);
        let mut f = OpenOptions::new().write(true).create_new(true).open(&path)?;
        let res = f.write_all(data).and_then(|_| timed_sync(|| f.sync_all()));
        if res.is_err() {
            drop(f);
            let _ = fs::remove_file(&path);
        }
        res
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        fs::rename(self.dir.join(from), self.dir.join(to))
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        match fs::remove_file(self.dir.join(name)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }

    fn list(&self) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.dir)? {
            let e = e?;
            if let Ok(n) = e.file_name().into_string() {
                out.push(n);
            }
        }
        out.sort();
        Ok(out)
    }

    fn sync_dir(&self) -> io::Result<()> {
        let d = File::open(&self.dir)?;
        timed_sync(|| d.sync_all())
    }

    fn size(&self, name: &str) -> io::Result<u64> {
        Ok(fs::metadata(self.dir.join(name))?.len())
    }

    fn location(&self) -> String {
        self.dir.display().to_string()
    }

    fn read_at_most(&self, name: &str, max: u64) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let path = self.dir.join(name);
        // Not followed: vault files are always regular files the vault wrote itself.
        let meta = fs::symlink_metadata(&path)?;
        if !meta.file_type().is_file() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("{name} is not a regular file")));
        }
        let f = File::open(&path)?;
        let meta = f.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("{name} is not a regular file")));
        }
        if meta.len() > max {
            return Err(too_large(name, meta.len(), max));
        }
        let mut out = Vec::with_capacity(meta.len() as usize);
        f.take(max + 1).read_to_end(&mut out)?;
        if out.len() as u64 > max {
            return Err(too_large(name, out.len() as u64, max));
        }
        Ok(out)
    }

    fn append(&self, name: &str, data: &[u8]) -> io::Result<()> {
        // One write(2) per report: O_APPEND keeps concurrent reporters' frames whole.
        let mut f = OpenOptions::new().append(true).create(true).open(self.dir.join(name))?;
        f.write_all(data)
    }

    fn lock_vault(&self, create: bool) -> io::Result<Option<Box<dyn HeldLock>>> {
        let path = self.dir.join(LOCK_FILE);
        let f = OpenOptions::new().read(true).write(true).create(create).truncate(false).open(&path)?;
        match f.try_lock() {
            Ok(()) => Ok(Some(Box::new(FsLock { file: f, path }))),
            Err(fs::TryLockError::WouldBlock) => Err(io::Error::new(io::ErrorKind::WouldBlock, "vault is locked")),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

/// The `flock` of a vault directory's `LOCK` file.
struct FsLock {
    file: File,
    path: PathBuf,
}

impl HeldLock for FsLock {
    fn verify(&self) -> io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        let held = self.file.metadata()?;
        let gone = || {
            io::Error::new(
                io::ErrorKind::NotFound,
                "the vault's LOCK file was removed or replaced while this handle held it, so another process may now hold \
                 a lock of its own and write",
            )
        };
        match fs::metadata(&self.path) {
            Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() && held.nlink() > 0 => Ok(()),
            Ok(_) => Err(gone()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(gone()),
            Err(e) => Err(e),
        }
    }
}

/// Which operation a [`FaultyStorage`] should fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `write_new` fails with ENOSPC before writing anything.
    NoSpace,
    /// `write_new` writes only half of the data, then fails (the partial file remains, as
    /// after a crash or a full disk).
    ShortWrite,
    /// `write_new` writes everything but the fsync fails.
    FsyncFails,
    /// `rename` fails.
    RenameFails,
    /// `rename` leaves both names present and then fails (a torn rename).
    TornRename,
    /// `sync_dir` fails.
    DirSyncFails,
    /// `remove` fails.
    RemoveFails,
}

/// Wraps a [`Storage`] and fails chosen operations, for fault-injection tests.
///
/// `arm(fault, after)` makes the `after`-th matching operation from now fail (0 = the next).
#[derive(Debug, Clone)]
pub struct FaultyStorage {
    inner: Arc<dyn Storage>,
    plan: Arc<Mutex<Option<(Fault, u64)>>>,
    ops: Arc<AtomicU64>,
}

impl FaultyStorage {
    /// Wraps `inner` with no fault armed.
    pub fn new(inner: Arc<dyn Storage>) -> FaultyStorage {
        FaultyStorage { inner, plan: Arc::new(Mutex::new(None)), ops: Arc::new(AtomicU64::new(0)) }
    }

    /// Arms one fault.
    pub fn arm(&self, fault: Fault, after: u64) {
        *self.plan.lock().unwrap_or_else(|e| e.into_inner()) = Some((fault, after));
    }

    /// Disarms.
    pub fn disarm(&self) {
        *self.plan.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Whether the armed fault has fired (or none was armed).
    pub fn fired(&self) -> bool {
        self.plan.lock().unwrap_or_else(|e| e.into_inner()).is_none()
    }

    /// Number of mutating operations seen.
    pub fn ops(&self) -> u64 {
        self.ops.load(Ordering::Relaxed)
    }

    fn trigger(&self, kinds: &[Fault]) -> Option<Fault> {
        self.ops.fetch_add(1, Ordering::Relaxed);
        let mut plan = self.plan.lock().unwrap_or_else(|e| e.into_inner());
        match *plan {
            Some((f, n)) if kinds.contains(&f) => {
                if n == 0 {
                    *plan = None;
                    Some(f)
                } else {
                    *plan = Some((f, n - 1));
                    None
                }
            }
            _ => None,
        }
    }
}

fn injected(what: &str) -> io::Error {
    io::Error::other(format!("injected fault: {what}"))
}

impl Storage for FaultyStorage {
    fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        self.inner.read(name)
    }

    fn write_new(&self, name: &str, data: &[u8]) -> io::Result<()> {
        match self.trigger(&[Fault::NoSpace, Fault::ShortWrite, Fault::FsyncFails]) {
            Some(Fault::NoSpace) => Err(io::Error::from_raw_os_error(28)),
            Some(Fault::ShortWrite) => {
                self.inner.write_new(name, &data[..data.len() / 2])?;
                Err(injected("short write"))
            }
            Some(_) => {
                self.inner.write_new(name, data)?;
                Err(injected("fsync failed"))
            }
            None => self.inner.write_new(name, data),
        }
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        match self.trigger(&[Fault::RenameFails, Fault::TornRename]) {
            Some(Fault::RenameFails) => Err(injected("rename failed")),
            Some(_) => {
                // Leave the new file under its temporary name and fail: the old target remains.
                Err(injected("torn rename"))
            }
            None => self.inner.rename(from, to),
        }
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        match self.trigger(&[Fault::RemoveFails]) {
            Some(_) => Err(injected("remove failed")),
            None => self.inner.remove(name),
        }
    }

    fn list(&self) -> io::Result<Vec<String>> {
        self.inner.list()
    }

    fn sync_dir(&self) -> io::Result<()> {
        match self.trigger(&[Fault::DirSyncFails]) {
            Some(_) => Err(injected("directory fsync failed")),
            None => self.inner.sync_dir(),
        }
    }

    fn size(&self, name: &str) -> io::Result<u64> {
        self.inner.size(name)
    }

    fn location(&self) -> String {
        self.inner.location()
    }

    fn read_at_most(&self, name: &str, max: u64) -> io::Result<Vec<u8>> {
        self.inner.read_at_most(name, max)
    }

    fn append(&self, name: &str, data: &[u8]) -> io::Result<()> {
        self.inner.append(name, data)
    }

    fn lock_vault(&self, create: bool) -> io::Result<Option<Box<dyn HeldLock>>> {
        self.inner.lock_vault(create)
    }
}
