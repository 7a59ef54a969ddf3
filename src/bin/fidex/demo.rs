//! `fidex demo`: the whole lifecycle on synthetic, identity-clustered faces, narrated.

use crate::args::DemoArgs;
use crate::common::bytes;
use crate::fail::{exit, CmdResult, Failure};
use crate::keys;
use crate::output::{self, Ctx, Dest};
use crate::timefmt::{format_time, now};
use crate::vectors::write_npy;
use fidex::consent::ConsentReceipt;
use fidex::receipt::{self, PublishedHead, Receipt};
use fidex::{DeletionReason, Error, FacialId, Vault, VaultConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

const DIM: usize = 512;
/// Noise norm of a capture around its identity centre: same person ≈ 0.94 cosine, strangers ≈ 0.
const NOISE: f64 = 0.25;
const CONTROLLER: &str = "Acme Face Login";
const POLICY: &str = "https://acme.example/privacy/face-login";
const MARKER: &str = ".fidex-demo";

/// Seeded synthetic faces: each identity a random unit centre, each capture centre + noise,
/// renormalised.
struct Faces {
    rng: StdRng,
}

impl Faces {
    fn gauss(&mut self) -> f64 {
        let u1: f64 = self.rng.gen_range(1e-12..1.0);
        let u2: f64 = self.rng.gen();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    fn unit(v: Vec<f64>) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.into_iter().map(|x| (x / n) as f32).collect()
    }
    fn identity(&mut self) -> Vec<f32> {
        Self::unit((0..DIM).map(|_| self.gauss()).collect())
    }
    fn capture(&mut self, centre: &[f32]) -> Vec<f32> {
        let s = NOISE / (DIM as f64).sqrt();
        Self::unit(
            centre
                .iter()
                .map(|c| *c as f64 + s * self.gauss())
                .collect(),
        )
    }
}

fn subject(i: usize) -> String {
    format!("subject-{:03}", i + 1)
}

/// Every fourth subject consents to authentication only.
fn auth_only(i: usize) -> bool {
    i % 4 == 3
}

fn consent_for(name: &str, purposes: &[&str], at: i64) -> Result<ConsentReceipt, Failure> {
    let mut c = ConsentReceipt::explicit(name, CONTROLLER, POLICY, purposes, at).map_err(Failure::new)?;
    c.collection_method = "face-login sign-up screen, unticked checkbox the user ticked".into();
    c.policy_version = Some("2025-01".into());
    Ok(c)
}

/// Prepares `dir`: creates it, or clears an earlier demo's files from it.
fn prepare_dir(dir: &Path) -> Result<(), Failure> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir)
            .map_err(|e| Failure::io(dir.display(), e))?
            .peekable();
        if entries.peek().is_some() {
            if !dir.join(MARKER).exists() {
                return Err(Failure::new(Error::AlreadyExists(dir.display().to_string())).hint(
                    "the demo writes into a new or empty directory (or one an earlier demo wrote): pass another DIR",
                ));
            }
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let p = e.path();
                let ours = matches!(
                    name.as_str(),
                    "vault"
                        | "try"
                        | "vault.key"
                        | "verification-key.txt"
                        | "tampered-deletion.json"
                        | "vault-backup"
                        | "published-head-1.json"
                        | "published-head-2.json"
                        | "forked-head-2.json"
                        | MARKER
                ) || name.ends_with("-receipt.json");
                if !ours {
                    continue;
                }
                let res = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
                res.map_err(|e| Failure::io(p.display(), e))?;
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| Failure::io(dir.display(), e))?;
    std::fs::write(
        dir.join(MARKER),
        "written by `fidex demo`; re-running the demo replaces this directory's demo files\n",
    )
    .map_err(|e| Failure::io(dir.join(MARKER).display(), e))
}

/// The demo shows a guarantee that did not hold: stop with an internal error.
fn unexpected(what: &str) -> Failure {
    Failure::new(Error::InvalidArgument(format!(
        "demo: {what}, but it succeeded"
    )))
    .hint("this is a bug in fidex: please report it")
    .exit(crate::fail::exit::OTHER)
}

