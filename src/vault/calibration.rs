//! int8 calibration: the quantisation scale of int8 storage follows the data. It is
//! recalibrated from the exact templates (in memory with re-rank, read back from the
//! encrypted segments without) each time the vault has doubled since the last calibration,
//! and every row is re-quantised from its exact value, into a separate buffer while
//! searches go on; the new codes are swapped in at the end.

#![forbid(unsafe_code)]

use super::state::VaultState;
use super::Vault;
use crate::error::Result;
use crate::search::{quant, Int8Recalibration, Storage as StorageType};

impl Vault {
    /// Re-calibrates the int8 quantisation scale from the stored templates and re-quantises
    /// every template from its exact value (int8 storage; `Ok(false)` for f32 / f16 or an
    /// empty vault). With `Int8 { rerank: true }` the exact values are in memory; with
    /// `Int8 { rerank: false }` they are read back from the encrypted segments (pending
    /// enrollments from memory), so it costs one decryption of the vault. Searches go on
    /// while it runs: the new codes are computed into a separate buffer (one more int8 copy
    /// of the vault in memory meanwhile) and swapped in at the end, in O(1). Changes wait.
    /// If reading a segment fails, nothing changes. Persisted at the next commit.
    ///
    /// The vault also does this by itself at commit, each time the number of templates has
    /// doubled since the last calibration (so the scale follows the data: amortised, every
    /// template is re-read at most about twice over the vault's growth).
    pub fn recalibrate_int8(&self) -> Result<bool> {
        let _writer = self.writer()?;
        self.recalibrate_int8_searchable()
    }

    /// The work of [`Vault::recalibrate_int8`], for a caller holding the writer mutex (so
    /// no row can be added or removed meanwhile): prepared under the shared lock, installed
    /// under the exclusive one; the replaced codes are wiped after it is released.
    pub(super) fn recalibrate_int8_searchable(&self) -> Result<bool> {
        let (prepared, n) = {
            let r = self.read();
            let n = r.records.index.len();
            let StorageType::Int8 { rerank } = r.config.storage else {
                return Ok(false);
            };
            if n == 0 {
                return Ok(false);
            }
            let prepared = if rerank { r.records.index.prepare_int8_recalibration(None) } else { self.prepare_from_segments(&r)? };
            match prepared {
                Some(p) => (p, n),
                None => return Ok(false),
            }
        };
        let replaced = {
            let mut w = self.write();
            let replaced = w.records.index.install_int8_recalibration(prepared);
            if replaced.is_ok() {
                w.records.int8_calibrated_rows = n as u64;
                w.changed = true;
            }
            replaced
        };
        Ok(replaced.is_ok()) // the replaced codes are wiped here, outside the lock
    }

    /// int8-only storage: a calibration sample of the exact templates (uncommitted first,
    /// then segments evenly spread), then every row re-quantised from its exact value.
    fn prepare_from_segments(&self, r: &VaultState) -> Result<Option<Int8Recalibration>> {
        let n = r.records.index.len();
        let d = r.config.dimension as usize;
        let want_rows = (quant::CALIBRATION_SAMPLE / d).max(1);
        // Sized up front (a growing buffer would leave template copies behind), wiped on drop.
        let mut sample = zeroize::Zeroizing::new(Vec::with_capacity(want_rows * d));
        for (_, v) in r.records.uncommitted.iter().take(want_rows) {
            sample.extend_from_slice(v);
        }
        let seg_ids: Vec<u64> = r.segments.by_id.keys().copied().collect();
        let committed = n.saturating_sub(r.records.uncommitted.len()).max(1);
        let stride = committed.div_ceil(want_rows.saturating_sub(sample.len() / d).max(1)).max(1);
        let mut seen = 0usize;
        for id in &seg_ids {
            if sample.len() / d >= want_rows {
                break;
            }
            let recs = self.read_segment(r, *id)?.templates;
            for (rid, v) in &recs {
                if r.records.by_id.get(rid).and_then(|rec| rec.segment) == Some(*id) {
                    if seen.is_multiple_of(stride) && sample.len() / d < want_rows {
                        sample.extend_from_slice(v);
                    }
                    seen += 1;
                }
            }
        }
        let q = quant::calibrate(&sample);
        drop(sample);
        let Some(mut prepared) = r.records.index.prepare_int8_recalibration(Some(q.scale())) else {
            return Ok(None);
        };
        for (id, v) in &r.records.uncommitted {
            prepared.requantize_row(r.records.by_id[id].row, v);
        }
        for id in &seg_ids {
            let recs = self.read_segment(r, *id)?.templates;
            for (rid, v) in &recs {
                if let Some(rec) = r.records.by_id.get(rid).filter(|rec| rec.segment == Some(*id)) {
                    prepared.requantize_row(rec.row, v);
                }
            }
        }
        Ok(Some(prepared))
    }
}
