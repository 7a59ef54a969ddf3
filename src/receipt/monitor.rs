//! The monitor: given a vault's published tree heads and any of its receipts, checks offline
//! that every published head is signed and linked to the one before it, that every receipt
//! verifies and is anchored in the published chain, and reports equivocation — two signed
//! heads of the same size with different roots, or a head that does not extend the one
//! before it (docs/RECEIPTS.md, "Monitoring").
//!
//! A data subject holding a deletion receipt runs it months later with the heads published
//! since: if the receipt is anchored and nothing is reported, the deletion is still in the
//! log and no later published head rewrote history.

#![forbid(unsafe_code)]

use super::published::PublishedHead;
use super::{verify_json_with_keys, Receipt, VerificationKey};
use crate::error::{Error, Result};
use crate::key::to_hex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What kind of problem the monitor found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A published head does not parse, is not canonical, or its signature does not verify
    /// with the given keys.
    InvalidHead,
    /// A published head's link does not check: it is not an extension of the previous
    /// published head it names.
    NotAnExtension,
    /// Two signed heads (or a head and a size a link proves) disagree on the log root of one
    /// size: the vault showed two different histories.
    Equivocation,
    /// Two consecutive published sizes are not linked by any given head, so nothing shows
    /// the later extends the earlier (a published head is missing from the input).
    MissingLink,
    /// A receipt does not verify.
    InvalidReceipt,
    /// Inputs of different vaults.
    WrongVault,
}

/// One problem, in words, with the inputs involved (`head #i`, `receipt #j`, 0-based).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Its kind.
    pub kind: ProblemKind,
    /// What is wrong.
    pub message: String,
}

/// A published head that verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitoredHead {
    /// Its position among the published heads given (0-based).
    pub input: usize,
    /// Its log size.
    pub log_size: u64,
    /// Its log root (hex).
    pub log_root: String,
    /// When it was signed.
    pub timestamp: i64,
    /// The signing key's id.
    pub key_id: String,
    /// The size of the previous published head it links from (`None`: the first one).
    pub previous_size: Option<u64>,
}

/// What the monitor found about one receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitoredReceipt {
    /// Its position among the receipts given (0-based).
    pub input: usize,
    /// Whether it verifies.
    pub valid: bool,
    /// `deletion` or `enrollment` (when it parses).
    pub kind: Option<String>,
    /// The Facial ID it is about (when it parses).
    pub facial_id: Option<String>,
    /// The log index of its entry (the deletion or enrollment entry).
    pub log_index: Option<u64>,
    /// The size of its tree head.
    pub head_size: Option<u64>,
    /// The size of the published head (or of the link between two) that shows its head is a
    /// prefix of the published log; `None` when no published head covers it yet (newer than
    /// the last one, or older than the first).
    pub anchored_at: Option<u64>,
    /// The largest published size it is proven consistent with (through consecutive links
    /// from its anchor).
    pub consistent_until: Option<u64>,
}

/// The monitor's findings. `ok` is true when there is no problem; receipts not yet covered
/// by a published head are not problems (see [`MonitoredReceipt::anchored_at`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorReport {
    /// No problem found.
    pub ok: bool,
    /// The vault the inputs are about (hex).
    pub vault_id: Option<String>,
    /// The published heads that verified, by log size.
    pub heads: Vec<MonitoredHead>,
    /// Every receipt given, in input order.
    pub receipts: Vec<MonitoredReceipt>,
    /// Everything wrong.
    pub problems: Vec<Problem>,
}

struct Ctx {
    problems: Vec<Problem>,
    vault_id: Option<String>,
    /// size -> (root, where it comes from): every root a signature or a checked link vouches for.
    roots: BTreeMap<u64, (String, String)>,
}

impl Ctx {
    fn problem(&mut self, kind: ProblemKind, message: String) {
        self.problems.push(Problem { kind, message });
    }

    fn same_vault(&mut self, vault_id: &str, what: &str) -> bool {
        match &self.vault_id {
            None => {
                self.vault_id = Some(vault_id.to_string());
                true
            }
            Some(v) if v == vault_id => true,
            Some(v) => {
                let m = format!("{what} is of vault {vault_id}, the others of vault {v}");
                self.problem(ProblemKind::WrongVault, m);
                false
            }
        }
    }

    /// Records that `source` vouches for `root` at `size`; reports equivocation when another
    /// source vouched for a different root.
    fn vouch(&mut self, size: u64, root: &str, source: String) {
        match self.roots.get(&size) {
            None => {
                self.roots.insert(size, (root.to_string(), source));
            }
            Some((r, _)) if r == root => {}
            Some((r, other)) => {
                let m = format!("equivocation at log size {size}: {other} has log root {r}, {source} has {root}");
                self.problem(ProblemKind::Equivocation, m);
            }
        }
    }
}

