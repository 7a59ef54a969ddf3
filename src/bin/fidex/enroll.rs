//! `fidex enroll`: one subject (`--consent` + one vector) or many (`--manifest`).

use crate::args::EnrollArgs;
use crate::common::*;
use crate::fail::{exit, CmdResult, Failure};
use crate::output::{self, Ctx, Dest, Progress};
use crate::vectors::Matrix;
use fidex::{Error, MAX_PAYLOAD_BYTES};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// One line (or array element) of a bulk-enrollment manifest.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ManifestEntry {
    /// Path of a consent receipt file (relative to the manifest) or the receipt itself.
    #[serde(default)]
    consent: Option<Value>,
    /// The template, inline.
    #[serde(default)]
    vector: Option<Vec<f64>>,
    /// Row of the --vectors file.
    #[serde(default)]
    row: Option<usize>,
    /// Payload as UTF-8 text.
    #[serde(default)]
    payload: Option<String>,
    /// Payload as hex.
    #[serde(default)]
    payload_hex: Option<String>,
}

/// A resolved enrollment request.
struct Item {
    label: String,
    /// Where the consent came from, for messages.
    consent_src: Option<String>,
    consent_json: Result<String, Failure>,
    vector: Result<Vec<f32>, Failure>,
    payload: Result<Vec<u8>, Failure>,
}

fn hex_payload(h: &str) -> Result<Vec<u8>, Failure> {
    fidex::key::from_hex(h.trim())
        .ok_or_else(|| Failure::usage("payload hex must be an even number of hex digits"))
}

fn check_payload(p: Vec<u8>) -> Result<Vec<u8>, Failure> {
    if p.len() > MAX_PAYLOAD_BYTES {
        return Err(Failure::new(Error::PayloadTooLarge {
            len: p.len(),
            max: MAX_PAYLOAD_BYTES,
        }));
    }
    Ok(p)
}

fn read_consent(path: &Path) -> Result<String, Failure> {
    let bytes = read_file(path, "consent file")?;
    String::from_utf8(bytes).map_err(|_| {
        Failure::new(Error::InvalidConsent(format!(
            "{} is not UTF-8 JSON",
            path.display()
        )))
    })
}

