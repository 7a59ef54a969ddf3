// npm run bench — single-probe latency and batch throughput from Node, next to the same C
// ABI calls timed natively, on the same vault handle, probes and library, in one process.
//
// The native column is a C loop (bench/native_loop.c, compiled here with the system cc and
// loaded with koffi) calling fidex_vault_identify / _identify_batch through the very
// function addresses the binding uses: what a C program linked to libfidex would measure,
// without a second copy of the vault. Node's sync path is Vault#identifySync (koffi call on
// the main thread + argument checks + result decoding); the async path is
// `await Vault#identify` (libuv worker, promise). For every probe the three run back to
// back (order rotated); overhead = median over probes of (Node time − native time).
// Overheads are measured twice: on the large vault (next to the ~ms search, where noise
// dominates) and on a small vault where the search takes microseconds, so the binding's
// own cost is visible.
//
// Environment: FIDEX_BENCH_N (100000), FIDEX_BENCH_DIM (512), FIDEX_BENCH_K (10),
// FIDEX_BENCH_PROBES (200 single probes per round), FIDEX_BENCH_ROUNDS (5),
// FIDEX_BENCH_BATCH (1000), FIDEX_BENCH_STORAGE (f32), FIDEX_BENCH_SMALL_N (1000),
// FIDEX_BENCH_SEARCH_THREADS (0: the vault default, every core).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Vault, VaultKey, library, version } from '../index.mjs';
import { identities, captures, row, consentFor } from '../test/helpers.mjs';

const require = createRequire(import.meta.url);
const native = require('../lib/native.cjs');
const { pointerOf } = require('../lib/vault.cjs');
const { koffi } = native;

const env = (name, dflt) => Number(process.env[name] || dflt);
const N = env('FIDEX_BENCH_N', 100000);
const DIM = env('FIDEX_BENCH_DIM', 512);
const K = env('FIDEX_BENCH_K', 10);
const PROBES = env('FIDEX_BENCH_PROBES', 200);
const ROUNDS = env('FIDEX_BENCH_ROUNDS', 5);
const BATCH = env('FIDEX_BENCH_BATCH', 1000);
const SMALL_N = env('FIDEX_BENCH_SMALL_N', 1000);
const STORAGE = process.env.FIDEX_BENCH_STORAGE || 'f32';
const SEARCH_THREADS = env('FIDEX_BENCH_SEARCH_THREADS', 0);
const PURPOSE = 'identification';
const purposeBytes = Buffer.from(PURPOSE);

const here = path.dirname(fileURLToPath(import.meta.url));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fidex-bench-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));

// ---- the native loop ------------------------------------------------------------------

const shimPath = path.join(work, 'native_loop.so');
execFileSync(process.env.CC || 'cc', ['-O2', '-shared', '-fPIC', '-std=c99', '-D_POSIX_C_SOURCE=199309L', `-I${path.dirname(library.cdef)}`, path.join(here, 'native_loop.c'), '-o', shimPath]);
const shim = koffi.load(shimPath);
const nativeEach = shim.func('uint32_t bench_identify_each(void *fn, void *v, const float *probes, size_t n, size_t dim, size_t k, const char *purpose, size_t purpose_len, void *scratch, double *out_ns)');
const nativeBatch = shim.func('double bench_identify_batch(void *fn, void *v, const float *probes, size_t n, size_t dim, size_t k, const char *purpose, size_t purpose_len, void *matches, void *counts)');
const identifyAddress = native.symbolAddress('fidex_vault_identify');
const batchAddress = native.symbolAddress('fidex_vault_identify_batch');
const MATCH_BYTES = native.layout('fidex_match').size;

// ---- statistics -----------------------------------------------------------------------

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const median = (xs) => quantile(xs, 0.5);
/** Distribution-free 95% interval of the median (binomial order statistics). */
const medianInterval = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const n = sorted.length;
  const half = 0.98 * Math.sqrt(n);
  return [sorted[Math.max(0, Math.floor(n / 2 - half))], sorted[Math.min(n - 1, Math.ceil(n / 2 + half))]];
};
const us = (ns) => ns / 1e3;
const fmtUs = (ns) => `${us(ns).toFixed(ns < 1e5 ? 1 : 0)} µs`;
const fmtMs = (ns) => `${(ns / 1e6).toFixed(2)} ms`;