/// Runs the monitor over published-head texts and receipt texts, with the vault's
/// verification keys (current and earlier). See the module docs.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// use fidex::{receipt, ConsentReceipt, DeletionReason, Vault, VaultConfig, VaultKey};
/// let vault = Vault::create(dir.path().join("v"), &VaultKey::generate(), VaultConfig::new(2)).unwrap();
/// let first = vault.publish_head(None).unwrap();
/// let c = ConsentReceipt::explicit("ann", "Acme", "https://acme.example/p", &["identification"], 1_700_000_000).unwrap();
/// let id = vault.enroll(&[1.0, 0.0], &c, None).unwrap().facial_id;
/// let deletion = receipt::to_json(&vault.delete(&id, DeletionReason::SubjectRequest).unwrap());
/// let second = vault.publish_head(Some(&first)).unwrap();
/// let report = receipt::monitor(&[&first.to_json(), &second.to_json()], &[&deletion], &[vault.verification_key()]);
/// assert!(report.ok);
/// assert!(report.receipts[0].anchored_at.is_some());
/// ```
pub fn monitor(heads: &[&str], receipts: &[&str], keys: &[VerificationKey]) -> MonitorReport {
    let mut cx = Ctx { problems: Vec::new(), vault_id: None, roots: BTreeMap::new() };
    // 1. Published heads: signature, then the link from the previous one.
    let mut good: Vec<(usize, PublishedHead)> = Vec::new();
    for (i, text) in heads.iter().enumerate() {
        let parsed = PublishedHead::from_json(text).and_then(|p| {
            p.verify_signature(keys)?;
            Ok(p)
        });
        let p = match parsed {
            Ok(p) => p,
            Err(e) => {
                cx.problem(ProblemKind::InvalidHead, format!("published head #{i}: {}", bare(&e)));
                continue;
            }
        };
        if !cx.same_vault(&p.tree_head.vault_id, &format!("published head #{i}")) {
            continue;
        }
        if let Err(e) = p.link() {
            cx.problem(ProblemKind::NotAnExtension, format!("published head #{i} (size {}): {}", p.tree_head.log_size, bare(&e)));
            continue;
        }
        good.push((i, p));
    }
    good.sort_by_key(|(i, p)| (p.tree_head.log_size, *i));
    for (i, p) in &good {
        cx.vouch(p.tree_head.log_size, &p.tree_head.log_root, format!("published head #{i}"));
        if let Some(prev) = &p.previous {
            cx.vouch(prev.log_size, &prev.log_root, format!("the link of published head #{i}"));
        }
    }
    let published: std::collections::BTreeSet<u64> = cx.roots.keys().copied().collect();
    // 2. Consecutive published sizes must be linked.
    let sizes: Vec<u64> = {
        let mut s: Vec<u64> = good.iter().map(|(_, p)| p.tree_head.log_size).collect();
        s.dedup();
        s
    };
    let linked = |from: u64, to: u64| good.iter().any(|(_, p)| p.tree_head.log_size == to && p.previous.as_ref().is_some_and(|q| q.log_size == from));
    let mut unlinked_after = BTreeMap::new(); // size -> true if the step to the next size is missing
    for w in sizes.windows(2) {
        if !linked(w[0], w[1]) {
            unlinked_after.insert(w[0], true);
            cx.problem(
                ProblemKind::MissingLink,
                format!("no published head links size {} to size {}: nothing shows the later extends the earlier (is a published head missing?)", w[0], w[1]),
            );
        }
    }
    let consistent_until = |from: u64| -> Option<u64> {
        let start = sizes.iter().position(|s| *s >= from)?;
        let mut last = sizes[start];
        for s in &sizes[start..] {
            last = *s;
            if unlinked_after.contains_key(s) {
                break;
            }
        }
        Some(last)
    };
    // 3. Receipts: verify, vouch for their heads' roots, anchor them.
    let mut out = Vec::new();
    let mut to_replay: Vec<(usize, u64, String)> = Vec::new(); // (receipt, size, root)
    for (j, text) in receipts.iter().enumerate() {
        let mut m = MonitoredReceipt { input: j, valid: false, kind: None, facial_id: None, log_index: None, head_size: None, anchored_at: None, consistent_until: None };
        if let Ok(r) = super::parse_json(text) {
            m.kind = Some(match &r { Receipt::Deletion(_) => "deletion".into(), Receipt::Enrollment(_) => "enrollment".into() });
            m.facial_id = Some(r.facial_id().to_string());
            m.log_index = Some(match &r { Receipt::Deletion(d) => d.log_index, Receipt::Enrollment(e) => e.enrollment_index });
            m.head_size = Some(r.tree_head().log_size);
        }
        match verify_json_with_keys(text, keys) {
            Err(e) => cx.problem(ProblemKind::InvalidReceipt, format!("receipt #{j}: {}", bare(&e))),
            Ok((r, _)) => {
                let h = r.tree_head();
                if cx.same_vault(&h.vault_id, &format!("receipt #{j}")) {
                    m.valid = true;
                    cx.vouch(h.log_size, &h.log_root, format!("the tree head of receipt #{j}"));
                    if published.contains(&h.log_size) {
                        if cx.roots.get(&h.log_size).is_some_and(|(r, _)| *r == h.log_root) {
                            m.anchored_at = Some(h.log_size);
                        }
                    } else {
                        to_replay.push((j, h.log_size, h.log_root.clone()));
                    }
                }
            }
        }
        out.push(m);
    }
    // 4. Receipt heads between two published heads: the link's frontier and leaf hashes give
    //    the root at their size. One replay per link, over the sizes asked of it.
    for (i, p) in &good {
        let Some(prev) = &p.previous else { continue };
        let (a, b) = (prev.log_size, p.tree_head.log_size);
        let mut asked: Vec<&(usize, u64, String)> = to_replay.iter().filter(|(j, m, _)| *m > a && *m < b && out[*j].anchored_at.is_none()).collect();
        if asked.is_empty() {
            continue;
        }
        asked.sort_by_key(|(_, m, _)| *m);
        let Ok(Some((mut frontier, leaves))) = p.link() else { continue };
        let mut next = 0usize;
        for (pos, leaf) in leaves.iter().enumerate() {
            frontier.append(*leaf);
            let size = a + pos as u64 + 1;
            while next < asked.len() && asked[next].1 == size {
                let (j, _, root) = asked[next];
                if to_hex(&frontier.root()) == *root {
                    out[*j].anchored_at = Some(b);
                } else {
                    cx.problem(
                        ProblemKind::Equivocation,
                        format!("equivocation at log size {size}: the tree head of receipt #{j} has log root {root}, but published head #{i} (size {b}) shows {}", to_hex(&frontier.root())),
                    );
                }
                next += 1;
            }
        }
    }
    for m in &mut out {
        if let Some(at) = m.anchored_at {
            m.consistent_until = consistent_until(at);
        }
    }
    let heads_out = good
        .iter()
        .map(|(i, p)| MonitoredHead {
            input: *i,
            log_size: p.tree_head.log_size,
            log_root: p.tree_head.log_root.clone(),
            timestamp: p.tree_head.timestamp,
            key_id: p.tree_head.key_id.clone().unwrap_or_default(),
            previous_size: p.previous.as_ref().map(|q| q.log_size),
        })
        .collect();
    MonitorReport { ok: cx.problems.is_empty(), vault_id: cx.vault_id, heads: heads_out, receipts: out, problems: cx.problems }
}

