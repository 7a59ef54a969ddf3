//! Transparency: `fidex receipt verify` and `fidex receipt monitor` (offline),
//! `fidex receipt issue` and `fidex receipt publish-head` (from the vault), and `fidex audit`
//! (log entries, signed tree heads, consistency with a saved head).

use crate::args::*;
use crate::common::*;
use crate::fail::{exit, CmdResult, Failure};
use crate::keys;
use crate::output::{self, Ctx, Dest};
use crate::timefmt::format_time;
use clap::Args;
use fidex::receipt::{self, PublishedHead, Receipt, SignedTreeHead};
use fidex::{Error, Vault};
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ReceiptIssueArgs {
    #[command(flatten)]
    pub vault: VaultArgs,
    /// The Facial ID whose receipt to issue (deleted: its deletion or withdrawal receipt;
    /// live: its enrollment receipt)
    pub facial_id: String,
    /// Save the receipt to FILE ('-' for stdout). Default: --receipt-dir or the current
    /// directory, as <FACIAL_ID>-<kind>-receipt.json
    #[arg(long, value_name = "FILE")]
    pub receipt: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PublishHeadArgs {
    #[command(flatten)]
    pub vault: VaultArgs,
    /// The last published head (its file); omit for the first one
    #[arg(long, value_name = "FILE")]
    pub previous: Option<PathBuf>,
    /// Write the new published head to FILE (must not exist; '-' for stdout)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct MonitorArgs {
    /// Published tree heads and receipts (JSON files as fidex wrote them, in any order; each
    /// is recognised by its "type")
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Verification keys: text 'fidex-vk-1:…' or a key file (one key per line, '#' comments);
    /// repeat, or list every key the vault used in one file
    #[arg(long = "key", required = true, value_name = "PUBLIC_KEY")]
    pub keys: Vec<String>,
}

fn describe_receipt(r: &Receipt) -> (Value, String) {
    match r {
        Receipt::Deletion(d) => (
            json!({"type": "deletion", "version": d.version, "facial_id": d.facial_id, "reason": d.reason, "deleted_at": d.deleted_at, "vault_id": d.vault_id, "log_index": d.log_index, "log_size": d.tree_head.log_size, "signed_at": d.tree_head.timestamp, "key_id": d.tree_head.key_id,
                   "withdrawal": d.withdrawal.as_ref().map(|w| json!({"withdrawn_at": w.withdrawn_at, "log_index": w.log_index}))}),
            format!(
                "deletion of {} at {} (reason {}), audit-log entry #{} of {}{}, absent from the live set",
                d.facial_id,
                format_time(d.deleted_at),
                d.reason.as_str(),
                d.log_index,
                d.tree_head.log_size,
                d.withdrawal.as_ref().map_or(String::new(), |w| format!("; withdrawal of consent recorded at {} (entry #{})", format_time(w.withdrawn_at), w.log_index))
            ),
        ),
        Receipt::Enrollment(e) => (
            json!({"type": "enrollment", "version": e.version, "key_id": e.tree_head.key_id, "facial_id": e.facial_id, "enrolled_at": e.enrolled_at, "consent_receipt_id": e.consent_receipt_id, "vault_id": e.vault_id, "log_size": e.tree_head.log_size, "signed_at": e.tree_head.timestamp}),
            format!(
                "enrollment of {} at {} under consent receipt {}, consent and enrollment in the audit log",
                e.facial_id,
                format_time(e.enrolled_at),
                e.consent_receipt_id
            ),
        ),
    }
}

pub fn receipt_verify(ctx: &Ctx, a: &ReceiptVerifyArgs) -> CmdResult {
    let vks = keys::verification_keys(&a.keys)?;
    let mut results = Vec::new();
    let mut first_fail: Option<u8> = None;
    for path in &a.receipts {
        let outcome = (|| -> Result<Receipt, Failure> {
            let text = read_text(path, "receipt")?;
            receipt::verify_json_with_keys(&text, &vks).map(|(r, _)| r).map_err(Failure::new)
        })();
        match outcome {
            Ok(r) => {
                let (j, text) = describe_receipt(&r);
                ctx.say(format!("OK      {}: {text}", path.display()));
                results.push(json!({"file": path, "valid": true, "receipt": j}));
            }
            Err(f) => {
                ctx.say(format!("FAILED  {}: {}", path.display(), f.message()));
                first_fail.get_or_insert(f.exit);
                results.push(json!({"file": path, "valid": false, "error": f.to_json()["error"]}));
            }
        }
    }
    let valid = results.iter().filter(|r| r["valid"] == true).count();
    ctx.emit(&json!({"valid": valid, "invalid": results.len() - valid, "results": results}));
    match first_fail {
        None => Ok(exit::OK),
        Some(code) => {
            ctx.note(format!(
                "{} of {} receipt(s) did not verify",
                results.len() - valid,
                results.len()
            ));
            Ok(code)
        }
    }
}

/// A file's text (receipts and heads are UTF-8 JSON).
fn read_text(path: &std::path::Path, what: &str) -> Result<String, Failure> {
    let bytes = read_file(path, what)?;
    String::from_utf8(bytes).map_err(|_| Failure::new(Error::VerificationFailed(format!("the {what} is not UTF-8 text"))))
}

/// File-name stem of a receipt (as the commands that issue them name them).
fn receipt_stem(r: &Receipt) -> String {
    match r {
        Receipt::Deletion(d) => format!("{}-{}", d.facial_id, output::deletion_kind(d.reason)),
        Receipt::Enrollment(e) => format!("{}-enrollment", e.facial_id),
    }
}

pub fn receipt_issue(ctx: &Ctx, a: &ReceiptIssueArgs) -> CmdResult {
    let id = facial_id(&a.facial_id)?;
    let dest = Dest::choose(a.receipt.as_deref(), ctx.receipt_dir.as_deref(), Some(std::path::Path::new("."))).expect("a default");
    dest.preflight()?;
    let vault = open(&a.vault)?;
    let r = vault.issue_receipt(&id).map_err(Failure::new)?;
    let at = output::save(&r.to_json(), &receipt_stem(&r), &dest)?;
    let (j, text) = describe_receipt(&r);
    ctx.emit(&json!({"receipt": at, "issued": j}));
    ctx.say(format!("Issued the receipt of the {text}"));
    ctx.say(format!("  against a tree head signed now ({} entries); saved to {at}", r.tree_head().log_size));
    Ok(exit::OK)
}

pub fn receipt_publish_head(ctx: &Ctx, a: &PublishHeadArgs) -> CmdResult {
    let previous = match &a.previous {
        None => None,
        Some(p) => Some(PublishedHead::from_json(&read_text(p, "published head")?).map_err(|e| {
            Failure::new(e).context(format!("{}", p.display())).hint("pass the file an earlier `fidex receipt publish-head` wrote, unchanged")
        })?),
    };
    let dest = if a.out.as_os_str() == "-" { Dest::Stdout } else { Dest::File(a.out.clone()) };
    dest.preflight()?;
    // Heads sign committed state only: a read-only handle publishes beside a running writer.
    let vault = open_read_only(&a.vault)?;
    let head = vault.publish_head(previous.as_ref()).map_err(Failure::new)?;
    let stem = a.out.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let at = output::save(&head.to_json(), &stem, &dest)?;
    let h = &head.tree_head;
    ctx.emit(&json!({"published_head": at, "log_size": h.log_size, "log_root": h.log_root, "timestamp": h.timestamp, "key_id": h.key_id, "previous_size": head.previous.as_ref().map(|p| p.log_size)}));
    ctx.say(format!("Published tree head: {} entries, log root {}, signed at {} by key {}", h.log_size, h.log_root, format_time(h.timestamp), h.key_id.as_deref().unwrap_or("?")));
    match &head.previous {
        Some(p) => ctx.say(format!("  linked to the previous published head ({} entries): consistency proof and {} leaf hashes", p.log_size, head.leaf_hashes.len())),
        None => ctx.say("  the first published head (no previous)"),
    }
    ctx.say(format!("  saved to {at}; publish it where subjects and monitors can fetch it"));
    Ok(exit::OK)
}

pub fn receipt_monitor(ctx: &Ctx, a: &MonitorArgs) -> CmdResult {
    let vks = keys::verification_keys(&a.keys)?;
    let (mut heads, mut receipts) = (Vec::new(), Vec::new());
    for p in &a.files {
        let text = read_text(p, "file")?;
        let kind = serde_json::from_str::<Value>(&text).ok().and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_string));
        match kind.as_deref() {
            Some(receipt::PUBLISHED_HEAD_TYPE) => heads.push((p, text)),
            Some(receipt::DELETION_RECEIPT_TYPE | receipt::ENROLLMENT_RECEIPT_TYPE) => receipts.push((p, text)),
            _ => {
                return Err(Failure::usage(format!("{} is neither a published tree head nor a receipt (its \"type\")", p.display()))
                    .hint("pass files written by `fidex receipt publish-head` and receipts"))
            }
        }
    }
    let h: Vec<&str> = heads.iter().map(|(_, t)| t.as_str()).collect();
    let r: Vec<&str> = receipts.iter().map(|(_, t)| t.as_str()).collect();
    let report = receipt::monitor(&h, &r, &vks);
    // Name inputs by file in the messages ("published head #2" -> its path).
    let name = |m: &str| -> String {
        let mut m = m.to_string();
        for (i, (p, _)) in heads.iter().enumerate().rev() {
            m = m.replace(&format!("published head #{i}"), &p.display().to_string());
        }
        for (j, (p, _)) in receipts.iter().enumerate().rev() {
            m = m.replace(&format!("receipt #{j}"), &p.display().to_string());
        }
        m
    };
    let mut j = serde_json::to_value(&report).expect("reports serialise");
    for (i, hd) in report.heads.iter().enumerate() {
        j["heads"][i]["file"] = json!(heads[hd.input].0);
    }
    for (i, rc) in report.receipts.iter().enumerate() {
        j["receipts"][i]["file"] = json!(receipts[rc.input].0);
    }
    for (i, pb) in report.problems.iter().enumerate() {
        j["problems"][i]["message"] = json!(name(&pb.message));
    }
    ctx.emit(&j);
    if !ctx.json {
        ctx.say(format!("{} published tree head(s) verified, linked by log size:", report.heads.len()));
        for hd in &report.heads {
            let from = hd.previous_size.map_or("first".to_string(), |p| format!("extends size {p}"));
            ctx.say(format!("  size {:>8}  {}  signed {} by key {}  ({from})", hd.log_size, heads[hd.input].0.display(), format_time(hd.timestamp), hd.key_id));
        }
        for rc in &report.receipts {
            let file = receipts[rc.input].0.display();
            let what = format!("{} of {}", rc.kind.as_deref().unwrap_or("receipt"), rc.facial_id.as_deref().unwrap_or("?"));
            let line = match (rc.valid, rc.anchored_at, rc.consistent_until) {
                (false, _, _) => format!("  FAILED    {file}: {what} does not verify"),
                (true, Some(at), Some(until)) => format!("  ANCHORED  {file}: {what}, entry #{} is in the published log from size {at}, consistent up to size {until}", rc.log_index.unwrap_or(0)),
                (true, Some(at), None) => format!("  ANCHORED  {file}: {what}, in the published log at size {at}"),
                (true, None, _) => format!("  VERIFIED  {file}: {what}; its tree head (size {}) is not covered by a published head yet", rc.head_size.unwrap_or(0)),
            };
            ctx.say(line);
        }
        if report.ok {
            ctx.say("OK: every published head extends the one before it, and no two signed heads disagree.");
        } else {
            for pb in &report.problems {
                ctx.say(format!("PROBLEM ({}): {}", serde_json::to_value(pb.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(), name(&pb.message)));
            }
        }
    }
    if report.ok {
        Ok(exit::OK)
    } else {
        let equivocation = report.problems.iter().any(|p| p.kind == receipt::ProblemKind::Equivocation);
        let first = name(&report.problems[0].message);
        let f = Failure::new(Error::VerificationFailed(format!("{} problem(s); first: {first}", report.problems.len())));
        Err(if equivocation {
            f.hint("two signed heads of the same size with different roots prove the vault showed two histories: keep these files as evidence")
        } else {
            f
        })
    }
}

