//! The commands other than `enroll` and `demo`.

use crate::args::*;
use crate::common::*;
use crate::fail::{exit, CmdResult, Failure};
use crate::keys;
use crate::output::{self, Ctx, Dest, Progress};
use crate::timefmt::{format_duration, format_time, now, parse_duration, parse_time};
use fidex::receipt::{self, Receipt, SignedTreeHead};
use fidex::search::engine::Backend;
use fidex::search::{Metric, Storage};
use fidex::{DeletionReason, Error, Match, Vault, VaultConfig};
use serde_json::{json, Value};

// ------------------------------------------------------------------ keys

pub fn key_new(ctx: &Ctx, file: &std::path::Path) -> CmdResult {
    let key = keys::new_key_file(file)?;
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
    let vault = open(v)?;
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
    ctx.emit(&json!({"verification_key": vk, "previous": previous, "vault_id": vault.vault_id(), "written_to": out}));
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

// ------------------------------------------------------------------ create / info / stats / check

pub fn create(ctx: &Ctx, a: &CreateArgs) -> CmdResult {
    let key = key(&a.vault.key)?;
    let mut cfg = VaultConfig::new(a.dim);
    cfg.metric = a.metric;
    cfg.storage = a.storage;
    cfg.retention_secs =
        parse_duration(&a.retention).map_err(|m| Failure::usage(format!("--retention: {m}")))?;
    cfg.purposes = a
        .purposes
        .iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    cfg.cancelable = a.cancelable;
    if let Some(t) = a.threshold {
        cfg.match_threshold = t;
    }
    if let Some(d) = &a.duplicate_threshold {
        cfg.duplicate_threshold = match d.trim() {
            "off" | "none" => None,
            s => Some(s.parse().map_err(|_| {
                Failure::usage(format!(
                    "--duplicate-threshold '{d}' is not a number or 'off'"
                ))
            })?),
        };
    }
    if let Some(m) = a.max_templates {
        cfg.max_templates = m;
    }
    cfg.auto_purge = !a.no_auto_purge;
    cfg.backend = match a.backend {
        BackendArg::Flat => {
            if a.nlist.is_some() || a.nprobe.is_some() || a.sq8 {
                return Err(Failure::usage("--nlist, --nprobe and --sq8 need --backend ivf (faiss_ivf)"));
            }
            Backend::Flat
        }
        BackendArg::FaissIvf => Backend::FaissIvf {
            nlist: a.nlist.unwrap_or(Backend::DEFAULT_NLIST),
            nprobe: a.nprobe.unwrap_or(Backend::DEFAULT_NPROBE),
            sq8: a.sq8,
        },
    };
    cfg.validate_for_build().map_err(Failure::new)?;
    if let Some(o) = &a.vk_out {
        preflight_new(o)?;
    }
    let path = &a.vault.vault;
    let vault = Vault::create(path, &key, cfg.clone()).map_err(|e| vault_ctx(e, path))?;
    let vk = vault.verification_key().to_text();
    if let Some(o) = &a.vk_out {
        write_new(o, &format!("{vk}\n"))?;
    }
    ctx.emit(&json!({
        "vault": path, "vault_id": vault.vault_id(), "config": config_json(&cfg),
        "verification_key": vk, "key_fingerprint": vault.key_fingerprint(),
    }));
    ctx.say(format!(
        "Created vault {} (id {}).",
        path.display(),
        vault.vault_id()
    ));
    ctx.say(format!(
        "  {}-dimensional templates, {} metric, {} in memory{}; match threshold {}, duplicates {}",
        cfg.dimension,
        cfg.metric.name(),
        cfg.storage.name(),
        if cfg.cancelable { ", cancelable" } else { "" },
        cfg.match_threshold,
        cfg.duplicate_threshold
            .map_or("allowed".to_string(), |d| format!("refused at {d}")),
    ));
    ctx.say(format!(
        "  purposes: {}; retention {} after the last interaction",
        cfg.purposes.join(", "),
        format_duration(cfg.retention_secs)
    ));
    ctx.say(format!(
        "Verification key (publish it; it verifies this vault's receipts):\n  {vk}"
    ));
    // Not `close()`: it drops the receipts of templates purged automatically at that commit.
    commit(&vault, ctx)?;
    Ok(exit::OK)
}

pub fn info(ctx: &Ctx, a: &InfoArgs) -> CmdResult {
    let h = fidex::read_header(&a.vault).map_err(|e| vault_ctx(e, &a.vault))?;
    let (mut files, mut total) = (0u64, 0u64);
    if let Ok(rd) = std::fs::read_dir(&a.vault) {
        for e in rd.flatten() {
            if let Ok(m) = e.metadata() {
                if m.is_file() {
                    files += 1;
                    total += m.len();
                }
            }
        }
    }
    let metric = Metric::from_code(h.metric).map_or("unknown", Metric::name);
    let storage = Storage::from_code(h.storage).map_or("unknown", Storage::name);
    let cancelable = h.flags & fidex::storage::format::FLAG_CANCELABLE != 0;
    let vid = fidex::key::to_hex(&h.vault_id);
    ctx.emit(&json!({
        "vault": a.vault, "format_version": h.version, "vault_id": vid, "dimension": h.dimension,
        "metric": metric, "storage": storage, "cancelable": cancelable, "flags": h.flags,
        "generation": h.generation, "files": files, "bytes": total,
    }));
    ctx.say(format!("vault:          {}", a.vault.display()));
    ctx.say(format!("format version: {}", h.version));
    ctx.say(format!("vault id:       {vid}"));
    ctx.say(format!("dimension:      {}", h.dimension));
    ctx.say(format!("metric:         {metric}"));
    ctx.say(format!("storage:        {storage}"));
    ctx.say(format!(
        "cancelable:     {}",
        if cancelable { "yes" } else { "no" }
    ));
    ctx.say(format!("generation:     {}", h.generation));
    ctx.say(format!("files:          {files} ({})", bytes(total)));
    ctx.say("(header only: everything else is encrypted; `fidex stats` with the key shows more)");
    Ok(exit::OK)
}

pub fn stats(ctx: &Ctx, v: &VaultArgs) -> CmdResult {
    let vault = open(v)?;
    let s = vault.stats().map_err(Failure::new)?;
    let c = vault.config();
    ctx.emit(&json!({"vault": v.vault, "vault_id": vault.vault_id(), "config": config_json(&c), "stats": s}));
    if ctx.json {
        return Ok(exit::OK);
    }
    let join = |m: &std::collections::BTreeMap<String, u64>| {
        if m.is_empty() {
            "none".to_string()
        } else {
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    ctx.say(format!(
        "vault:                {} (id {})",
        v.vault.display(),
        vault.vault_id()
    ));
    ctx.say(format!(
        "configuration:        {}-d {} ({}), threshold {}, retention {}, purposes {}",
        c.dimension,
        c.metric.name(),
        c.storage.name(),
        c.match_threshold,
        format_duration(c.retention_secs),
        c.purposes.join(", ")
    ));
    ctx.say(format!(
        "templates:            {} ({} uncommitted; quota {})",
        s.templates, s.uncommitted, c.max_templates
    ));
    ctx.say(format!("enrollments (total):  {}", s.enrollments_total));
    ctx.say(format!(
        "deletions by reason:  {}",
        join(&s.deletions_by_reason)
    ));
    ctx.say(format!(
        "consents by purpose:  {}",
        join(&s.consents_by_purpose)
    ));
    let t = |o: Option<i64>| o.map_or("-".to_string(), format_time);
    ctx.say(format!(
        "enrolled between:     {} and {}",
        t(s.oldest_enrollment),
        t(s.newest_enrollment)
    ));
    ctx.say(format!(
        "on disk:              {} in {} segment(s)",
        bytes(s.bytes_on_disk),
        s.segments
    ));
    ctx.say(format!(
        "templates in memory:  {} raw, {} index",
        bytes(s.template_bytes),
        bytes(s.index_memory_bytes)
    ));
    ctx.say(format!("audit log:            {} entries", s.log_entries));
    ctx.say(format!("generation:           {}", s.generation));
    ctx.say(format!("search kernel:        {}", s.kernel));
    ctx.say(format!("search backend:       {}", s.backend));
    Ok(exit::OK)
}

pub fn check(ctx: &Ctx, v: &VaultArgs) -> CmdResult {
    // Opening authenticates the manifest, every segment and every log chunk.
    let vault = open(v)?;
    vault.check().map_err(|e| vault_ctx(e, &v.vault))?;
    let head = vault.tree_head();
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

// ------------------------------------------------------------------ identify / verify

fn match_json(m: &Match) -> Value {
    json!({"facial_id": m.facial_id, "score": m.score})
}

pub fn identify(ctx: &Ctx, a: &IdentifyArgs) -> CmdResult {
    let vault = open(&a.vault)?;
    let cfg = vault.config();
    let probes = load_vectors(&a.vectors, cfg.dimension as usize)?;
    let threshold = a.threshold.unwrap_or(cfg.match_threshold);
    let mut results: Vec<Vec<Match>> = Vec::with_capacity(probes.rows);
    if probes.rows == 1 {
        results.push(
            vault
                .identify(&probes.data, a.k, a.threshold, &a.purpose)
                .map_err(Failure::new)?,
        );
    } else {
        let mut progress = Progress::new(probes.rows as u64, "identifying");
        let d = probes.dim;
        for chunk in probes.data.chunks(256 * d) {
            results.extend(
                vault
                    .identify_batch(chunk, a.k, a.threshold, &a.purpose)
                    .map_err(Failure::new)?,
            );
            progress.inc((chunk.len() / d) as u64);
        }
        progress.finish();
    }
    // Persist the "last interaction" of matched subjects (it extends their retention).
    let purged = commit_after_search(&vault, ctx);
    let unmatched = results.iter().filter(|r| r.is_empty()).count();
    ctx.emit(&json!({
        "purpose": a.purpose, "threshold": threshold, "k": a.k, "metric": cfg.metric.name(),
        "results": results.iter().enumerate().map(|(i, r)| json!({"probe": i, "matches": r.iter().map(match_json).collect::<Vec<_>>()})).collect::<Vec<_>>(),
        "unmatched_probes": unmatched, "purged": purged,
    }));
    if !ctx.json {
        ctx.say(format!(
            "purpose '{}', threshold {threshold} ({}):",
            a.purpose,
            score_meaning(cfg.metric)
        ));
        for (i, r) in results.iter().enumerate() {
            match r.as_slice() {
                [] => ctx.say(format!(
                    "probe {i}: no match among templates whose consent covers '{}'",
                    a.purpose
                )),
                [m] => ctx.say(format!("probe {i}: {}  score {:.4}", m.facial_id, m.score)),
                ms => {
                    ctx.say(format!("probe {i}:"));
                    for (j, m) in ms.iter().enumerate() {
                        ctx.say(format!(
                            "  {}. {}  score {:.4}",
                            j + 1,
                            m.facial_id,
                            m.score
                        ));
                    }
                }
            }
        }
    }
    Ok(if unmatched > 0 {
        exit::NO_MATCH
    } else {
        exit::OK
    })
}

pub fn verify(ctx: &Ctx, a: &VerifyArgs) -> CmdResult {
    let id = facial_id(&a.facial_id)?;
    let vault = open(&a.vault)?;
    let cfg = vault.config();
    let probe = one_vector(&a.vectors, cfg.dimension as usize)?;
    let v = vault
        .verify_with(&id, &probe, &a.purpose, a.threshold)
        .map_err(Failure::new)?;
    let purged = commit_after_search(&vault, ctx);
    ctx.emit(&json!({
        "facial_id": id, "purpose": a.purpose, "matched": v.matched, "score": v.score,
        "threshold": v.threshold, "metric": cfg.metric.name(), "purged": purged,
    }));
    ctx.say(format!(
        "{}: probe vs {id}: score {:.4}, threshold {} ({}), purpose '{}'",
        if v.matched { "MATCH" } else { "NO MATCH" },
        v.score,
        v.threshold,
        score_meaning(cfg.metric),
        a.purpose
    ));
    Ok(if v.matched { exit::OK } else { exit::NO_MATCH })
}

// ------------------------------------------------------------------ deletion

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
    let dest = Dest::choose(
        a.receipt.as_deref(),
        ctx.receipt_dir.as_deref(),
        Some(std::path::Path::new(".")),
    )
    .expect("a default");
    dest.preflight()?;
    let vault = open(&a.vault)?;
    let receipts = if reason == DeletionReason::ConsentWithdrawn {
        // Withdrawals go through `withdraw_consent`, which also logs the withdrawal itself.
        if let Some(missing) = ids.iter().find(|id| !vault.contains(id)) {
            return Err(
                Failure::new(Error::NotFound).context(format!("{missing}: nothing was deleted"))
            );
        }
        let mut uniq = ids.clone();
        uniq.sort();
        uniq.dedup();
        if uniq.len() != ids.len() {
            return Err(Failure::usage(
                "a Facial ID is repeated; nothing was deleted",
            ));
        }
        let mut out = Vec::new();
        for id in &ids {
            out.push(vault.withdraw_consent(id).map_err(Failure::new)?);
        }
        out
    } else {
        vault.delete_many(&ids, reason).map_err(|e| {
            let f = Failure::new(e);
            if ids.len() > 1 && f.error == Error::NotFound {
                f.context("one of the Facial IDs is not live (or is repeated); nothing was deleted")
            } else {
                f
            }
        })?
    };
    let mut saved = Vec::new();
    for r in &receipts {
        saved.push(output::save_deletion(r, &dest)?);
    }
    // Not `close()`: it drops the receipts of templates purged automatically at that commit.
    commit(&vault, ctx)?;
    ctx.emit(&json!({
        "deleted": receipts.iter().zip(&saved).map(|(r, at)| json!({"facial_id": r.facial_id, "reason": r.reason, "deleted_at": r.deleted_at, "receipt": at})).collect::<Vec<_>>(),
    }));
    for (r, at) in receipts.iter().zip(&saved) {
        ctx.say(format!(
            "Deleted {} (reason {}); template, payload and consent record are gone from the vault.",
            r.facial_id,
            r.reason.as_str()
        ));
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
    let dest = Dest::choose(
        a.receipt.as_deref(),
        ctx.receipt_dir.as_deref(),
        Some(std::path::Path::new(".")),
    )
    .expect("a default");
    dest.preflight()?;
    let vault = open(&a.vault)?;
    let r = vault.withdraw_consent(&id).map_err(Failure::new)?;
    let at = output::save_deletion(&r, &dest)?;
    // Not `close()`: it drops the receipts of templates purged automatically at that commit.
    commit(&vault, ctx)?;
    ctx.emit(&json!({"facial_id": r.facial_id, "reason": r.reason, "deleted_at": r.deleted_at, "receipt": at}));
    ctx.say(format!(
        "Consent withdrawn by {id}: the withdrawal is in the audit log and the template is erased."
    ));
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
    let mut saved = Vec::new();
    for r in &receipts {
        saved.push(output::save_deletion(r, &dest)?);
    }
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

// ------------------------------------------------------------------ receipts

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

// ------------------------------------------------------------------ audit

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
    let vault = open(&a.vault)?;
    let head = vault.tree_head();
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

// ------------------------------------------------------------------ subject records

pub fn export_subject(ctx: &Ctx, a: &ExportArgs) -> CmdResult {
    let id = facial_id(&a.facial_id)?;
    if let Some(o) = &a.out {
        preflight_new(o)?;
    }
    let vault = open(&a.vault)?;
    let export = vault
        .export_subject(&id, a.include_template)
        .map_err(Failure::new)?;
    commit(&vault, ctx)?; // the export itself is logged
    let text = serde_json::to_string_pretty(&export)
        .map_err(|e| Failure::new(Error::InvalidJson(e.to_string())))?;
    match &a.out {
        Some(o) => {
            keys::write_private(o, format!("{text}\n").as_bytes())?;
            ctx.emit(&json!({"facial_id": id, "out": o, "template_included": a.include_template}));
            ctx.say(format!(
                "Exported the record of {id} to {} (mode 0600; template {}). The export is logged in the audit log.",
                o.display(),
                if a.include_template {
                    "included: this file is biometric data"
                } else {
                    "not included"
                }
            ));
        }
        None => output::out(&text),
    }
    Ok(exit::OK)
}

pub fn processing_record(_ctx: &Ctx, v: &VaultArgs) -> CmdResult {
    let vault = open(v)?;
    let rec = vault.processing_record();
    output::out(&serde_json::to_string_pretty(&rec).expect("JSON values serialise"));
    Ok(exit::OK)
}

// ------------------------------------------------------------------ maintenance

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
    ctx.emit(&json!({
        "vault": a.vault.vault, "new_key_fingerprint": new_key.fingerprint(),
        "verification_key": new_vk, "previous_verification_key": old_vk,
    }));
    ctx.say(format!(
        "Re-encrypted {} under the key in {} (fingerprint {}).",
        a.vault.vault.display(),
        a.new_key.display(),
        new_key.fingerprint()
    ));
    ctx.say("The old key no longer opens the vault; no file written under it remains.");
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