pub fn enroll(ctx: &Ctx, a: &EnrollArgs) -> CmdResult {
    if a.manifest.is_none() && a.all_or_nothing {
        return Err(Failure::usage(
            "--all-or-nothing applies to --manifest (bulk) enrollment",
        ));
    }
    let single_dest = Dest::choose(a.receipt.as_deref(), None, None);
    let bulk_dest = ctx
        .receipt_dir
        .as_deref()
        .map(|d| Dest::Dir(d.to_path_buf()));
    let dest = if a.manifest.is_some() {
        bulk_dest
    } else {
        single_dest.or(bulk_dest)
    };
    if let Some(d) = &dest {
        d.preflight()?;
    }
    // Parse the manifest before touching the vault, so a malformed one changes nothing.
    let manifest = match &a.manifest {
        Some(p) => Some((p.clone(), parse_manifest(p)?)),
        None => None,
    };
    let vault = open(&a.vault)?;
    let dim = vault.config().dimension as usize;
    let items = match manifest {
        None => vec![single_item(a, dim)?],
        Some((path, entries)) => bulk_items(a, &path, entries, dim)?,
    };
    let bulk = a.manifest.is_some();
    let mut done = Vec::new();
    let mut refused: Vec<(String, Failure)> = Vec::new();
    let mut progress = Progress::new(items.len() as u64, "enrolling");
    for it in items {
        let res = (|| {
            let vector = it.vector?;
            let payload = it.payload?;
            let consent = it.consent_json?;
            vault
                .enroll_json(&vector, &consent, Some(&payload))
                .map_err(|e| {
                    let f = Failure::new(e);
                    match (&it.consent_src, f.exit) {
                        (Some(src), exit::CONSENT) => f.context(src.clone()),
                        _ => f,
                    }
                })
        })();
        match res {
            Ok(e) => done.push((it.label, e)),
            Err(f) if bulk => refused.push((it.label, f)),
            Err(f) => return Err(f),
        }
        progress.inc(1);
    }
    progress.finish();
    let commit_it = !a.all_or_nothing || refused.is_empty();
    let (generation, purged) = if commit_it && !done.is_empty() {
        commit(&vault, ctx)?
    } else {
        (vault.header().generation, Vec::new())
    };
    let mut enrolled = Vec::new();
    for (label, e) in &done {
        let at = match (&dest, commit_it) {
            (Some(d), true) => {
                let r = vault.enrollment_receipt(&e.facial_id).map_err(Failure::new)?;
                Some(output::save_enrollment(&r, d)?)
            }
            _ => None,
        };
        enrolled.push(json!({"entry": label, "facial_id": e.facial_id, "receipt": at}));
    }
    let first_exit = refused.first().map(|(_, f)| f.exit);
    if ctx.json {
        ctx.emit(&json!({
            "committed": commit_it && !done.is_empty(),
            "generation": generation,
            "enrolled": if commit_it { enrolled.clone() } else { Vec::new() },
            "refused": refused.iter().map(|(l, f)| { let mut j = f.to_json()["error"].clone(); j["entry"] = json!(l); j }).collect::<Vec<_>>(),
            "purged": purged,
        }));
    } else if !bulk {
        let (_, e) = &done[0];
        let c = vault.consent(&e.facial_id).map_err(Failure::new)?;
        ctx.say(format!("Enrolled Facial ID {}", e.facial_id));
        ctx.say(format!(
            "  consent receipt {} of '{}' for: {}",
            c.consent_receipt_id,
            c.pii_principal_id,
            c.covered_purposes(&vault.config().purposes).join(", ")
        ));
        if let Some(at) = enrolled[0]["receipt"].as_str().filter(|s| *s != "stdout") {
            ctx.say(format!("  enrollment receipt: {at}"));
        }
    } else {
        if commit_it {
            ctx.say(format!(
                "Enrolled {} of {} entries (generation {generation}).",
                done.len(),
                done.len() + refused.len()
            ));
            for e in &enrolled {
                ctx.say(format!(
                    "  {}: {}",
                    e["entry"].as_str().unwrap_or("?"),
                    e["facial_id"].as_str().unwrap_or("?")
                ));
            }
        } else {
            ctx.say(format!(
                "Enrolled nothing: {} of {} entries were refused and --all-or-nothing is set.",
                refused.len(),
                done.len() + refused.len()
            ));
        }
        for (l, f) in &refused {
            ctx.say(format!("  {l}: refused: {}", f.message()));
        }
        if let Some(Dest::Dir(d)) = &dest {
            if commit_it && !done.is_empty() {
                ctx.say(format!("Enrollment receipts saved in {}.", d.display()));
            }
        }
    }
    Ok(first_exit.unwrap_or(exit::OK))
}

fn single_item(a: &EnrollArgs, dim: usize) -> Result<Item, Failure> {
    let vector = one_vector(&a.vectors, dim)?;
    let payload = if let Some(p) = &a.payload {
        p.as_bytes().to_vec()
    } else if let Some(f) = &a.payload_file {
        read_file(f, "payload file")?
    } else if let Some(h) = &a.payload_hex {
        hex_payload(h)?
    } else {
        Vec::new()
    };
    let payload = check_payload(payload)?;
    let consent_json = match &a.consent {
        None => Err(Failure::new(Error::NoConsent)
            .hint("pass --consent FILE: the subject's Kantara consent receipt (see `fidex enroll --help`)")),
        Some(p) => Ok(read_consent(p)?),
    };
    let consent_src = a
        .consent
        .as_ref()
        .map(|p| format!("consent file {}", p.display()));
    Ok(Item {
        label: "subject".into(),
        consent_src,
        consent_json,
        vector: Ok(vector),
        payload: Ok(payload),
    })
}