function loadavg() {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
function cpuModel() {
  const m = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  return `${m ? m[1] : os.cpus()[0].model} × ${os.availableParallelism()}`;
}

// ---- fixtures -------------------------------------------------------------------------

async function buildVault(n, seed) {
  const faces = identities(n, DIM, seed);
  const vault = await Vault.create(path.join(work, `v${n}`), VaultKey.generate(), { dimension: DIM, storage: STORAGE, duplicateThreshold: null, searchThreads: SEARCH_THREADS });
  const consent = JSON.stringify(consentFor('bench'));
  const ids = [];
  for (let i = 0; i < n; i += 20000) {
    const rows = Math.min(20000, n - i);
    ids.push(...(await vault.enrollMany(faces.subarray(i * DIM, (i + rows) * DIM), new Array(rows).fill(consent))));
  }
  return { vault, faces, ids };
}

/**
 * Per-call times (ns) of `count` single-probe identifies × `rounds`: for each probe the
 * native call, the sync call and the async call run back to back (order rotated), so
 * each probe gives a paired difference unaffected by load drifting between blocks.
 */
async function singleProbe(vault, probes, count, rounds) {
  const ptr = pointerOf(vault);
  const scratch = new Uint8Array(K * MATCH_BYTES);
  const out = new Float64Array(1);
  const times = { native: [], sync: [], async: [], syncDiff: [], asyncDiff: [] };
  const options = { purpose: PURPOSE, k: K };
  const paths = {
    native: async (p) => {
      const st = nativeEach(identifyAddress, ptr, p, 1, DIM, K, purposeBytes, purposeBytes.length, scratch, out);
      if (st !== 0) throw new Error(`native identify failed: ${st}`);
      return out[0];
    },
    sync: async (p) => {
      const t0 = process.hrtime.bigint();
      vault.identifySync(p, options);
      return Number(process.hrtime.bigint() - t0);
    },
    async: async (p) => {
      const t0 = process.hrtime.bigint();
      await vault.identify(p, options);
      return Number(process.hrtime.bigint() - t0);
    },
  };
  const orders = [['native', 'sync', 'async'], ['sync', 'async', 'native'], ['async', 'native', 'sync']];
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < count; i++) {
      const p = row(probes, DIM, i);
      const got = {};
      for (const name of orders[(i + r) % 3]) got[name] = await paths[name](p);
      times.native.push(got.native);
      times.sync.push(got.sync);
      times.async.push(got.async);
      times.syncDiff.push(got.sync - got.native);
      times.asyncDiff.push(got.async - got.native);
    }
  }
  return times;
}

async function batchThroughput(vault, probes, n, reps) {
  const ptr = pointerOf(vault);
  const matches = new Uint8Array(n * K * MATCH_BYTES);
  const counts = new BigUint64Array(n);
  const times = { native: [], sync: [], async: [] };
  const options = { purpose: PURPOSE, k: K };
  for (let r = 0; r < reps; r++) {
    const t = nativeBatch(batchAddress, ptr, probes, n, DIM, K, purposeBytes, purposeBytes.length, matches, counts);
    if (t < 0) throw new Error(`native batch failed: ${-t}`);
    times.native.push(t);
    let t0 = process.hrtime.bigint();
    vault.identifyBatchSync(probes, options);
    times.sync.push(Number(process.hrtime.bigint() - t0));
    t0 = process.hrtime.bigint();
    await vault.identifyBatch(probes, options);
    times.async.push(Number(process.hrtime.bigint() - t0));
  }
  return times;
}

// ---- run ------------------------------------------------------------------------------

const loadBefore = loadavg();
console.log(`fidex ${version} Node binding benchmark — ${cpuModel()}, node ${process.version}, koffi ${koffi.version}, load ${loadBefore}`);
console.log(`N = ${N}, d = ${DIM}, k = ${K}, storage ${STORAGE}, search threads ${SEARCH_THREADS || 'all'}; ${PROBES} single probes × ${ROUNDS} rounds; batch of ${BATCH}`);

let t = performance.now();
const big = await buildVault(N, 1);
console.log(`built the ${N}-template vault in ${((performance.now() - t) / 1000).toFixed(1)} s`);

const which = Array.from({ length: Math.max(PROBES, BATCH) }, (_, i) => (i * 7919) % N);
const probes = captures(big.faces, DIM, which, 2);
// Correctness once, so the timings are of real answers.
const check = big.vault.identifySync(row(probes, DIM, 0), { purpose: PURPOSE, k: K });
if (check[0].facialId !== big.ids[which[0]]) throw new Error('benchmark vault gives a wrong answer');
await singleProbe(big.vault, probes, Math.min(10, PROBES), 1); // warm-up

const single = await singleProbe(big.vault, probes, PROBES, ROUNDS);
const batch = await batchThroughput(big.vault, probes.subarray(0, BATCH * DIM), BATCH, 3);
const small = await buildVault(SMALL_N, 3);
const smallProbes = captures(small.faces, DIM, Array.from({ length: 1000 }, (_, i) => (i * 31) % SMALL_N), 4);
await singleProbe(small.vault, smallProbes, 100, 1);
const tiny = await singleProbe(small.vault, smallProbes, 1000, ROUNDS);
// Context for the async overhead of long calls: the same sync/async round trip of a call
// that only sleeps as long as the N-template search (libc usleep through koffi; no fidex).
const usleep = koffi.load(process.platform === 'linux' ? 'libc.so.6' : null).func('int usleep(uint32_t usec)');
const sleepUs = Math.round(us(median(single.native)));
const sleepDiff = [];
for (let i = 0; i < 100; i++) {
  let t0 = process.hrtime.bigint();
  usleep(sleepUs);
  const sync = Number(process.hrtime.bigint() - t0);
  t0 = process.hrtime.bigint();
  await new Promise((resolve) => usleep.async(sleepUs, resolve));
  sleepDiff.push(Number(process.hrtime.bigint() - t0) - sync);
}
const loadAfter = loadavg();
// Close (commits) so the exit hook has nothing to warn about; not timed.
await Promise.all([big.vault.close(), small.vault.close()]);

