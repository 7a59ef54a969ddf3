//! The vault as a whole: `fidex create`, `fidex info` (the header, no key needed) and
//! `fidex stats`.

use crate::args::*;
use crate::common::*;
use crate::fail::{exit, CmdResult, Failure};
use crate::output::Ctx;
use crate::timefmt::{format_duration, format_time, parse_duration};
use fidex::search::engine::Backend;
use fidex::search::{Metric, Storage};
use fidex::{Vault, VaultConfig};
use serde_json::json;

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
    let vault = open_read_only(v)?;
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
