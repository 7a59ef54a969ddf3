//! PLACEHOLDER (replaced by the SIMD engine): scalar index with the agreed API.
#![allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric { Cosine, InnerProduct, L2 }
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Storage { F32, F16, Int8 { rerank: bool } }
impl Metric {
    pub fn code(self) -> u8 { match self { Metric::Cosine => 1, Metric::InnerProduct => 2, Metric::L2 => 3 } }
    pub fn from_code(c: u8) -> Option<Metric> { match c { 1 => Some(Metric::Cosine), 2 => Some(Metric::InnerProduct), 3 => Some(Metric::L2), _ => None } }
}
impl Storage {
    pub fn code(self) -> u8 { match self { Storage::F32 => 1, Storage::F16 => 2, Storage::Int8 { rerank: true } => 3, Storage::Int8 { rerank: false } => 4 } }
    pub fn from_code(c: u8) -> Option<Storage> { match c { 1 => Some(Storage::F32), 2 => Some(Storage::F16), 3 => Some(Storage::Int8 { rerank: true }), 4 => Some(Storage::Int8 { rerank: false }), _ => None } }
}
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit { pub row: u32, pub score: f32 }
#[derive(Clone, Copy, Debug, Default)]
pub struct SearchOptions { pub threads: usize }
pub struct Index { dim: usize, metric: Metric, storage: Storage, data: Vec<f32>, tags: Vec<u64> }
impl Index {
    pub fn new(dim: usize, metric: Metric, storage: Storage) -> Index { Index { dim, metric, storage, data: Vec::new(), tags: Vec::new() } }
    pub fn len(&self) -> usize { self.tags.len() }
    pub fn is_empty(&self) -> bool { self.tags.is_empty() }
    pub fn dim(&self) -> usize { self.dim }
    pub fn metric(&self) -> Metric { self.metric }
    pub fn storage(&self) -> Storage { self.storage }
    pub fn memory_bytes(&self) -> usize { self.data.capacity() * 4 + self.tags.capacity() * 8 }
    pub fn push(&mut self, v: &[f32], tags: u64) -> u32 { self.data.extend_from_slice(v); self.tags.push(tags); (self.tags.len() - 1) as u32 }
    pub fn swap_remove(&mut self, row: u32) -> Option<u32> {
        let r = row as usize; let last = self.tags.len() - 1; let d = self.dim;
        if r != last { let (a, b) = self.data.split_at_mut(last * d); a[r * d..r * d + d].copy_from_slice(&b[..d]); self.tags[r] = self.tags[last]; }
        for x in &mut self.data[last * d..] { *x = 0.0; }
        self.data.truncate(last * d); self.tags.pop();
        if r != last { Some(last as u32) } else { None }
    }
    pub fn set_tags(&mut self, row: u32, tags: u64) { self.tags[row as usize] = tags; }
    pub fn tags(&self, row: u32) -> u64 { self.tags[row as usize] }
    pub fn row_f32(&self, row: u32) -> Option<Vec<f32>> { let r = row as usize; if r < self.len() { Some(self.data[r * self.dim..(r + 1) * self.dim].to_vec()) } else { None } }
    pub fn clear(&mut self) { for x in &mut self.data { *x = 0.0; } self.data.clear(); self.tags.clear(); }
    pub fn score(&self, row: u32, probe: &[f32]) -> f32 {
        let r = &self.data[row as usize * self.dim..(row as usize + 1) * self.dim];
        match self.metric { Metric::L2 => -r.iter().zip(probe).map(|(a, b)| (a - b) * (a - b)).sum::<f32>(), _ => r.iter().zip(probe).map(|(a, b)| a * b).sum() }
    }
    pub fn search(&self, probe: &[f32], k: usize, min_score: f32, required_tags: u64, _o: &SearchOptions) -> Vec<Hit> {
        let mut v: Vec<Hit> = (0..self.len() as u32).filter(|&r| self.tags[r as usize] & required_tags == required_tags)
            .map(|r| Hit { row: r, score: self.score(r, probe) }).filter(|h| h.score >= min_score).collect();
        v.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row))); v.truncate(k); v
    }
    pub fn search_batch(&self, probes: &[f32], k: usize, min_score: f32, required_tags: u64, o: &SearchOptions) -> Vec<Vec<Hit>> {
        probes.chunks(self.dim).map(|p| self.search(p, k, min_score, required_tags, o)).collect()
    }
}
pub mod kernels { pub fn detected() -> &'static str { "portable" } }

// ---- backends (issue 4, part 5): keep these lines when the SIMD engine replaces this file ----
pub mod engine;
#[cfg(feature = "faiss")]
pub mod faiss;