/// Parses a manifest: a JSON array of entries, or JSON lines. Returns (label, entry).
fn parse_manifest(p: &Path) -> Result<Vec<(String, ManifestEntry)>, Failure> {
    let bytes = read_file(p, "manifest")?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::usage(format!("manifest {} is not UTF-8 text", p.display())))?;
    let bad = |what: String, e: serde_json::Error| {
        Failure::usage(format!("{what}: {e}")).context(format!("manifest {}", p.display()))
    };
    let mut out = Vec::new();
    if text.trim_start().starts_with('[') {
        let entries: Vec<ManifestEntry> =
            serde_json::from_str(&text).map_err(|e| bad("JSON array".into(), e))?;
        for (i, e) in entries.into_iter().enumerate() {
            out.push((format!("entry {i}"), e));
        }
    } else {
        for (ln, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let e: ManifestEntry =
                serde_json::from_str(line).map_err(|e| bad(format!("line {}", ln + 1), e))?;
            out.push((format!("line {}", ln + 1), e));
        }
    }
    if out.is_empty() {
        return Err(Failure::usage(format!(
            "manifest {} has no entries",
            p.display()
        )));
    }
    Ok(out)
}

fn bulk_items(
    a: &EnrollArgs,
    manifest: &Path,
    entries: Vec<(String, ManifestEntry)>,
    dim: usize,
) -> Result<Vec<Item>, Failure> {
    let matrix: Option<Matrix> = match &a.vectors.vectors {
        Some(_) => {
            if a.vectors.row.is_some() {
                return Err(Failure::usage(
                    "--row does not apply to --manifest; give each entry a \"row\"",
                ));
            }
            Some(load_vectors(&a.vectors, dim)?)
        }
        None => None,
    };
    let positional = entries
        .iter()
        .any(|(_, e)| e.vector.is_none() && e.row.is_none());
    if positional {
        match &matrix {
            None => {
                return Err(Failure::usage(
                    "manifest entries without \"vector\" or \"row\" need --vectors FILE",
                ));
            }
            Some(m) if m.rows != entries.len() => {
                return Err(Failure::usage(format!(
                    "entries without \"row\" take the vector at their position, but the manifest has {} entries and the vector file {} rows",
                    entries.len(),
                    m.rows
                ))
                .hint("give each entry an explicit \"row\", or make the counts match"));
            }
            _ => {}
        }
    }
    let base: PathBuf = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut items = Vec::with_capacity(entries.len());
    for (pos, (label, e)) in entries.into_iter().enumerate() {
        let vector = match (&e.vector, e.row) {
            (Some(_), Some(_)) => Err(Failure::usage("give \"vector\" or \"row\", not both")),
            (Some(v), None) => {
                if v.len() != dim {
                    Err(Failure::new(Error::DimensionMismatch {
                        expected: dim,
                        got: v.len(),
                    }))
                } else {
                    let f: Vec<f32> = v.iter().map(|x| *x as f32).collect();
                    match f.iter().position(|x| !x.is_finite()) {
                        Some(i) => Err(Failure::new(Error::NonFiniteValue { index: i })),
                        None => Ok(f),
                    }
                }
            }
            (None, r) => {
                let m = matrix.as_ref().expect("checked above");
                let r = r.unwrap_or(pos);
                if r < m.rows {
                    Ok(m.row(r).to_vec())
                } else {
                    Err(Failure::usage(format!(
                        "row {r} is out of range: the vector file holds {} rows",
                        m.rows
                    )))
                }
            }
        };
        let payload = match (&e.payload, &e.payload_hex) {
            (Some(_), Some(_)) => Err(Failure::usage(
                "give \"payload\" or \"payload_hex\", not both",
            )),
            (Some(t), None) => check_payload(t.as_bytes().to_vec()),
            (None, Some(h)) => hex_payload(h).and_then(check_payload),
            (None, None) => Ok(Vec::new()),
        };
        let mut consent_src = None;
        let consent_json = match &e.consent {
            None | Some(Value::Null) => Err(Failure::new(Error::NoConsent)),
            Some(Value::String(p)) => {
                let path = base.join(p);
                consent_src = Some(format!("consent file {}", path.display()));
                read_consent(&path)
            }
            Some(obj @ Value::Object(_)) => Ok(obj.to_string()),
            Some(_) => Err(Failure::new(Error::InvalidConsent(
                "\"consent\" must be a file path or a receipt object".into(),
            ))),
        };
        items.push(Item {
            label,
            consent_src,
            consent_json,
            vector,
            payload,
        });
    }
    Ok(items)
}
