//! Helpers shared by the commands: opening vaults, reading inputs, naming things.

use crate::args::{KeyArgs, VaultArgs, VectorArgs};
use crate::fail::{exit, Failure};
use crate::keys;
use crate::output::{self, Ctx, Dest};
use crate::vectors::{self, Format, Matrix};
use fidex::search::Metric;
use fidex::{Error, FacialId, Vault, VaultConfig, VaultKey};
use serde_json::{json, Value};
use std::path::Path;

/// Refuses a key given on the command line.
pub fn reject_cli_key(k: &KeyArgs) -> Result<(), Failure> {
    if k.key_on_command_line.is_some() {
        return Err(Failure {
            error: Error::InvalidArgument("a vault key was given on the command line".into()),
            context: None,
            display: None,
            hint: Some(
                "keys on the command line show in `ps` and shell history: use --key-file FILE, or set FIDEX_KEY_FILE or FIDEX_KEY (and consider rotating this key)"
                    .into(),
            ),
            exit: exit::USAGE,
        });
    }
    Ok(())
}

/// The vault key from --key-file / FIDEX_KEY_FILE / FIDEX_KEY.
pub fn key(k: &KeyArgs) -> Result<VaultKey, Failure> {
    reject_cli_key(k)?;
    keys::key_from(k.key_file.as_deref()).map(|(k, _)| k)
}

/// Adds the vault path to errors whose message does not already name it.
pub fn vault_ctx(e: Error, path: &Path) -> Failure {
    let name_in_message = matches!(
        e,
        Error::NotAVault(_) | Error::Io { .. } | Error::AlreadyExists(_)
    );
    let f = Failure::new(e);
    if name_in_message {
        f
    } else {
        f.context(format!("vault {}", path.display()))
    }
}

/// Opens the vault named by `v` with its key, for writing (waiting `--wait` seconds for
/// the lock if given).
pub fn open(v: &VaultArgs) -> Result<Vault, Failure> {
    let key = key(&v.key)?;
    let lock_wait = match v.wait {
        None => None,
        Some(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => Some(std::time::Duration::from_secs_f64(s)),
        Some(s) => return Err(Failure::usage(format!("--wait {s}: give a number of seconds from 0 to 86400"))),
    };
    let options = fidex::OpenOptions { lock_wait, ..Default::default() };
    Vault::open_with(&v.vault, &key, &options).map_err(|e| vault_ctx(e, &v.vault))
}

/// Opens the vault named by `v` read-only: beside a writer and other readers, and never
/// changing a file.
pub fn open_read_only(v: &VaultArgs) -> Result<Vault, Failure> {
    let key = key(&v.key)?;
    Vault::open_read_only(&v.vault, &key).map_err(|e| vault_ctx(e, &v.vault))
}

/// Opens the vault for a search: as the writer when it is free (a match then records the
/// subject's last interaction at once, and expired templates are purged), otherwise
/// read-only (the interaction is reported to the writer, which records it at its next
/// commit).
pub fn open_for_search(v: &VaultArgs) -> Result<Vault, Failure> {
    match open(v) {
        Err(f) if matches!(f.error, Error::Locked | Error::StrayFiles(_)) => open_read_only(v),
        r => r,
    }
}

/// Commits, saving receipts of templates purged automatically (retention) at commit.
pub fn commit(vault: &Vault, ctx: &Ctx) -> Result<(u64, Vec<Value>), Failure> {
    let info = vault.commit().map_err(Failure::new)?;
    let purged = save_purged(&info.purged, ctx)?;
    Ok((info.generation, purged))
}

/// Commit after a search: it only records the subjects' "last interaction" (which extends
/// their retention), so a failure is reported as a warning rather than failing the search.
pub fn commit_after_search(vault: &Vault, ctx: &Ctx) -> Vec<Value> {
    if vault.is_read_only() {
        // Reported to the writer instead (when the handle is dropped).
        return Vec::new();
    }
    match commit(vault, ctx) {
        Ok((_, purged)) => purged,
        Err(f) => {
            eprintln!(
                "fidex: warning: could not record the last interaction: {}",
                f.message()
            );
            Vec::new()
        }
    }
}

/// Saves deletion receipts produced as a side effect (automatic retention purge).
pub fn save_purged(receipts: &[fidex::DeletionReceipt], ctx: &Ctx) -> Result<Vec<Value>, Failure> {
    if receipts.is_empty() {
        return Ok(Vec::new());
    }
    let dest = Dest::Dir(ctx.receipt_dir.clone().unwrap_or_else(|| ".".into()));
    dest.preflight()?;
    let mut out = Vec::new();
    for r in receipts {
        let at = output::save_deletion(r, &dest)?;
        out.push(json!({"facial_id": r.facial_id, "reason": r.reason, "receipt": at}));
    }
    ctx.note(format!(
        "{} template(s) reached the end of their retention period and were purged at commit; receipts saved in {}",
        receipts.len(),
        ctx.receipt_dir.as_deref().unwrap_or(Path::new(".")).display()
    ));
    Ok(out)
}

/// Parses a Facial ID argument.
pub fn facial_id(s: &str) -> Result<FacialId, Failure> {
    s.parse::<FacialId>()
        .map_err(|e| Failure::new(e).hint("a Facial ID is the UUID printed by `fidex enroll`"))
}

/// Largest input file read whole (consents, receipts, manifests, payloads, tree heads).
pub const MAX_INPUT_BYTES: u64 = 256 << 20;

/// Reads a whole input file (exit 9 on failure; 3 is for vaults and templates), at most
/// [`MAX_INPUT_BYTES`]; devices, FIFOs and directories are refused without reading.
pub fn read_file(p: &Path, what: &str) -> Result<Vec<u8>, Failure> {
    read_bounded(p, MAX_INPUT_BYTES).map_err(|e| Failure::io(format!("{what} {}", shown_path(p)), e))
}

/// Reads a regular file of at most `max` bytes (following symlinks). Anything else —
/// `/dev/zero`, `/dev/urandom`, a FIFO, a directory — is refused before it is opened for
/// reading (a FIFO would block the open), and a file that grows past `max` while read is
/// refused too.
pub fn read_bounded(p: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let refuse = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidData, m);
    let meta = std::fs::metadata(p)?;
    if !meta.is_file() {
        return Err(refuse("not a regular file (devices, FIFOs and directories are refused)".into()));
    }
    if meta.len() > max {
        return Err(refuse(format!("{} bytes; the limit is {max}", meta.len())));
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(target_os = "linux")]
    {
        // O_NONBLOCK: if the path was swapped for a FIFO after the check, the open must
        // not wait for a writer.
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(0o4000);
    }
    let f = opts.open(p)?;
    if !f.metadata()?.is_file() {
        return Err(refuse("not a regular file".into()));
    }
    let mut out = Vec::with_capacity(meta.len() as usize);
    f.take(max + 1).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(refuse(format!("more than {max} bytes")));
    }
    Ok(out)
}

