//! Key rotation: the whole vault re-encrypted under a new key, with a new signing key and,
//! for cancelable vaults, a new transform (renewed templates).
//!
//! Every segment is read under the old key and written under the new one at the next
//! generation before anything changes in memory; then memory switches and one commit
//! writes the manifest and the whole log as one chunk under the new key, and the files
//! written under the old key are removed.

#![forbid(unsafe_code)]

use super::segment::{self, Template};
use super::state::{engine_err, signing_key, VaultState};
use super::transform::{Construction, Transform};
use super::{io_err, manifest, Vault};
use crate::error::{Error, Result};
use crate::id::FacialId;
use crate::key::{self, to_hex, Sealer, VaultKey};
use crate::log::audit::Event;
use crate::storage::format::{self, ObjectHeader};
use std::collections::HashMap;

impl Vault {
    /// Re-encrypts the whole vault under `new_key` with a new signing key (and, for cancelable
    /// vaults, a new transform), commits, and removes the files written under the old key
    /// (any the file system refuses to remove is listed by [`Vault::pending_removals`] and in
    /// [`Vault::stats`], retried at each commit and at open; it is unreadable without the old
    /// key). Keep the old key until this returns: a crash midway leaves the vault under
    /// either key. If it returns an error, the error says which key to keep: a plain error
    /// means the rotation did not happen (the old key opens the vault; memory is as before);
    /// an error that says "keep both keys" means the disk may be under either; and
    /// [`Error::VaultFailed`] means the handle could not tell and refuses further use.
    pub fn rotate_key(&self, new_key: &VaultKey) -> Result<()> {
        let _writer = self.writer()?;
        let mut w = self.write();
        self.commit_blocking_searches(&mut w)?;
        let now = self.now();
        let vid = w.header.vault_id;
        let new_signing = signing_key(new_key, &vid);
        let old_vk = w.keys.signing.verifying_key().to_bytes();
        let new_vk = new_signing.verifying_key().to_bytes();
        let new_sealer = Sealer::new(new_key, &vid);
        // Renewed templates are drawn by construction 2, whatever the old one was (the header
        // flag says so from this commit on).
        let new_transform = w.config.cancelable.then(|| Transform::derive(new_key, &vid, w.config.dimension as usize, Construction::Sha256Stream));
        // Read every segment under the old key first.
        let seg_ids: Vec<u64> = w.segments.by_id.keys().copied().collect();
        let mut contents = Vec::new();
        for id in &seg_ids {
            let mut seg = self.read_segment(&w, *id)?;
            // Re-sealed in the current meta version: each record's consent facts as loaded.
            for m in &mut seg.metas {
                let r = w.records.by_id.get(&FacialId::from_bytes(m.facial_id)).ok_or_else(|| Error::corrupt("a segment holds an unknown record"))?;
                m.consent_expires_at = r.consent_expires_at;
                m.purpose_mask = w.records.index.tags(r.row);
            }
            contents.push((*id, seg.templates, seg.metas));
        }
        let gen = w.segments.generation + 1;
        let mut written = Vec::new();
        // The re-encrypted segments are listed first, in a temporary manifest under the
        // current key: if the process dies before the rotation's manifest, the next open
        // knows them as this rotation's leftovers (`access.rs`).
        self.verify_lock()?;
        let intent = {
            let mut header = w.header.clone();
            header.generation = gen;
            let body = super::manifest::ManifestBody {
                config: super::config::ConfigRecord::from_config(&w.config),
                created_at: w.created_at,
                next_object_id: w.segments.next_object_id,
                segments: w.segments.by_id.iter().map(|(id, s)| super::manifest::SegmentRef { id: *id, generation: gen, count: s.live }).collect(),
                interactions: Vec::new(),
                enrollments_total: w.records.enrollments_total,
                deletions_by_reason: Vec::new(),
                log_chunks: Vec::new(),
                log_size: 0,
                log_root: [0; 32],
                old_verification_keys: Vec::new(),
                int8_scale: None,
                int8_calibrated_rows: 0,
            };
            super::commit::seal_manifest_body(&header, &body, &w.keys.sealer)
        };
        let _ = self.storage.remove(format::MANIFEST_TMP);
        self.storage.write_new(format::MANIFEST_TMP, &intent).map_err(|e| io_err(&*self.storage, format::MANIFEST_TMP, e))?;
        let result = (|| -> Result<()> {
            let d = w.config.dimension as usize;
            for (id, recs, metas) in &contents {
                // Renewed templates of a cancelable vault; each wipes itself when dropped.
                let vecs: Vec<Template> = recs
                    .iter()
                    .map(|(_, v)| match (&w.keys.transform, &new_transform) {
                        (Some(old), Some(new)) => new.apply(&old.invert(v)),
                        _ => v.clone(),
                    })
                    .collect();
                let refs: Vec<&[f32]> = vecs.iter().map(|v| v.as_slice()).collect();
                let h = ObjectHeader { vault_id: vid, object_id: *id, generation: gen, count: recs.len() as u32, dim: d as u32 };
                let bytes = segment::seal(&h, &refs, metas, &new_sealer);
                let name = format::segment_file(*id, gen);
                self.storage.write_new(&name, &bytes).map_err(|e| io_err(&*self.storage, &name, e))?;
                written.push(name);
            }
            Ok(())
        })();
        if let Err(e) = result {
            let mut all_removed = true;
            for n in &written {
                all_removed &= self.storage.remove(n).is_ok();
            }
            if all_removed {
                let _ = self.storage.remove(format::MANIFEST_TMP);
            }
            return Err(e);
        }
        // Switch in memory, then commit the manifest and a single re-encrypted log chunk.
        let old_files: Vec<String> = w.referenced_files().collect();
        let old_key = w.keys.key.clone();
        w.keys.key = new_key.clone();
        w.keys.sealer = new_sealer;
        w.keys.signing = new_signing;
        w.header.key_check = key::key_check(new_key, &vid);
        if w.config.cancelable {
            w.header.flags |= format::FLAG_TRANSFORM_2;
        }
        w.keys.previous_verification_keys.push(old_vk);
        for s in w.segments.by_id.values_mut() {
            s.generation = gen;
            s.facts = true; // re-sealed in the current meta version, facts filled in above
        }
        if let Some(nt) = new_transform {
            // Rebuild the index with renewed templates.
            let mut index = w.new_engine()?;
            if let Some(scale) = w.records.index.int8_scale() {
                index.set_int8_scale(scale);
            }
            index.set_auto_train(false).map_err(engine_err)?;
            let mut row_ids = Vec::new();
            let mut rows = HashMap::new();
            for (_, recs, _) in &contents {
                for (id, v) in recs {
                    let old = w.keys.transform.as_ref().expect("cancelable vault has a transform");
                    let tags = w.records.index.tags(w.records.by_id[id].row);
                    let row = index.push(&nt.apply(&old.invert(v)), tags);
                    row_ids.push(*id);
                    rows.insert(*id, row);
                }
            }
            let uncommitted_ids: Vec<FacialId> = w.records.uncommitted.iter().map(|(i, _)| *i).collect();
            debug_assert!(uncommitted_ids.is_empty(), "uncommitted enrollments were committed above");
            index.set_auto_train(true).map_err(engine_err)?;
            for (id, row) in rows {
                if let Some(r) = w.records.by_id.get_mut(&id) {
                    r.row = row;
                }
            }
            w.records.index.clear();
            w.records.index = index;
            w.records.row_ids = row_ids;
            w.keys.transform = Some(nt);
        }
        let entry_vk = Event::KeyRotated { new_verification_key: to_hex(&new_vk), old_verification_key: to_hex(&old_vk) };
        w.append_event(now, entry_vk);
        // Re-encrypt the whole log as one chunk under the new key.
        w.log.committed = 0;
        w.log.chunks.clear();
        w.changed = true;
        let res = self.commit_blocking_searches_at(&mut w, Some(gen));
        match res {
            Ok(_) => {
                // The files written under the old key: removed, or queued (and listed by
                // `pending_removals`, retried at each commit and at open). Either way they are
                // unreadable without the old key.
                w.segments.pending_removals.extend(old_files);
                self.remove_pending_files(&mut w);
                Ok(())
            }
            Err(e) => self.after_failed_rotation(&mut w, e, &old_key, new_key, written),
        }
    }

