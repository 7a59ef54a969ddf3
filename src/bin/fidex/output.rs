//! Human and JSON output, progress bars, and saving receipts.

use crate::fail::Failure;
use fidex::{DeletionReason, DeletionReceipt, EnrollmentReceipt};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Writes a line to stdout; a closed pipe (`fidex audit … | head`) ends the process quietly.
pub fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    if let Err(e) = writeln!(o, "{s}").and_then(|_| o.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// Per-run output settings.
pub struct Ctx {
    /// JSON on stdout instead of human text.
    pub json: bool,
    /// Where receipts go when a command has no more specific destination.
    pub receipt_dir: Option<PathBuf>,
}

impl Ctx {
    /// Prints a human line (nothing in JSON mode).
    pub fn say(&self, s: impl AsRef<str>) {
        if !self.json {
            out(s.as_ref());
        }
    }

    /// Prints the JSON result (nothing in human mode).
    pub fn emit(&self, v: &serde_json::Value) {
        if self.json {
            out(&serde_json::to_string_pretty(v).expect("JSON values serialise"));
        }
    }

    /// A note on stderr (human mode only, so JSON consumers see clean streams).
    pub fn note(&self, s: impl AsRef<str>) {
        if !self.json {
            eprintln!("fidex: {}", s.as_ref());
        }
    }
}

/// A progress bar on stderr, shown only when stderr is a terminal and the work has taken
/// more than a second.
pub struct Progress {
    bar: Option<ProgressBar>,
    start: Instant,
    total: u64,
    pos: u64,
    enabled: bool,
    label: &'static str,
}

impl Progress {
    pub fn new(total: u64, label: &'static str) -> Progress {
        Progress {
            bar: None,
            start: Instant::now(),
            total,
            pos: 0,
            enabled: std::io::stderr().is_terminal(),
            label,
        }
    }

    pub fn inc(&mut self, n: u64) {
        self.pos += n;
        match &self.bar {
            Some(b) => b.set_position(self.pos),
            None if self.enabled
                && self.pos < self.total
                && self.start.elapsed() > Duration::from_secs(1) =>
            {
                let b = ProgressBar::new(self.total).with_elapsed(self.start.elapsed());
                if let Ok(style) = ProgressStyle::with_template(
                    "{msg} [{bar:30}] {pos}/{len} {elapsed}, eta {eta}",
                ) {
                    b.set_style(style.progress_chars("=> "));
                }
                b.set_message(self.label);
                b.set_position(self.pos);
                self.bar = Some(b);
            }
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// File-name stem of a deletion receipt by reason.
pub fn deletion_kind(r: DeletionReason) -> &'static str {
    match r {
        DeletionReason::ConsentWithdrawn => "withdrawal",
        DeletionReason::RetentionExpired => "retention",
        _ => "deletion",
    }
}

/// Where a receipt is written.
#[derive(Clone, Debug)]
pub enum Dest {
    /// This exact file (must not exist).
    File(PathBuf),
    /// Standard output.
    Stdout,
    /// `<dir>/<facial id>-<kind>-receipt.json`.
    Dir(PathBuf),
}

impl Dest {
    /// From `--receipt FILE|-`, else `--receipt-dir`, else `default_dir`.
    pub fn choose(
        file: Option<&Path>,
        dir: Option<&Path>,
        default_dir: Option<&Path>,
    ) -> Option<Dest> {
        match (file, dir, default_dir) {
            (Some(f), _, _) if f.as_os_str() == "-" => Some(Dest::Stdout),
            (Some(f), _, _) => Some(Dest::File(f.to_path_buf())),
            (None, Some(d), _) | (None, None, Some(d)) => Some(Dest::Dir(d.to_path_buf())),
            (None, None, None) => None,
        }
    }

    /// Checks before acting that the receipt can be written (so a deletion never happens
    /// with nowhere to put its receipt).
    pub fn preflight(&self) -> Result<(), Failure> {
        match self {
            Dest::Stdout => Ok(()),
            Dest::File(p) => {
                if p.exists() {
                    return Err(
                        Failure::io(p.display(), std::io::ErrorKind::AlreadyExists.into())
                            .hint("receipts are never overwritten: choose another --receipt path"),
                    );
                }
                let parent = p
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                if !parent.is_dir() {
                    return Err(
                        Failure::io(parent.display(), std::io::ErrorKind::NotFound.into())
                            .hint("the receipt's directory must exist"),
                    );
                }
                Ok(())
            }
            Dest::Dir(d) => std::fs::create_dir_all(d).map_err(|e| Failure::io(d.display(), e)),
        }
    }

    fn path_for(&self, stem: &str) -> Option<PathBuf> {
        match self {
            Dest::Stdout => None,
            Dest::File(p) => Some(p.clone()),
            Dest::Dir(d) => Some(d.join(format!("{stem}-receipt.json"))),
        }
    }
}

/// Writes receipt text (canonical JSON, then one newline) to `dest`; returns where it went.
///
/// Atomic: the text goes to a temporary file in the same directory, is synced, then linked to
/// its name (which must not exist: receipts are never overwritten) and the directory synced,
/// so a crash leaves either no receipt file or a complete one, never a torn one. If the file
/// cannot be written, the receipt is printed on stdout so it is not lost, and the error's
/// hint says how to issue it again (`fidex receipt issue`).
pub fn save(text: &str, stem: &str, dest: &Dest) -> Result<String, Failure> {
    let Some(path) = dest.path_for(stem) else {
        out(text);
        return Ok("stdout".into());
    };
    match write_atomically(&path, format!("{text}\n").as_bytes()) {
        Ok(()) => Ok(path.display().to_string()),
        Err(e) => {
            eprintln!(
                "fidex: could not write receipt {} ({e}); here it is, save it:",
                path.display()
            );
            out(text);
            Err(Failure::io(path.display(), e))
        }
    }
}

/// Creates `path` holding `bytes`, atomically and without ever replacing an existing file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // A hard link fails if `path` exists, so nothing is ever overwritten; file systems without
    // hard links get a rename after the same check (a tiny window, instead of none).
    let linked = match std::fs::hard_link(&tmp, path) {
        Ok(()) => std::fs::remove_file(&tmp),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
        Err(_) if path.exists() => Err(std::io::ErrorKind::AlreadyExists.into()),
        Err(_) => std::fs::rename(&tmp, path),
    };
    if let Err(e) = linked {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The directory entry must be durable too.
    std::fs::File::open(dir).and_then(|d| d.sync_all()).or_else(|e| {
        // Some platforms cannot open a directory for syncing; the file itself is synced.
        if cfg!(unix) { Err(e) } else { Ok(()) }
    })
}

/// Saves a deletion receipt as `<facial id>-<kind>-receipt.json` (or to the chosen file).
pub fn save_deletion(r: &DeletionReceipt, dest: &Dest) -> Result<String, Failure> {
    save(
        &fidex::receipt::to_json(r),
        &format!("{}-{}", r.facial_id, deletion_kind(r.reason)),
        dest,
    )
}

/// Saves an enrollment receipt.
pub fn save_enrollment(r: &EnrollmentReceipt, dest: &Dest) -> Result<String, Failure> {
    save(
        &fidex::receipt::to_json(r),
        &format!("{}-enrollment", r.facial_id),
        dest,
    )
}
