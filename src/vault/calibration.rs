//! int8 calibration: the quantisation scale of int8 storage follows the data. It is
//! recalibrated from the exact templates (in memory with re-rank, read back from the
//! encrypted segments without) each time the vault has doubled since the last calibration,
//! and every row is re-quantised from its exact value.

#![forbid(unsafe_code)]

use super::state::VaultState;
use super::Vault;
use crate::error::Result;
use crate::search::{quant, Storage as StorageType};

impl Vault {
    /// Re-calibrates the int8 quantisation scale from the stored templates and re-quantises
    /// every template from its exact value (int8 storage; `Ok(false)` for f32 / f16 or an
    /// empty vault). With `Int8 { rerank: true }` the exact values are in memory; with
    /// `Int8 { rerank: false }` they are read back from the encrypted segments (pending
    /// enrollments from memory), so it costs one decryption of the vault. Searches wait
    /// while it runs. Persisted at the next commit.
    ///
    /// The vault also does this by itself at commit, each time the number of templates has
    /// doubled since the last calibration (so the scale follows the data: amortised, every
    /// template is re-read at most about twice over the vault's growth).
    pub fn recalibrate_int8(&self) -> Result<bool> {
        let _writer = self.writer()?;
        let mut w = self.write();
        self.recalibrate_int8_in(&mut w)
    }

    /// The work of [`Vault::recalibrate_int8`] on a state the caller holds exclusively.
    pub(super) fn recalibrate_int8_in(&self, w: &mut VaultState) -> Result<bool> {
        let n = w.records.index.len();
        let StorageType::Int8 { rerank } = w.config.storage else {
            return Ok(false);
        };
        if n == 0 {
            return Ok(false);
        }
        if rerank {
            w.records.index.recalibrate();
        } else {
            // Pass 1: a calibration sample (uncommitted templates first, then segments evenly
            // spread) of at most CALIBRATION_SAMPLE components.
            let d = w.config.dimension as usize;
            let want_rows = (quant::CALIBRATION_SAMPLE / d).max(1);
            // Sized up front (a growing buffer would leave template copies behind), wiped on drop.
            let mut sample = zeroize::Zeroizing::new(Vec::with_capacity(want_rows * d));
            for (_, v) in w.records.uncommitted.iter().take(want_rows) {
                sample.extend_from_slice(v);
            }
            let seg_ids: Vec<u64> = w.segments.by_id.keys().copied().collect();
            let committed = n.saturating_sub(w.records.uncommitted.len()).max(1);
            let stride = committed.div_ceil(want_rows.saturating_sub(sample.len() / d).max(1)).max(1);
            let mut seen = 0usize;
            for id in &seg_ids {
                if sample.len() / d >= want_rows {
                    break;
                }
                let recs = self.read_segment(w, *id)?.templates;
                for (rid, v) in &recs {
                    if w.records.by_id.get(rid).and_then(|r| r.segment) == Some(*id) {
                        if seen.is_multiple_of(stride) && sample.len() / d < want_rows {
                            sample.extend_from_slice(v);
                        }
                        seen += 1;
                    }
                }
            }
            let q = quant::calibrate(&sample);
            drop(sample);
            // Pass 2: new scale, then every row re-quantised from its exact value.
            if !w.records.index.set_int8_scale(q.scale()) {
                return Ok(false);
            }
            for (id, v) in &w.records.uncommitted {
                w.records.index.requantize_row(w.records.by_id[id].row, v);
            }
            for id in &seg_ids {
                let recs = self.read_segment(w, *id)?.templates;
                for (rid, v) in &recs {
                    if let Some(r) = w.records.by_id.get(rid).filter(|r| r.segment == Some(*id)) {
                        let row = r.row;
                        w.records.index.requantize_row(row, v);
                    }
                }
            }
        }
        w.records.int8_calibrated_rows = n as u64;
        w.changed = true;
        Ok(true)
    }
}
