//! Transparency: `fidex receipt verify` (offline) and `fidex audit` (log entries, signed
//! tree heads, consistency with a saved head).

use crate::args::*;
use crate::common::*;
use crate::fail::{exit, CmdResult, Failure};
use crate::keys;
use crate::output::Ctx;
use crate::timefmt::format_time;
use fidex::receipt::{self, Receipt, SignedTreeHead};
use fidex::{Error, Vault};
use serde_json::{json, Value};

fn describe_receipt(r: &Receipt) -> (Value, String) {
    match r {
        Receipt::Deletion(d) => (
            json!({"type": "deletion", "facial_id": d.facial_id, "reason": d.reason, "deleted_at": d.deleted_at, "vault_id": d.vault_id, "log_index": d.log_index, "log_size": d.tree_head.log_size, "signed_at": d.tree_head.timestamp}),
            format!(
                "deletion of {} at {} (reason {}), audit-log entry #{} of {}, absent from the live set",
                d.facial_id,
                format_time(d.deleted_at),
                d.reason.as_str(),
                d.log_index,
                d.tree_head.log_size
            ),
        ),
        Receipt::Enrollment(e) => (
            json!({"type": "enrollment", "facial_id": e.facial_id, "enrolled_at": e.enrolled_at, "consent_receipt_id": e.consent_receipt_id, "vault_id": e.vault_id, "log_size": e.tree_head.log_size, "signed_at": e.tree_head.timestamp}),
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
            let bytes = read_file(path, "receipt")?;
            let text = String::from_utf8(bytes).map_err(|_| {
                Failure::new(Error::VerificationFailed(
                    "receipt is not UTF-8 text".into(),
                ))
            })?;
            let mut err = None;
            for vk in &vks {
                match receipt::verify_json(&text, vk) {
                    Ok(r) => return Ok(r),
                    // Prefer a reason other than "wrong vault" when several keys are given.
                    Err(e) => {
                        if err.is_none() || !e.to_string().contains("different vault") {
                            err = Some(e);
                        }
                    }
                }
            }
            Err(Failure::new(err.expect("at least one key")))
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
            head.live_count,
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
