//! Erasure with signed receipts: `fidex delete`, `fidex withdraw`, `fidex purge`.

use crate::args::*;
use crate::common::*;
use crate::fail::{exit, CmdResult, Failure};
use crate::output::{self, Ctx, Dest};
use crate::timefmt::{format_time, now, parse_time};
use fidex::{DeletionReason, Error};
use serde_json::json;

pub fn delete(ctx: &Ctx, a: &DeleteArgs) -> CmdResult {
    let reason: DeletionReason = a.reason.parse().map_err(Failure::new)?;
    let ids = a
        .facial_ids
        .iter()
        .map(|s| facial_id(s))
        .collect::<Result<Vec<_>, _>>()?;
    if a.receipt.is_some() && ids.len() > 1 {
        return Err(Failure::usage(
            "--receipt FILE takes one Facial ID; with several, use --receipt-dir DIR",
        ));
    }
    let dest = receipt_dest(ctx, a.receipt.as_deref())?;
    let vault = open(&a.vault)?;
    // All or nothing, one commit: withdrawals also log the withdrawal itself.
    let erased = if reason == DeletionReason::ConsentWithdrawn {
        vault.withdraw_consent_many(&ids)
    } else {
        vault.delete_many(&ids, reason)
    };
    let receipts = erased.map_err(|e| {
        let f = Failure::new(e);
        if ids.len() > 1 && f.error.code() == Error::NotFound.code() {
            f.context("nothing was deleted")
        } else {
            f
        }
    })?;
    let saved = save_all(&receipts, &dest, &a.vault.vault)?;
    // Not `close()`: it drops the receipts of templates purged automatically at that commit.
    commit(&vault, ctx)?;
    ctx.emit(&json!({
        "deleted": receipts.iter().zip(&saved).map(|(r, at)| json!({"facial_id": r.facial_id, "reason": r.reason, "deleted_at": r.deleted_at, "receipt": at, "erasure_pending": r.erasure_pending})).collect::<Vec<_>>(),
    }));
    for (r, at) in receipts.iter().zip(&saved) {
        ctx.say(format!("Deleted {} (reason {}); {}", r.facial_id, r.reason.as_str(), erasure_state(r)));
        if at != "stdout" {
            ctx.say(format!("  signed receipt: {at}"));
        }
    }
    if !receipts.is_empty() && !ctx.json {
        ctx.say("Anyone can check a receipt offline: fidex receipt verify RECEIPT --key <verification key>");
    }
    Ok(exit::OK)
}

pub fn withdraw(ctx: &Ctx, a: &WithdrawArgs) -> CmdResult {
    let id = facial_id(&a.facial_id)?;
    let dest = receipt_dest(ctx, a.receipt.as_deref())?;
    let vault = open(&a.vault)?;
    let r = vault.withdraw_consent(&id).map_err(Failure::new)?;
    let at = save_all(std::slice::from_ref(&r), &dest, &a.vault.vault)?.remove(0);
    // Not `close()`: it drops the receipts of templates purged automatically at that commit.
    commit(&vault, ctx)?;
    ctx.emit(&json!({"facial_id": r.facial_id, "reason": r.reason, "deleted_at": r.deleted_at, "receipt": at, "erasure_pending": r.erasure_pending}));
    let when = r.withdrawal.as_ref().map_or(String::new(), |w| format!(" (entry #{}, {})", w.log_index, format_time(w.withdrawn_at)));
    ctx.say(format!("Consent withdrawn by {id}: the withdrawal is in the audit log{when}; {}", erasure_state(&r)));
    if at != "stdout" {
        ctx.say(format!("  signed receipt: {at}"));
    }
    Ok(exit::OK)
}

pub fn purge(ctx: &Ctx, a: &PurgeArgs) -> CmdResult {
    let at = a
        .now
        .as_deref()
        .map(parse_time)
        .transpose()
        .map_err(|m| Failure::usage(format!("--now: {m}")))?;
    if let Some(t) = at {
        if t > now() + 86_400 {
            ctx.note(format!(
                "warning: purging as of {} (in the future): templates whose retention has not yet ended will be deleted",
                format_time(t)
            ));
        }
    }
    let dest = Dest::Dir(ctx.receipt_dir.clone().unwrap_or_else(|| ".".into()));
    dest.preflight()?;
    let vault = open(&a.vault)?;
    let receipts = vault.purge_expired(at).map_err(Failure::new)?;
    let saved = save_all(&receipts, &dest, &a.vault.vault)?;
    // Not `close()`: it drops the receipts of templates purged automatically at that commit.
    commit(&vault, ctx)?;
    let when = format_time(at.unwrap_or_else(now));
    ctx.emit(&json!({
        "as_of": at.unwrap_or_else(now),
        "purged": receipts.iter().zip(&saved).map(|(r, p)| json!({"facial_id": r.facial_id, "receipt": p})).collect::<Vec<_>>(),
    }));
    if receipts.is_empty() {
        ctx.say(format!(
            "Nothing to purge as of {when}: every template is within its retention period and consent."
        ));
    } else {
        ctx.say(format!(
            "Purged {} template(s) whose retention or consent had ended as of {when}:",
            receipts.len()
        ));
        for (r, p) in receipts.iter().zip(&saved) {
            ctx.say(format!("  {}  receipt {p}", r.facial_id));
        }
    }
    Ok(exit::OK)
}

/// Saves every receipt of a committed erasure (each file written atomically). A receipt that
/// cannot be saved is printed on stdout, the others are still saved, and the error names
/// every Facial ID whose receipt `fidex receipt issue` can issue again from the log.
fn save_all(receipts: &[fidex::DeletionReceipt], dest: &Dest, vault: &std::path::Path) -> Result<Vec<String>, Failure> {
    let mut saved = Vec::new();
    let mut failed: Vec<(fidex::FacialId, Failure)> = Vec::new();
    for r in receipts {
        match output::save_deletion(r, dest) {
            Ok(at) => saved.push(at),
            Err(f) => failed.push((r.facial_id, f)),
        }
    }
    let Some((_, first)) = failed.first() else { return Ok(saved) };
    let ids: Vec<String> = failed.iter().map(|(id, _)| id.to_string()).collect();
    let again: Vec<String> = ids.iter().map(|id| format!("fidex receipt issue {} {id}", vault.display())).collect();
    let mut f = Failure::new(first.error.clone()).hint(format!(
        "the erasure is committed and in the audit log; only the receipt file is missing. Issue it again (any time) with: {}",
        again.join("; ")
    ));
    f.display = Some(format!("{} (receipt of {} not saved)", first.message(), ids.join(", ")));
    Err(f)
}

/// Where a deletion's receipt goes (--receipt, else --receipt-dir, else the current
/// directory), checked before anything is deleted.
fn receipt_dest(ctx: &Ctx, receipt: Option<&std::path::Path>) -> Result<Dest, Failure> {
    let dest = Dest::choose(receipt, ctx.receipt_dir.as_deref(), Some(std::path::Path::new("."))).expect("a default");
    dest.preflight()?;
    Ok(dest)
}

/// What a deletion receipt says about the files, in words: only "gone" when it is true.
fn erasure_state(r: &fidex::DeletionReceipt) -> String {
    if r.erasure_pending.is_empty() {
        "template, payload and consent record are gone from the vault's files.".into()
    } else {
        format!(
            "the vault no longer uses its template, payload and consent record, but the file system refused to remove {} \
             (still holding their encryption; retried at each commit and when the vault is opened; see `fidex stats`).",
            r.erasure_pending.join(", ")
        )
    }
}