fn refusal(e: &Error) -> String {
    format!(
        "refused [{} {}]: {e}",
        e.code(),
        Error::describe_code(e.code())
    )
}

pub fn demo(ctx: &Ctx, a: &DemoArgs) -> CmdResult {
    if a.subjects < 10 || a.subjects > 100_000 {
        return Err(Failure::usage("--subjects must be in 10..=100000"));
    }
    let start = Instant::now();
    let dir = &a.dir;
    let say = |s: String| ctx.say(s);
    let rel = |p: &Path| p.display().to_string();
    prepare_dir(dir)?;
    let t0 = now();
    let mut receipts: Vec<String> = Vec::new();
    let dest = Dest::Dir(dir.to_path_buf());
    let mut summary = serde_json::Map::new();

    say(format!(
        "fidex demo: the life of a facial template, on synthetic faces (seed {})",
        a.seed
    ));
    say(format!("Everything is written to {}/\n", rel(dir)));

    // 1. Key.
    let key_path = dir.join("vault.key");
    let key = keys::new_key_file(&key_path)?;
    say("Step 1. A vault key".into());
    say(format!(
        "  Generated a 256-bit key and saved it to {} (mode 0600, fingerprint {}).",
        rel(&key_path),
        key.fingerprint()
    ));
    say(
        "  Only its holder can open the vault: every file in it is encrypted and authenticated.\n"
            .into(),
    );

    // 2. Vault.
    let vault_path = dir.join("vault");
    let vault =
        Vault::create(&vault_path, &key, VaultConfig::new(DIM as u32)).map_err(Failure::new)?;
    let cfg = vault.config();
    let vk = vault.verification_key();
    let vk_path = dir.join("verification-key.txt");
    std::fs::write(&vk_path, format!("{}\n", vk.to_text()))
        .map_err(|e| Failure::io(vk_path.display(), e))?;
    say("Step 2. Create the vault".into());
    say(format!(
        "  {}: {DIM}-dimensional templates, cosine similarity (match at ≥ {}), purposes '{}',",
        rel(&vault_path),
        cfg.match_threshold,
        cfg.purposes.join("' and '")
    ));
    say("  templates kept at most 3 years after a subject's last use (BIPA's ceiling).".into());
    say(format!(
        "  Its public verification key, published to {}:\n    {}\n",
        rel(&vk_path),
        vk.to_text()
    ));

    // 3. Enroll.
    let mut faces = Faces {
        rng: StdRng::seed_from_u64(a.seed),
    };
    let n = a.subjects;
    let centres: Vec<Vec<f32>> = (0..n).map(|_| faces.identity()).collect();
    let t = Instant::now();
    let mut ids: Vec<FacialId> = Vec::with_capacity(n);
    for (i, c) in centres.iter().enumerate() {
        let purposes: &[&str] = if auth_only(i) {
            &["authentication"]
        } else {
            &["authentication", "identification"]
        };
        let capture = faces.capture(c);
        let consent = consent_for(&subject(i), purposes, t0 - 60)?;
        let e = vault
            .enroll(&capture, &consent, Some(subject(i).as_bytes()))
            .map_err(Failure::new)?;
        ids.push(e.facial_id);
    }
    vault.commit().map_err(Failure::new)?;
    // Enrollment receipts sign committed state only, so they are issued after the commit.
    for (i, id) in ids.iter().take(3).enumerate() {
        let r = vault.enrollment_receipt(id).map_err(Failure::new)?;
        receipts.push(output::save(&receipt::to_json(&r), &format!("{}-enrollment", subject(i)), &dest)?);
    }
    // The owner publishes a signed tree head (and will link each later one to it), and
    // someone takes a backup of the vault as it is now (step 16 restores it).
    let head1 = vault.publish_head(None).map_err(Failure::new)?;
    let head1_path = dir.join("published-head-1.json");
    output::save(&head1.to_json(), "published-head-1", &Dest::File(head1_path.clone()))?;
    copy_vault(&vault_path, &dir.join("vault-backup"))?;
    let n_auth_only = (0..n).filter(|i| auth_only(*i)).count();
    say(format!(
        "Step 3. Enroll {n} subjects, each with explicit consent"
    ));
    say(format!(
        "  Synthetic faces: each subject is a random point on the {DIM}-d unit sphere; each capture is that"
    ));
    say("  point plus a little noise (two captures of one person ≈ 0.94 similar, two strangers ≈ 0.00).".into());
    say(format!(
        "  Each subject signed a Kantara consent receipt: {} for authentication and identification,",
        n - n_auth_only
    ));
    say(format!(
        "  {n_auth_only} (every fourth: {}, {}, …) for authentication only.",
        subject(3),
        subject(7)
    ));
    say(format!(
        "  Enrolled and committed {n} templates in {:.2} s. Each enrollment gets a signed receipt; the first three:",
        t.elapsed().as_secs_f64()
    ));
    for r in &receipts {
        say(format!("    {r}"));
    }
    say(format!(
        "  The owner publishes a signed tree head of the audit log ({} entries): {}",
        head1.tree_head.log_size,
        rel(&head1_path)
    ));
    say(String::new());
    summary.insert("enrolled".into(), json!(n));

    // 4. No consent.
    let stranger = faces.identity();
    let capture = faces.capture(&stranger);
    let no_consent = vault.enroll_json(&capture, "", None).map_or_else(Ok, |_| {
        Err(unexpected("enrollment without consent must fail"))
    })?;
    say("Step 4. No consent, no enrollment".into());
    say("  A new face arrives with no consent receipt:".into());
    say(format!("    {}\n", refusal(&no_consent)));

    // 5. Expired consent.
    let mut expired = consent_for("subject-new", &["authentication"], t0 - 400 * 86_400)?;
    expired.expires_at = Some(t0 - 86_400);
    let expired_err = vault
        .enroll(&capture, &expired, None)
        .map_or_else(Ok, |_| Err(unexpected("expired consent must fail")))?;
    say("Step 5. Expired consent is refused".into());
    say(format!(
        "  The same face with a receipt given on {} that expired on {}:",
        &format_time(expired.consent_timestamp)[..10],
        &format_time(t0 - 86_400)[..10]
    ));
    say(format!("    {}\n", refusal(&expired_err)));

    // 6. Duplicate.
    let again = faces.capture(&centres[0]);
    let dup_err = vault
        .enroll(
            &again,
            &consent_for(
                &format!("{}-second-account", subject(0)),
                &["authentication"],
                t0 - 30,
            )?,
            None,
        )
        .map_or_else(Ok, |_| {
            Err(unexpected("a second enrollment of the same face must fail"))
        })?;
    say("Step 6. The same face cannot be enrolled twice".into());
    say(format!(
        "  {} tries to open a second account with a new capture of their face (and fresh consent):",
        subject(0)
    ));
    say(format!("    {}\n", refusal(&dup_err)));
    summary.insert(
        "refusals".into(),
        json!({"no_consent": no_consent.code(), "expired_consent": expired_err.code(), "duplicate": dup_err.code()}),
    );

    // 7. Identify.
    say("Step 7. Identify a fresh capture (1:N, purpose 'identification')".into());
    let (who, ao) = (1usize, 3usize);
    let probe = faces.capture(&centres[who]);
    write_try_files(dir, &mut faces, &probe)?;
    let hits = vault
        .identify(&probe, 1, None, "identification")
        .map_err(Failure::new)?;
    match hits.first() {
        Some(m) => say(format!(
            "  A new capture of {} → Facial ID {} (score {:.4}): {}",
            subject(who),
            m.facial_id,
            m.score,
            if m.facial_id == ids[who] {
                format!("that is {}", subject(who))
            } else {
                "WRONG subject".into()
            }
        )),
        None => say(format!(
            "  A new capture of {} → no match (unexpected)",
            subject(who)
        )),
    }
    let probe_ao = faces.capture(&centres[ao]);
    let hits_ao = vault
        .identify(&probe_ao, 1, None, "identification")
        .map_err(Failure::new)?;
    say(format!(
        "  A new capture of {}, who consented to authentication only → {}",
        subject(ao),
        if hits_ao.is_empty() {
            "no match: their template is never searched for identification.".to_string()
        } else {
            format!("matched {} (unexpected)", hits_ao[0].facial_id)
        }
    ));
    let login = vault
        .verify(&ids[ao], &probe_ao, "authentication")
        .map_err(Failure::new)?;
    say(format!(
        "  The same capture still logs {} in (1:1, purpose 'authentication'): score {:.4}, {}\n",
        subject(ao),
        login.score,
        if login.matched { "MATCH" } else { "no match" }
    ));
    summary.insert(
        "identify".into(),
        json!({"correct": hits.first().map(|m| m.facial_id) == Some(ids[who]), "score": hits.first().map(|m| m.score), "authentication_only_identified": !hits_ao.is_empty(), "authentication_only_login": login.matched}),
    );

    // 8. Verify.
    let (gen_i, imp_i) = (4usize, 5usize);
    let genuine = vault
        .verify(
            &ids[gen_i],
            &faces.capture(&centres[gen_i]),
            "authentication",
        )
        .map_err(Failure::new)?;
    let impostor = vault
        .verify(
            &ids[gen_i],
            &faces.capture(&centres[imp_i]),
            "authentication",
        )
        .map_err(Failure::new)?;
    say("Step 8. Verify 1:1 (purpose 'authentication')".into());
    say(format!(
        "  genuine:  a capture of {} against {}'s Facial ID → score {:.4} ≥ {}: {}",
        subject(gen_i),
        subject(gen_i),
        genuine.score,
        genuine.threshold,
        if genuine.matched { "MATCH" } else { "no match" }
    ));
    say(format!(
        "  impostor: a capture of {} against {}'s Facial ID → score {:.4} < {}: {}\n",
        subject(imp_i),
        subject(gen_i),
        impostor.score,
        impostor.threshold,
        if impostor.matched {
            "MATCH (unexpected)"
        } else {
            "no match"
        }
    ));
    summary.insert(
        "verify".into(),
        json!({"genuine": genuine, "impostor": impostor}),
    );

    // 9. Delete.
    let del_i = 6usize;
    let del = vault
        .delete(&ids[del_i], DeletionReason::SubjectRequest)
        .map_err(Failure::new)?;
    let del_path = output::save(
        &receipt::to_json(&del),
        &format!("{}-deletion", subject(del_i)),
        &dest,
    )?;
    receipts.push(del_path.clone());
    say("Step 9. Erasure on request, with a signed receipt".into());
    say(format!(
        "  {} asks to be forgotten. Deleted Facial ID {}:",
        subject(del_i),
        ids[del_i]
    ));
    say("  template, payload and consent record are gone from every vault file, and the deletion is".into());
    say(format!(
        "  in the append-only audit log. Receipt: {del_path}\n"
    ));

    // 10. Offline verification.
    let published =
        std::fs::read_to_string(&vk_path).map_err(|e| Failure::io(vk_path.display(), e))?;
    let vk_pub = fidex::receipt::VerificationKey::from_text(&published).map_err(Failure::new)?;
    let text = std::fs::read_to_string(&del_path).map_err(|e| Failure::io(&del_path, e))?;
    let ok = receipt::verify_json(&text, &vk_pub);
    say("Step 10. Anyone can verify the receipt offline".into());
    say("  With nothing but the published verification key (no vault, no secret):".into());
    match &ok {
        Ok(Receipt::Deletion(d)) => say(format!(
            "    OK: {} deleted at {} ({}); audit-log entry #{} of {} under a signed tree head,\n    and the Facial ID is absent from the signed set of live templates.\n",
            d.facial_id,
            format_time(d.deleted_at),
            d.reason.as_str(),
            d.log_index,
            d.tree_head.log_size
        )),
        Ok(_) => say("    OK\n".into()),
        Err(e) => say(format!("    FAILED (unexpected): {e}\n")),
    }

    // 11. Tampering.
    let tampered = text.replacen(
        &format!("\"deleted_at\": {}", del.deleted_at),
        &format!("\"deleted_at\": {}", del.deleted_at - 1),
        1,
    );
    let tampered_path = dir.join("tampered-deletion.json");
    std::fs::write(&tampered_path, &tampered)
        .map_err(|e| Failure::io(tampered_path.display(), e))?;
    let bad = receipt::verify_json(&tampered, &vk_pub);
    say("Step 11. A tampered receipt is rejected".into());
    say(format!(
        "  The same receipt with the deletion time moved back one second ({}):",
        rel(&tampered_path)
    ));
    match &bad {
        Err(e) => say(format!("    {}\n", refusal(e))),
        Ok(_) => say("    accepted (unexpected!)\n".into()),
    }
    summary.insert("receipt_verified".into(), json!(ok.is_ok()));
    summary.insert("tampered_rejected".into(), json!(bad.is_err()));

    // 12. Withdrawal.
    let wd_i = 7usize;
    let wd = vault.withdraw_consent(&ids[wd_i]).map_err(Failure::new)?;
    let wd_path = output::save(
        &receipt::to_json(&wd),
        &format!("{}-withdrawal", subject(wd_i)),
        &dest,
    )?;
    receipts.push(wd_path.clone());
    say("Step 12. Consent withdrawn".into());
    say(format!(
        "  {} withdraws consent: the withdrawal is logged and the template erased.",
        subject(wd_i)
    ));
    say(format!("  Receipt: {wd_path}\n"));

    // 13. Reopen.
    let mut probe_rng = Faces {
        rng: StdRng::seed_from_u64(a.seed ^ 0x5eed),
    };
    let probes: Vec<Vec<f32>> = (0..50)
        .map(|j| probe_rng.capture(&centres[(j * 7) % n]))
        .collect();
    let search = |v: &Vault| -> Result<Vec<Vec<(FacialId, f32)>>, Failure> {
        probes
            .iter()
            .map(|p| {
                Ok(v.identify(p, 3, None, "identification")
                    .map_err(Failure::new)?
                    .iter()
                    .map(|m| (m.facial_id, m.score))
                    .collect())
            })
            .collect()
    };
    let before = search(&vault)?;
    crate::common::commit(&vault, ctx)?;
    drop(vault);
    let key_again = keys::read_key_file(&key_path)?;
    let vault = Vault::open(&vault_path, &key_again).map_err(Failure::new)?;
    let after = search(&vault)?;
    let gone = [del_i, wd_i].iter().all(|i| !vault.contains(&ids[*i]));
    let deleted_probe = faces.capture(&centres[del_i]);
    let still = vault
        .identify(&deleted_probe, 1, None, "identification")
        .map_err(Failure::new)?;
    say("Step 13. Close and reopen the vault from disk".into());
    say(format!(
        "  Reopened {} with the key file: {} templates.",
        rel(&vault_path),
        vault.len()
    ));
    say(format!(
        "  {} and {} are {}: a fresh capture of {} now matches {}.",
        subject(del_i),
        subject(wd_i),
        if gone {
            "gone"
        } else {
            "STILL THERE (unexpected)"
        },
        subject(del_i),
        if still.is_empty() {
            "nobody".to_string()
        } else {
            still[0].facial_id.to_string()
        }
    ));
    say(format!(
        "  {} probes return {} results as before closing.\n",
        probes.len(),
        if before == after {
            "identical"
        } else {
            "DIFFERENT"
        }
    ));
    summary.insert(
        "reopen".into(),
        json!({"deleted_gone": gone, "identical_results": before == after}),
    );

    // 14. Stats.
    let s = vault.stats().map_err(Failure::new)?;
    say("Step 14. Stats (counts only, no biometric data)".into());
    say(format!(
        "  templates {}, enrollments {}, deletions {}",
        s.templates,
        s.enrollments_total,
        fmt_map(&s.deletions_by_reason)
    ));
    say(format!(
        "  consents by purpose: {}",
        fmt_map(&s.consents_by_purpose)
    ));
    say(format!(
        "  {} on disk in {} segment(s); audit log of {} entries\n",
        bytes(s.bytes_on_disk),
        s.segments,
        s.log_entries
    ));
    crate::common::commit(&vault, ctx)?;

    // 15. A later published head, and the monitor.
    let head2 = vault.publish_head(Some(&head1)).map_err(Failure::new)?;
    let head2_path = dir.join("published-head-2.json");
    output::save(&head2.to_json(), "published-head-2", &Dest::File(head2_path.clone()))?;
    drop(vault);
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| Failure::io(p.display(), e));
    let (h1, h2) = (read(&head1_path)?, read(&head2_path)?);
    let monitored: Vec<String> = [&del_path, &wd_path].iter().map(|p| read(Path::new(p.as_str()))).collect::<Result<_, _>>()?;
    let refs: Vec<&str> = monitored.iter().map(String::as_str).collect();
    let report = receipt::monitor(&[&h1, &h2], &refs, &[vk_pub]);
    say("Step 15. Published tree heads: anyone checks that the log was only appended to".into());
    say(format!(
        "  The owner publishes a second head ({} entries) linked to the first: {}",
        head2.tree_head.log_size,
        rel(&head2_path)
    ));
    say("  A subject (or any monitor) checks both heads and the two receipts, offline:".into());
    say(format!(
        "    {}: the second head extends the first; both receipts are in the published log{}.\n",
        if report.ok { "OK" } else { "FAILED (unexpected)" },
        if report.receipts.iter().all(|r| r.anchored_at.is_some()) { "" } else { " (NOT all anchored: unexpected)" }
    ));
    summary.insert("monitor_ok".into(), json!(report.ok));

    // 16. A fork: the backup of step 3, restored, gets another history of the same length.
    let (fork_head, fork_size) = fork_from_backup(&dir.join("vault-backup"), &key_again, &ids, &head1, head2.tree_head.log_size)?;
    let fork_path = dir.join("forked-head-2.json");
    output::save(&fork_head.to_json(), "forked-head-2", &Dest::File(fork_path.clone()))?;
    let hf = read(&fork_path)?;
    let forked = receipt::monitor(&[&h1, &h2, &hf], &[], &[vk_pub]);
    say("Step 16. A rewritten history is caught".into());
    say(format!(
        "  Someone restores the backup taken at step 3 ({}) and deletes other subjects until its log",
        rel(&dir.join("vault-backup"))
    ));
    say(format!(
        "  also has {fork_size} entries, then publishes its head, linked to the first: {}",
        rel(&fork_path)
    ));
    say("  On its own it is a valid head. With the genuine ones, the monitor reports:".into());
    for p in &forked.problems {
        let m = p.message.replace("published head #0", "published-head-1.json").replace("published head #1", "published-head-2.json");
        say(format!("    {}", m.replace("published head #2", "forked-head-2.json")));
    }
    if forked.ok {
        say("    nothing (unexpected!)".into());
    }
    say("  Two signed heads of one size with different roots: the vault showed two histories.\n".into());
    summary.insert("fork_detected".into(), json!(forked.problems.iter().any(|p| p.kind == receipt::ProblemKind::Equivocation)));

    let secs = start.elapsed().as_secs_f64();
    let d = rel(dir);
    say(format!("Done in {secs:.1} s. In {d}/:"));
    say("  vault/                     the encrypted vault".into());
    say("  vault.key                  its key (mode 0600): keep it secret".into());
    say("  verification-key.txt       the public verification key".into());
    say("  *-receipt.json             enrollment, deletion and withdrawal receipts".into());
    say("  tampered-deletion.json     a receipt with one changed field".into());
    say("  published-head-*.json      two published tree heads; forked-head-2.json a fork of the second".into());
    say("  vault-backup/              the backup of step 3 that step 16 restored and forked".into());
    say("  try/                       a consent receipt, faces and a manifest to try the commands on".into());
    say("Try:".into());
    say(format!(
        "  fidex receipt verify {d}/*-receipt.json --key {d}/verification-key.txt"
    ));
    say(format!(
        "  fidex receipt verify {d}/tampered-deletion.json --key {d}/verification-key.txt   # exit 8"
    ));
    say(format!(
        "  fidex receipt monitor {d}/published-head-*.json {d}/*-receipt.json --key {d}/verification-key.txt"
    ));
    say(format!(
        "  fidex receipt monitor {d}/published-head-*.json {d}/forked-head-2.json --key {d}/verification-key.txt   # exit 8"
    ));
    say(format!("  export FIDEX_KEY_FILE={d}/vault.key"));
    say(format!("  fidex stats {d}/vault"));
    say(format!(
        "  fidex identify {d}/vault --vectors {d}/try/probe.npy"
    ));
    say(format!(
        "  fidex enroll {d}/vault --consent {d}/try/consent.json --vectors {d}/try/new-face.npy"
    ));
    say(format!(
        "  fidex enroll {d}/vault --manifest {d}/try/bulk.jsonl --vectors {d}/try/bulk-faces.npy"
    ));
    say(format!("  fidex audit {d}/vault --from 400"));

    summary.insert("dir".into(), json!(dir));
    summary.insert("vault".into(), json!(vault_path));
    summary.insert("key_file".into(), json!(key_path));
    summary.insert("verification_key".into(), json!(vk.to_text()));
    summary.insert("receipts".into(), json!(receipts));
    summary.insert("seconds".into(), json!(secs));
    ctx.emit(&Value::Object(summary));
    Ok(exit::OK)
}

