//! Searches: `fidex identify` (1:N) and `fidex verify` (1:1).

use crate::args::*;
use crate::common::*;
use crate::fail::{exit, CmdResult, Failure};
use crate::output::{Ctx, Progress};
use fidex::Match;
use serde_json::{json, Value};

fn match_json(m: &Match) -> Value {
    json!({"facial_id": m.facial_id, "score": m.score})
}

pub fn identify(ctx: &Ctx, a: &IdentifyArgs) -> CmdResult {
    let vault = open_for_search(&a.vault)?;
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
    let vault = open_for_search(&a.vault)?;
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