const row3 = (label, a, b, c) => `${label.padEnd(34)}${a.padStart(14)}${b.padStart(14)}${c.padStart(14)}`;
const summary = (times) => ({ median: median(times), p10: quantile(times, 0.1), p90: quantile(times, 0.9) });
const s = { native: summary(single.native), sync: summary(single.sync), async: summary(single.async) };
const sd = { sync: median(single.syncDiff), async: median(single.asyncDiff) };
const sdi = { sync: medianInterval(single.syncDiff), async: medianInterval(single.asyncDiff) };
const b = { native: Math.min(...batch.native), sync: Math.min(...batch.sync), async: Math.min(...batch.async) };
const bm = { native: median(batch.native), sync: median(batch.sync), async: median(batch.async) };
const tn = { native: summary(tiny.native), sync: summary(tiny.sync), async: summary(tiny.async) };
const td = { sync: median(tiny.syncDiff), async: median(tiny.asyncDiff) };
const tdi = { sync: medianInterval(tiny.syncDiff), async: medianInterval(tiny.asyncDiff) };
const fmtCi = ([lo, hi]) => `[${us(lo).toFixed(0)}, ${us(hi).toFixed(0)}]`;

console.log('');
console.log(row3('', 'native (C)', 'Node sync', 'Node async'));
console.log(row3(`single probe, N=${N}: median`, fmtMs(s.native.median), fmtMs(s.sync.median), fmtMs(s.async.median)));
const range = (x) => `${(x.p10 / 1e6).toFixed(2)}–${(x.p90 / 1e6).toFixed(2)} ms`;
console.log(row3('  p10–p90', range(s.native), range(s.sync), range(s.async)));
console.log(row3('  overhead (median of paired diff.)', '', fmtUs(sd.sync), fmtUs(sd.async)));
console.log(row3('    95% interval of that median, µs', '', fmtCi(sdi.sync), fmtCi(sdi.async)));
console.log(row3(`  control: usleep(${sleepUs}) async − sync`, '', '', fmtUs(median(sleepDiff))));
console.log(row3(`batch of ${BATCH}, N=${N}: probes/s (best)`, (BATCH / (b.native / 1e9)).toFixed(0), (BATCH / (b.sync / 1e9)).toFixed(0), (BATCH / (b.async / 1e9)).toFixed(0)));
console.log(row3('  per batch call (median)', fmtMs(bm.native), fmtMs(bm.sync), fmtMs(bm.async)));
console.log(row3(`single probe, N=${SMALL_N}: median`, fmtUs(tn.native.median), fmtUs(tn.sync.median), fmtUs(tn.async.median)));
console.log(row3('  overhead (median of paired diff.)', '', fmtUs(td.sync), fmtUs(td.async)));
console.log(row3('    95% interval of that median, µs', '', fmtCi(tdi.sync), fmtCi(tdi.async)));
console.log('');
console.log(`goals: sync overhead ≤ 20 µs, async ≤ 100 µs (measured on the N=${SMALL_N} vault, where the search does not drown them); load before ${loadBefore}, after ${loadAfter}`);
console.log(
  JSON.stringify({
    bench: 'fidex-node',
    version,
    cpu: cpuModel(),
    node: process.version,
    koffi: koffi.version,
    load_before: loadBefore,
    load_after: loadAfter,
    n: N,
    dim: DIM,
    k: K,
    storage: STORAGE,
    search_threads: SEARCH_THREADS,
    single_ns: { native: s.native, sync: s.sync, async: s.async },
    single_overhead_ns: { paired_median: sd, paired_median_95: sdi, median_difference: { sync: s.sync.median - s.native.median, async: s.async.median - s.native.median } },
    usleep_control: { usec: sleepUs, async_minus_sync_median_ns: median(sleepDiff) },
    batch: { size: BATCH, best_ns: b, median_ns: bm, probes_per_s: { native: BATCH / (b.native / 1e9), sync: BATCH / (b.sync / 1e9), async: BATCH / (b.async / 1e9) } },
    small: { n: SMALL_N, single_ns: tn, overhead_ns: { paired_median: td, paired_median_95: tdi, median_difference: { sync: tn.sync.median - tn.native.median, async: tn.async.median - tn.native.median } } },
  }),
);
