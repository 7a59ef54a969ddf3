//! Subject rights and accountability: a subject's export (access and portability, logged),
//! the record of processing, and statistics without biometric data.

#![forbid(unsafe_code)]

use super::segment::Template;
use super::state::VaultState;
use super::{io_err, Stats, SubjectExport, Vault};
use crate::error::{Error, Result};
use crate::id::FacialId;
use crate::key::to_hex;
use crate::log::audit::{Event, LogEntry};
use crate::receipt::VerificationKey;
use crate::storage::format::{self, MANIFEST_FILE};
use std::collections::BTreeMap;

impl Vault {
    /// Subject access/portability export. Logged as `record_exported`.
    pub fn export_subject(&self, id: &FacialId, include_template: bool) -> Result<SubjectExport> {
        let _writer = self.writer()?;
        let mut w = self.write();
        let now = self.now();
        let touched = self.interactions.latest(id);
        // The caller receives its own copy (the export is theirs to wipe); the vault's copy
        // wipes itself here.
        let template = if include_template { Some(self.exact_template(&w, id)?.to_vec()) } else { None };
        let rec = w.records.by_id.get(id).ok_or(Error::NotFoundId(*id))?;
        let deadline = rec.deadline(w.config.retention_secs, touched);
        let (consent, payload_hex, enrolled_at, last) =
            (rec.consent()?, to_hex(&rec.payload), rec.enrolled_at, touched.unwrap_or(rec.last_interaction).max(rec.last_interaction));
        w.append_event(now, Event::RecordExported { facial_id: *id, template_included: include_template });
        w.changed = true;
        let log_entries = w
            .log
            .entries
            .iter()
            .filter_map(|b| LogEntry::from_bytes(b).ok())
            .filter(|e| e.event.facial_id() == Some(*id))
            .collect();
        let vault_id = to_hex(&w.header.vault_id);
        drop(w);
        // The export is personal data leaving the vault: its log entry is made durable
        // before the data is handed out.
        self.commit_while_searching()?;
        Ok(SubjectExport {
            vault_id,
            facial_id: *id,
            consent,
            payload_hex,
            enrolled_at,
            last_interaction: last,
            retention_deadline: deadline,
            log_entries,
            template,
        })
    }

    /// The template of `id` as enrolled (normalised; not transformed), from its segment or
    /// the uncommitted enrollments.
    fn exact_template(&self, w: &VaultState, id: &FacialId) -> Result<Template> {
        let rec = w.records.by_id.get(id).ok_or(Error::NotFoundId(*id))?;
        let stored = match rec.segment {
            None => w.records.uncommitted.iter().find(|(p, _)| p == id).map(|(_, v)| v.clone()).ok_or(Error::NotFoundId(*id))?,
            Some(seg) => {
                let templates = self.read_segment(w, seg)?.templates;
                templates
                    .into_iter()
                    .find(|(rid, _)| rid == id)
                    .map(|(_, v)| v)
                    .ok_or_else(|| Error::corrupt("template missing from its segment"))?
            }
        };
        Ok(match &w.keys.transform {
            Some(t) => t.invert(&stored),
            None => stored,
        })
    }

    /// A JSON record of processing (GDPR Art. 30 spirit): purposes, categories, retention,
    /// counts, cryptography and key fingerprint.
    pub fn processing_record(&self) -> serde_json::Value {
        let stats = self.stats().ok();
        let r = self.read();
        serde_json::json!({
            "record": "fidex record of processing activities",
            "generated_at": self.now(),
            "vault_id": to_hex(&r.header.vault_id),
            "purposes": r.config.purposes,
            "legal_basis": "explicit consent (GDPR Art. 9(2)(a); BIPA 740 ILCS 14/15(b)), one Kantara consent receipt per template",
            "data_subjects": "users who enrolled their face for login",
            "data_categories": ["facial template (face embedding vector; biometric data, GDPR Art. 9)", "consent receipt", "application payload", "timestamps of enrollment and last interaction"],
            "recipients": "none: templates are readable only with the vault key held by the controller",
            "retention": {
                "rule": "deleted at the earlier of consent expiry and last interaction + retention period",
                "retention_secs": r.config.retention_secs,
                "auto_purge": r.config.auto_purge,
            },
            "security": {
                "encryption": "AES-256-GCM-SIV, per-vault subkeys via HKDF-SHA256",
                "integrity": "authenticated encryption with vault id, role and generation bound as associated data",
                "audit_log": "RFC 6962 Merkle tree, Ed25519-signed tree heads",
                "cancelable_templates": r.config.cancelable,
                "key_fingerprint": r.keys.key.fingerprint(),
                "verification_key": VerificationKey::from_signing(r.header.vault_id, &r.keys.signing).to_text(),
            },
            "counts": stats,
        })
    }

    /// Analytics without biometric data.
    pub fn stats(&self) -> Result<Stats> {
        self.check_usable()?;
        let r = self.read();
        let mut consents_by_purpose = BTreeMap::new();
        for p in &r.config.purposes {
            consents_by_purpose.insert(p.clone(), 0u64);
        }
        let (mut oldest, mut newest) = (None::<i64>, None::<i64>);
        for rec in r.records.by_id.values() {
            let tags = r.records.index.tags(rec.row);
            for (i, p) in r.config.purposes.iter().enumerate() {
                if tags & (1u64 << i) != 0 {
                    *consents_by_purpose.get_mut(p).expect("every vault purpose is a key") += 1;
                }
            }
            oldest = Some(oldest.map_or(rec.enrolled_at, |o| o.min(rec.enrolled_at)));
            newest = Some(newest.map_or(rec.enrolled_at, |o| o.max(rec.enrolled_at)));
        }
        let mut bytes_on_disk = 0;
        for name in self.storage.list().map_err(|e| io_err(&*self.storage, "listing", e))? {
            if name == MANIFEST_FILE || format::is_vault_file(&name) {
                bytes_on_disk += self.storage.size(&name).unwrap_or(0);
            }
        }
        Ok(Stats {
            templates: r.records.by_id.len() as u64,
            uncommitted: r.records.uncommitted.len() as u64,
            enrollments_total: r.records.enrollments_total,
            deletions_by_reason: r.records.deletions_by_reason.iter().map(|(k, v)| (k.as_str().to_string(), *v)).collect(),
            consents_by_purpose,
            oldest_enrollment: oldest,
            newest_enrollment: newest,
            bytes_on_disk,
            template_bytes: r.records.by_id.len() as u64 * r.config.dimension as u64 * 4,
            index_memory_bytes: r.records.index.memory_bytes() as u64,
            segments: r.segments.by_id.len() as u64,
            log_entries: r.log.entries.len() as u64,
            generation: r.segments.generation,
            kernel: crate::search::kernels::detected().to_string(),
            backend: r.records.index.backend().to_string(),
            int8_scale: r.records.index.int8_scale(),
            int8_calibrated_rows: r.records.int8_calibrated_rows,
            pending_removals: r.segments.pending_removals.iter().cloned().collect(),
            stray_files: self.stray_files(),
            read_only: self.is_read_only(),
        })
    }
}