/// A path for messages, unless it looks like key text (someone passed the key where a
/// file name belongs, e.g. `--key-file "$(cat vault.key)"`): never echo a key.
pub fn shown_path(p: &Path) -> String {
    let s = p.to_string_lossy();
    if s.contains("fidex-key-") || VaultKey::import_text(&s).is_ok() {
        "<the path given looks like key text and is not shown; pass the key file's path>".to_string()
    } else {
        p.display().to_string()
    }
}

/// Loads the vectors of `a`, checking them against the vault dimension.
pub fn load_vectors(a: &VectorArgs, dim: usize) -> Result<Matrix, Failure> {
    let Some(path) = &a.vectors else {
        return Err(Failure::usage(
            "--vectors FILE is required (.npy, .json or .csv)",
        ));
    };
    let format = a
        .format
        .or_else(|| Format::from_path(path))
        .ok_or_else(|| {
            Failure::usage(format!(
                "cannot tell the format of {} from its extension",
                path.display()
            ))
            .hint("name it .npy, .json or .csv, or pass --format npy|json|csv")
        })?;
    let len = std::fs::metadata(path)
        .map_err(|e| Failure::io(format!("vector file {}", path.display()), e))?
        .len();
    if len > vectors::MAX_FILE_BYTES {
        return Err(Failure::usage(format!(
            "vector file {} is {len} bytes; the limit is {}",
            path.display(),
            vectors::MAX_FILE_BYTES
        )));
    }
    let bytes = read_file(path, "vector file")?;
    let m = vectors::parse(&bytes, format)
        .map_err(|msg| Failure::usage(msg).context(format!("vector file {}", path.display())))?;
    if m.dim != dim {
        return Err(Failure::new(Error::DimensionMismatch {
            expected: dim,
            got: m.dim,
        })
        .context(format!("vector file {}", path.display())));
    }
    match a.row {
        None => Ok(m),
        Some(r) if r < m.rows => Ok(Matrix {
            rows: 1,
            dim,
            data: m.row(r).to_vec(),
        }),
        Some(r) => Err(Failure::usage(format!(
            "--row {r} is out of range: {} holds {} vector(s)",
            path.display(),
            m.rows
        ))),
    }
}

/// Exactly one vector (single-subject enrollment, verification).
pub fn one_vector(a: &VectorArgs, dim: usize) -> Result<Vec<f32>, Failure> {
    let m = load_vectors(a, dim)?;
    if m.rows != 1 {
        return Err(Failure::usage(format!(
            "{} holds {} vectors but this command takes one",
            a.vectors.as_deref().unwrap_or(Path::new("?")).display(),
            m.rows
        ))
        .hint("pick one with --row N (0-based)"));
    }
    Ok(m.data)
}

/// What a score means, for human output.
pub fn score_meaning(m: Metric) -> &'static str {
    match m {
        Metric::L2 => "Euclidean distance, lower is closer",
        Metric::InnerProduct => "inner product, higher is closer",
        Metric::Cosine => "cosine similarity, higher is closer",
    }
}

/// The configuration as JSON, in the library's format ([`VaultConfig::to_json`]).
pub fn config_json(c: &VaultConfig) -> Value {
    serde_json::from_str(&c.to_json()).expect("VaultConfig::to_json writes JSON")
}

/// Writes `text` to a new file (never overwrites).
pub fn write_new(path: &Path, text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Failure::io(path.display(), e))?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| Failure::io(path.display(), e))
}

/// Checks an output path can be created (does not exist; parent exists).
pub fn preflight_new(path: &Path) -> Result<(), Failure> {
    Dest::File(path.to_path_buf())
        .preflight()
        .map_err(|f| f.hint("refusing to overwrite: choose another path"))
}

/// Human size.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