/// [`monitor`] from the forms a C or language binding holds: `heads_json` and
/// `receipts_json` are JSON arrays of strings (each element one file's text), `keys_text` a
/// verification-key file ([`VerificationKey::parse_key_file`]).
pub fn monitor_json(heads_json: &str, receipts_json: &str, keys_text: &str) -> Result<MonitorReport> {
    let keys = VerificationKey::parse_key_file(keys_text)?;
    let list = |what: &str, t: &str| -> Result<Vec<String>> {
        if t.trim().is_empty() {
            return Ok(Vec::new());
        }
        serde_json::from_str(t).map_err(|e| Error::InvalidJson(format!("{what} must be a JSON array of strings (each a file's text): {e}")))
    };
    let heads = list("heads", heads_json)?;
    let receipts = list("receipts", receipts_json)?;
    let h: Vec<&str> = heads.iter().map(String::as_str).collect();
    let r: Vec<&str> = receipts.iter().map(String::as_str).collect();
    Ok(monitor(&h, &r, &keys))
}

/// An error's message without the "verification failed: " prefix of its Display.
fn bare(e: &Error) -> String {
    match e {
        Error::VerificationFailed(m) | Error::InvalidKeyText(m) | Error::InvalidJson(m) => m.clone(),
        other => other.to_string(),
    }
}
