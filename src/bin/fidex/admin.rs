//! Administration: `fidex check` (integrity), `fidex rotate-key`, `fidex compact`.

use crate::args::*;
use crate::common::*;
use crate::fail::{exit, CmdResult, Failure};
use crate::keys;
use crate::output::Ctx;
use fidex::Vault;
use serde_json::json;

pub fn check(ctx: &Ctx, a: &CheckArgs) -> CmdResult {
    let v = &a.vault;
    // Opening authenticates the manifest, every segment and every log chunk. Read-only:
    // checking changes nothing, beside a writer or not.
    let vault = if a.remove_stray { open(v)? } else { open_read_only(v)? };
    if a.remove_stray {
        let removed = vault.remove_stray_files().map_err(|e| vault_ctx(e, &v.vault))?;
        ctx.note(format!("removed {} stray file(s): {}", removed.len(), removed.join(", ")));
    }
    let strays = vault.stray_files();
    if !strays.is_empty() {
        return Err(vault_ctx(fidex::Error::StrayFiles(strays), &v.vault));
    }
    vault.check().map_err(|e| vault_ctx(e, &v.vault))?;
    let head = vault.tree_head().map_err(Failure::new)?;
    head.verify(&vault.verification_key())
        .map_err(|e| vault_ctx(e, &v.vault))?;
    let pending = vault.pending_removals();
    ctx.emit(&json!({
        "ok": true, "vault": v.vault, "templates": vault.len(), "log_entries": head.log_size,
        "log_root": head.log_root, "generation": vault.header().generation, "pending_removals": pending,
    }));
    ctx.say(format!(
        "OK: every file of {} authenticated; {} templates, {} audit-log entries (root {}), generation {}.",
        v.vault.display(),
        vault.len(),
        head.log_size,
        head.log_root,
        vault.header().generation
    ));
    if !pending.is_empty() {
        ctx.note(format!(
            "{} obsolete file(s) could not be removed yet (retried at the next commit): {}",
            pending.len(),
            pending.join(", ")
        ));
    }
    Ok(exit::OK)
}

pub fn rotate_key(ctx: &Ctx, a: &RotateArgs) -> CmdResult {
    let old_key = key(&a.vault.key)?;
    let new_key = keys::read_key_file(&a.new_key)?;
    if new_key.fingerprint() == old_key.fingerprint() {
        return Err(Failure::usage("the new key is the current key")
            .hint("create a new one with `fidex key new FILE`"));
    }
    if let Some(o) = &a.vk_out {
        preflight_new(o)?;
    }
    let vault = Vault::open(&a.vault.vault, &old_key).map_err(|e| vault_ctx(e, &a.vault.vault))?;
    let old_vk = vault.verification_key().to_text();
    vault
        .rotate_key(&new_key)
        .map_err(|e| vault_ctx(e, &a.vault.vault))?;
    let new_vk = vault.verification_key().to_text();
    if let Some(o) = &a.vk_out {
        write_new(o, &format!("{new_vk}\n"))?;
    }
    // Not `close()`: it drops the receipts of templates purged automatically at that commit.
    commit(&vault, ctx)?;
    let pending = vault.pending_removals();
    ctx.emit(&json!({
        "vault": a.vault.vault, "new_key_fingerprint": new_key.fingerprint(),
        "verification_key": new_vk, "previous_verification_key": old_vk,
        "pending_removals": pending,
    }));
    ctx.say(format!(
        "Re-encrypted {} under the key in {} (fingerprint {}).",
        a.vault.vault.display(),
        a.new_key.display(),
        new_key.fingerprint()
    ));
    if pending.is_empty() {
        ctx.say("The old key no longer opens the vault; no file written under it remains.");
    } else {
        ctx.say(format!(
            "The old key no longer opens the vault, but the file system refused to remove {} (written under the old key, \
             unreadable without it; retried at each commit and when the vault is opened).",
            pending.join(", ")
        ));
    }
    ctx.say(format!("New verification key (publish it):\n  {new_vk}"));
    ctx.say(format!(
        "Keep the previous one published too: receipts issued before now verify only with it:\n  {old_vk}"
    ));
    Ok(exit::OK)
}

pub fn compact(ctx: &Ctx, v: &VaultArgs) -> CmdResult {
    let vault = open(v)?;
    let before = vault.stats().map_err(Failure::new)?;
    let info = vault.compact().map_err(Failure::new)?;
    let after = vault.stats().map_err(Failure::new)?;
    ctx.emit(&json!({
        "generation": info.generation, "files_written": info.files_written, "bytes_written": info.bytes_written,
        "segments_before": before.segments, "segments_after": after.segments,
        "bytes_before": before.bytes_on_disk, "bytes_after": after.bytes_on_disk,
    }));
    ctx.say(format!(
        "Compacted {}: {} → {} segment(s), {} → {} on disk ({} file(s) written, generation {}).",
        v.vault.display(),
        before.segments,
        after.segments,
        bytes(before.bytes_on_disk),
        bytes(after.bytes_on_disk),
        info.files_written,
        info.generation
    ));
    Ok(exit::OK)
}