    /// A rotation's commit failed: find out which key the disk is under, make memory agree,
    /// and tell the caller exactly what to keep.
    ///
    /// - The old key still opens the manifest: the rotation did not happen. Memory goes back
    ///   to exactly that state; the files written under the new key are removed.
    /// - Only the new key opens it: the manifest switched and memory already matches, but a
    ///   later step failed (the directory sync), so the switch may not survive a crash:
    ///   keep both keys until a later commit succeeds.
    /// - Neither can be read back: nobody can tell; the handle refuses further use (so it
    ///   cannot write anything under a key the caller thinks was abandoned), keep both keys.
    fn after_failed_rotation(
        &self,
        w: &mut VaultState,
        error: Error,
        old_key: &VaultKey,
        new_key: &VaultKey,
        written: Vec<String>,
    ) -> Result<()> {
        match manifest::load_state(&*self.storage, old_key) {
            Ok(mut restored) => {
                restored.segments.pending_removals = std::mem::take(&mut w.segments.pending_removals);
                restored.segments.pending_removals.extend(written);
                w.records.index.clear();
                *w = restored;
                self.remove_pending_files(w);
                Err(error)
            }
            Err(Error::WrongKey) if manifest::load_state(&*self.storage, new_key).is_ok() => Err(Error::io(
                "the key rotation reached the disk (the vault is now under the new key) but did not finish",
                std::io::Error::other(format!(
                    "{error}; the switch may not survive a crash until a later commit succeeds: keep both keys until then"
                )),
            )),
            Err(reread) => {
                let why = format!(
                    "a key rotation failed ({error}) and the manifest could not be read back ({reread}), so it is unknown \
                     whether the vault is under the old or the new key: keep both keys, and open the vault with each"
                );
                self.mark_failed(why.clone());
                Err(Error::VaultFailed(why))
            }
        }
    }
}