fn entry_line(e: &fidex::log::audit::LogEntry) -> String {
    let v = serde_json::to_value(&e.event).unwrap_or(Value::Null);
    let mut kind = String::new();
    let mut fields = Vec::new();
    if let Value::Object(m) = v {
        for (k, val) in m {
            if k == "event" {
                kind = val.as_str().unwrap_or("?").to_string();
                continue;
            }
            let s = match val {
                Value::String(s) => s,
                Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map_or(x.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            fields.push(format!("{k}={s}"));
        }
    }
    format!(
        "#{:<6} {}  {:<18} {}",
        e.index,
        format_time(e.time),
        kind,
        fields.join(" ")
    )
}

/// Checks that `old` (signed by the current or an earlier, rotated key) is a prefix of `head`.
fn verify_since(vault: &Vault, old: &SignedTreeHead, head: &SignedTreeHead, proof: &[String]) -> Result<(), Error> {
    let keys: Vec<_> = std::iter::once(vault.verification_key()).chain(vault.previous_verification_keys()).collect();
    receipt::verify_consistency_with_keys(old, head, proof, &keys)
}

pub fn audit(ctx: &Ctx, a: &AuditArgs) -> CmdResult {
    let old: Option<SignedTreeHead> = match &a.since {
        None => None,
        Some(p) => {
            let text = String::from_utf8_lossy(&read_file(p, "tree head")?).into_owned();
            Some(serde_json::from_str(&text).map_err(|e| {
                Failure::usage(format!("{} is not a signed tree head: {e}", p.display()))
                    .hint("save one with `fidex audit VAULT --head-out FILE`")
            })?)
        }
    };
    if let Some(o) = &a.head_out {
        preflight_new(o)?;
    }
    let vault = open_read_only(&a.vault)?;
    let head = vault.tree_head().map_err(Failure::new)?;
    let from = old.as_ref().map_or(a.from, |h| h.log_size);
    if from > head.log_size {
        return Err(Failure::usage(format!(
            "--from {from} is beyond the log's {} entries",
            head.log_size
        )));
    }
    let to = a.limit.map(|l| from.saturating_add(l));
    let entries = vault.audit_entries(from, to).map_err(Failure::new)?;
    let proof = if from > 0 && from < head.log_size {
        vault
            .consistency_proof(from, head.log_size)
            .map_err(Failure::new)?
    } else {
        Vec::new()
    };
    let since_ok = old.as_ref().map(|o| {
        verify_since(&vault, o, &head, &proof).map_err(|e| {
            Failure::new(e).context("the saved tree head is not a prefix of today's log")
        })
    });
    if let Some(o) = &a.head_out {
        write_new(o, &format!("{}\n", receipt::to_json(&head)))?;
    }
    let since_json = since_ok.as_ref().map(|r| r.is_ok());
    ctx.emit(&json!({
        "entries": entries, "tree_head": head, "verification_key": vault.verification_key().to_text(),
        "consistency": if from > 0 { json!({"from_size": from, "to_size": head.log_size, "proof": proof}) } else { Value::Null },
        "since_verified": since_json,
    }));
    if !ctx.json {
        for e in &entries {
            ctx.say(entry_line(e));
        }
        ctx.say(format!(
            "tree head: {} entries, log root {}, {} live templates (live root {}), signed at {}",
            head.log_size,
            head.log_root,
            vault.len(),
            head.live_root,
            format_time(head.timestamp)
        ));
        ctx.say(format!(
            "signature: {} (verification key {})",
            head.signature,
            vault.verification_key().to_text()
        ));
        if from > 0 {
            ctx.say(format!(
                "consistency proof from size {from} to {} ({} hashes):",
                head.log_size,
                proof.len()
            ));
            for h in &proof {
                ctx.say(format!("  {h}"));
            }
        }
        if let Some(Ok(())) = &since_ok {
            ctx.say(format!(
                "verified: the log only grew since the saved tree head of size {from}"
            ));
        }
        if let Some(o) = &a.head_out {
            ctx.note(format!("tree head saved to {}", o.display()));
        }
    }
    match since_ok {
        Some(Err(f)) => Err(f),
        _ => Ok(exit::OK),
    }
}