/// Copies a vault directory (a backup, as an operator would take one), its empty `LOCK`
/// file included: a vault without one is refused (docs/FORMAT.md, "Lock protocol"). The
/// lock itself is not copied.
fn copy_vault(from: &Path, to: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(to).map_err(|e| Failure::io(to.display(), e))?;
    for e in std::fs::read_dir(from).map_err(|e| Failure::io(from.display(), e))? {
        let e = e.map_err(|e| Failure::io(from.display(), e))?;
        std::fs::copy(e.path(), to.join(e.file_name())).map_err(|err| Failure::io(e.path().display(), err))?;
    }
    Ok(())
}

/// Opens the restored backup and deletes subjects the genuine vault kept, until its log
/// has `size` entries; returns its published head (linked to `head1`) and its size.
fn fork_from_backup(
    backup: &Path,
    key: &fidex::VaultKey,
    ids: &[FacialId],
    head1: &PublishedHead,
    size: u64,
) -> Result<(PublishedHead, u64), Failure> {
    let fork = Vault::open(backup, key).map_err(Failure::new)?;
    // From the last subject down: not the deletions of the genuine history (steps 9 and 12).
    let mut next = ids.iter().rev();
    while fork.tree_head().map_err(Failure::new)?.log_size < size {
        let Some(id) = next.next() else { break };
        fork.delete(id, DeletionReason::Admin).map_err(Failure::new)?;
    }
    let head = fork.publish_head(Some(head1)).map_err(Failure::new)?;
    let n = head.tree_head.log_size;
    fork.close().map_err(Failure::new)?;
    Ok((head, n))
}

