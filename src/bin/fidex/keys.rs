//! Keys: getting the vault key (file or environment, never the command line), writing key
//! files, reading verification keys, and the `fidex key` commands.

use crate::args::{KeyArgs, VaultArgs};
use crate::common::{key, open_read_only, preflight_new, read_bounded, shown_path, write_new};
use crate::fail::{exit, CmdResult, Failure};
use crate::output::{self, Ctx};
use serde_json::json;
use fidex::receipt::VerificationKey;
use fidex::VaultKey;
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Environment variable holding the path of a key file.
pub const ENV_KEY_FILE: &str = "FIDEX_KEY_FILE";
/// Environment variable holding the key text itself.
pub const ENV_KEY: &str = "FIDEX_KEY";

const HOW: &str =
    "pass --key-file FILE, or set FIDEX_KEY_FILE=FILE or FIDEX_KEY=<key text>; create a key with `fidex key new FILE`";

/// Where the key comes from, for messages.
pub fn key_from(file: Option<&Path>) -> Result<(VaultKey, String), Failure> {
    if let Some(p) = file {
        return read_key_file(p).map(|k| (k, shown_path(p)));
    }
    if let Some(p) = std::env::var_os(ENV_KEY_FILE).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return read_key_file(&p).map(|k| (k, format!("{} (from {ENV_KEY_FILE})", shown_path(&p))));
    }
    if let Ok(text) = std::env::var(ENV_KEY) {
        let text = Zeroizing::new(text);
        if !text.trim().is_empty() {
            let k = VaultKey::import_text(&text)
                .map_err(|e| Failure::new(e).context(format!("key in {ENV_KEY}")))?;
            return Ok((k, ENV_KEY.to_string()));
        }
    }
    Err(Failure::key("no vault key given", HOW))
}

/// Reads a key file (one line of `fidex-key-1:…` text); warns if others can read it.
pub fn read_key_file(p: &Path) -> Result<VaultKey, Failure> {
    let cannot = |e: &dyn std::fmt::Display| Failure::key(format!("cannot read key file {}: {e}", shown_path(p)), HOW);
    // A key file is one short line: read at most a few KiB, from a regular file only.
    let bytes = Zeroizing::new(read_bounded(p, MAX_KEY_FILE_BYTES).map_err(|e| cannot(&e))?);
    let text = std::str::from_utf8(&bytes).map_err(|_| cannot(&"it is not UTF-8 text"))?;
    warn_if_exposed(p);
    VaultKey::import_text(text)
        .map_err(|e| Failure::new(e).context(format!("key file {}", shown_path(p))))
}

/// Largest key file read (the key text is about 70 bytes).
const MAX_KEY_FILE_BYTES: u64 = 4096;

#[cfg(unix)]
fn warn_if_exposed(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(p) {
        let mode = m.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            eprintln!(
                "fidex: warning: key file {} is readable by other users (mode {mode:04o}); run: chmod 600 {}",
                p.display(),
                p.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_exposed(_: &Path) {}

/// Creates `path` exclusively with mode 0600 (owner read/write only) and writes `text`.
pub fn write_private(path: &Path, text: &[u8]) -> Result<(), Failure> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| Failure::io(path.display(), e))?;
    #[cfg(unix)]
    {
        // The umask can only remove bits; make it exactly 0600 whatever it was.
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Failure::io(path.display(), e))?;
    }
    let res = f.write_all(text).and_then(|_| f.sync_all());
    if let Err(e) = res {
        drop(f);
        let _ = std::fs::remove_file(path);
        return Err(Failure::io(path.display(), e));
    }
    Ok(())
}

/// Writes a new key file; returns the key.
pub fn new_key_file(path: &Path) -> Result<VaultKey, Failure> {
    let key = VaultKey::generate();
    // Sized for the newline up front: a `push` that grows the string would move the key
    // text and leave a copy of it in freed memory.
    let exported = key.export_text();
    let mut text = Zeroizing::new(String::with_capacity(exported.len() + 1));
    text.push_str(&exported);
    text.push('\n');
    write_private(path, text.as_bytes())?;
    Ok(key)
}

/// Reads verification keys from `--key` values: each is key text (`fidex-vk-1:…`) or a file
/// holding one key per line (blank lines and `#` comments ignored).
pub fn verification_keys(args: &[String]) -> Result<Vec<VerificationKey>, Failure> {
    let mut out = Vec::new();
    for a in args {
        if a.trim()
            .starts_with(fidex::receipt::VERIFICATION_KEY_PREFIX)
        {
            out.push(VerificationKey::from_text(a).map_err(Failure::new)?);
            continue;
        }
        let text = read_bounded(Path::new(a), 16 << 20).and_then(|b| String::from_utf8(b).map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))).map_err(|e| {
            Failure::key(
                format!("--key '{}' is neither verification key text (fidex-vk-1:…) nor a readable file: {e}", shown_path(Path::new(a))),
                "pass the published verification key (e.g. verification-key.txt, or `fidex key public VAULT`)",
            )
        })?;
        let keys = VerificationKey::parse_key_file(&text)
            .map_err(|e| Failure::new(e).context(format!("verification key file {a}")).hint("a key file holds lines fidex-vk-1:… ('#' comments and blank lines are ignored)"))?;
        out.extend(keys);
    }
    Ok(out)
}

// ------------------------------------------------------------------ `fidex key` commands

pub fn key_new(ctx: &Ctx, file: &std::path::Path) -> CmdResult {
    let key = new_key_file(file)?;
    let fp = key.fingerprint();
    ctx.emit(&json!({"key_file": file, "fingerprint": fp, "mode": "0600"}));
    ctx.say(format!(
        "Wrote a new vault key to {} (mode 0600), fingerprint {fp}.",
        file.display()
    ));
    ctx.say("Keep it secret and backed up: without it the vault can never be opened again.");
    ctx.say(format!(
        "Use it with --key-file {} or FIDEX_KEY_FILE={}.",
        file.display(),
        file.display()
    ));
    Ok(exit::OK)
}

pub fn key_public(ctx: &Ctx, v: &VaultArgs, out: Option<&std::path::Path>, all: bool) -> CmdResult {
    if let Some(o) = out {
        preflight_new(o)?;
    }
    let vault = open_read_only(v)?;
    let vk = vault.verification_key().to_text();
    let previous: Vec<String> = vault
        .previous_verification_keys()
        .iter()
        .map(|k| k.to_text())
        .collect();
    if let Some(o) = out {
        let mut text = format!("{vk}\n");
        if all {
            for p in previous.iter().rev() {
                text.push_str(p);
                text.push('\n');
            }
        }
        write_new(o, &text)?;
    }
    let key_id = vault.verification_key().key_id();
    ctx.emit(&json!({"verification_key": vk, "key_id": key_id, "previous": previous, "vault_id": vault.vault_id(), "written_to": out}));
    if !ctx.json {
        output::out(&vk);
        if all {
            for p in previous.iter().rev() {
                output::out(p);
            }
        }
        if let Some(o) = out {
            ctx.note(format!("also written to {}", o.display()));
        }
    }
    Ok(exit::OK)
}

pub fn key_fingerprint(ctx: &Ctx, k: &KeyArgs) -> CmdResult {
    let key = key(k)?;
    let fp = key.fingerprint();
    ctx.emit(&json!({"fingerprint": fp}));
    ctx.say(&fp);
    Ok(exit::OK)
}