fn fmt_map(m: &std::collections::BTreeMap<String, u64>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Files for trying the other commands: a consent receipt and a new face, a probe, and a
/// bulk manifest with its faces and consents.
fn write_try_files(dir: &Path, faces: &mut Faces, probe: &[f32]) -> Result<(), Failure> {
    let t = dir.join("try");
    let w = |p: PathBuf, b: &[u8]| std::fs::write(&p, b).map_err(|e| Failure::io(p.display(), e));
    std::fs::create_dir_all(t.join("consents")).map_err(|e| Failure::io(t.display(), e))?;
    let at = now() - 60;
    w(
        t.join("consent.json"),
        consent_for("subject-new", &["authentication", "identification"], at)?
            .to_json()
            .as_bytes(),
    )?;
    let new_face = faces.identity();
    w(
        t.join("new-face.npy"),
        &write_npy(1, DIM, &faces.capture(&new_face)),
    )?;
    w(t.join("probe.npy"), &write_npy(1, DIM, probe))?;
    let mut rows = Vec::new();
    let mut manifest = String::new();
    for j in 0..3 {
        let c = faces.identity();
        rows.extend(faces.capture(&c));
        let name = format!("bulk-{}", j + 1);
        w(
            t.join("consents").join(format!("{name}.json")),
            consent_for(&name, &["authentication"], at)?
                .to_json()
                .as_bytes(),
        )?;
        manifest.push_str(
            &json!({"consent": format!("consents/{name}.json"), "payload": name}).to_string(),
        );
        manifest.push('\n');
    }
    w(t.join("bulk-faces.npy"), &write_npy(3, DIM, &rows))?;
    w(t.join("bulk.jsonl"), manifest.as_bytes())
}
