// Async calls off the event loop, on one shared vault of N templates × 512 (N =
// FIDEX_TEST_N, default 20,000; the 100,000 works too and takes longer to build):
// the event loop keeps ticking during a long batch search (and, as a control, does not
// during the sync one), inputs cannot be garbage-collected while a call runs, 64
// concurrent searches are each right, concurrent failures each carry their own error,
// searches run alongside writes, close() races in-flight calls safely, and the GC safety
// net warns about uncommitted enrollments.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Vault, VaultKey, FidexError, ClosedError, Status } from '../index.mjs';
import { createRequire } from 'node:module';
import { identities, captures, row, tempDir, consentFor, PACKAGE_DIR } from './helpers.mjs';

const { inFlight } = createRequire(import.meta.url)('../lib/call.cjs');

const N = Number(process.env.FIDEX_TEST_N || 20000);
const DIM = 512;
const CHUNK = 10000;
const PURPOSE = { purpose: 'identification' };

let dir;
let vault;
let faces;
let ids;

before(async () => {
  dir = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'fidex-node-async-'));
  faces = identities(N, DIM, 2024);
  // duplicateThreshold null: the duplicate check of a bulk load is an N × N search.
  vault = await Vault.create(path.join(dir, 'big'), VaultKey.generate(), { dimension: DIM, duplicateThreshold: null });
  const consent = JSON.stringify(consentFor('bulk'));
  ids = [];
  for (let i = 0; i < N; i += CHUNK) {
    const rows = Math.min(CHUNK, N - i);
    ids.push(...(await vault.enrollMany(faces.subarray(i * DIM, (i + rows) * DIM), new Array(rows).fill(consent))));
  }
});

after(async () => {
  await vault.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Identity indices spread over the vault. */
function spread(count, salt) {
  return Array.from({ length: count }, (_, i) => (i * 7919 + salt * 104729) % N);
}

/** Runs `work` with a 10 ms interval timer and reports how the timer fired during it. */
async function ticking(work) {
  const ticks = [];
  const timer = setInterval(() => ticks.push(performance.now()), 10);
  await new Promise((r) => setTimeout(r, 35));
  const t0 = performance.now();
  const result = await work();
  const t1 = performance.now();
  clearInterval(timer);
  const inside = ticks.filter((x) => x >= t0 && x <= t1);
  const points = [t0, ...inside, t1];
  const maxGap = Math.max(...points.slice(1).map((x, i) => x - points[i]));
  return { duration: t1 - t0, ticks: inside.length, maxGap, result };
}

test(`the event loop keeps ticking during a long batch search (N = ${N} × ${DIM})`, async (t) => {
  // Grow the batch until it takes long enough to mean something (≥ 300 ms).
  let which;
  let probes;
  let run;
  for (let count = 200; ; count *= 2) {
    which = spread(count, 1);
    probes = captures(faces, DIM, which, 11);
    run = await ticking(() => vault.identifyBatch(probes, { ...PURPOSE, k: 5 }));
    if (run.duration >= 300 || count >= 6400) break;
  }
  assert.ok(run.duration >= 300, `the batch took only ${run.duration.toFixed(0)} ms`);
  assert.deepEqual(run.result.map((m) => m[0].facialId), which.map((j) => ids[j]), 'every probe finds its identity');
  const expected = run.duration / 10;
  assert.ok(run.ticks >= expected * 0.5, `timer fired ${run.ticks} times in ${run.duration.toFixed(0)} ms (interval 10 ms)`);
  assert.ok(run.maxGap < 100, `longest gap between timer ticks ${run.maxGap.toFixed(1)} ms during a ${run.duration.toFixed(0)} ms search`);
  t.diagnostic(`async batch of ${which.length}: ${run.duration.toFixed(0)} ms, ${run.ticks} ticks, longest gap ${run.maxGap.toFixed(1)} ms`);

  // Control: the sync twin of the same call blocks the loop for its whole duration, so
  // the measurement above can tell the difference.
  const blocked = await ticking(async () => vault.identifyBatchSync(probes, { ...PURPOSE, k: 5 }));
  assert.equal(blocked.ticks, 0);
  assert.ok(blocked.maxGap >= blocked.duration * 0.9);
  assert.deepEqual(blocked.result.map((m) => m[0].facialId), run.result.map((m) => m[0].facialId));
  t.diagnostic(`sync batch: ${blocked.duration.toFixed(0)} ms with the event loop blocked`);
});

test('inputs of an async call cannot be garbage-collected while it runs (node --expose-gc)', async (t) => {
  assert.equal(typeof global.gc, 'function', 'run the suite with node --expose-gc (test.sh and npm test do)');
  const collected = new Set();
  const registry = new FinalizationRegistry((tag) => collected.add(tag));
  const which = spread(Math.max(100, Math.round(3e7 / N)), 2);
  let pending;
  (() => {
    // The only references to the probes are inside this scope and the binding.
    const probes = captures(faces, DIM, which, 12);
    registry.register(probes, 'probes');
    registry.register(probes.buffer, 'buffer');
    pending = vault.identifyBatch(probes, { ...PURPOSE, k: 1 });
  })();
  // The binding's own record of the call holds the probes until it completes.
  const entry = [...inFlight].find((e) => e.name === 'fidex_vault_identify_batch');
  assert.ok(entry && entry.args.some((a) => a instanceof Float32Array && a.length === which.length * DIM), 'the async call pins its probes');
  let settled = false;
  pending.then(
    () => (settled = true),
    () => (settled = true),
  );
  let rounds = 0;
  while (!settled) {
    let garbage = [];
    for (let i = 0; i < 2000; i++) garbage.push(new Float32Array(128).fill(i));
    garbage = null;
    global.gc();
    await new Promise((r) => setImmediate(r));
    rounds++;
    assert.ok(!collected.has('probes') && !collected.has('buffer'), `probes collected during the call (GC round ${rounds})`);
  }
  assert.ok(rounds >= 3, `the call lasted only ${rounds} GC rounds`);
  const results = await pending;
  assert.equal(inFlight.size, 0, 'released once the call completed');
  assert.deepEqual(results.map((m) => m[0].facialId), which.map((j) => ids[j]), 'the search read the probes intact');
  // The detector works: once the call has completed, the probes are collected.
  for (let i = 0; i < 200 && !collected.has('probes'); i++) {
    global.gc();
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(collected.has('probes'), 'probes still reachable after the call completed');
  t.diagnostic(`${rounds} GC rounds during the call, probes kept; collected after it`);
});

test('64 concurrent async searches on one vault each return their own right answer', async () => {
  const which = spread(64, 3);
  const probes = captures(faces, DIM, which, 13);
  const results = await Promise.all(
    which.map((j, i) =>
      i % 2 === 0
        ? vault.identify(row(probes, DIM, i), { ...PURPOSE, k: 3 })
        : vault.verify(ids[j], row(probes, DIM, i), { purpose: 'authentication' }).then((v) => (v.matched ? [{ facialId: ids[j] }] : [])),
    ),
  );
  results.forEach((matches, i) => assert.equal(matches[0] && matches[0].facialId, ids[which[i]], `search ${i}`));
  // And the same 64 as one batch agree.
  const batch = await vault.identifyBatch(probes, { ...PURPOSE, k: 3 });
  assert.deepEqual(batch.map((m) => m[0].facialId), which.map((j) => ids[j]));
});

test('concurrent failing async calls each reject with the code and message of their own call', async () => {
  const good = captures(faces, DIM, spread(16, 4), 14);
  const calls = [];
  for (let i = 0; i < 64; i++) {
    switch (i % 4) {
      case 0: // wrong dimension, a different one per call
        calls.push({ p: vault.identify(new Float32Array(100 + i).fill(1), PURPOSE), code: Status.DIMENSION_MISMATCH, text: `${100 + i} components` });
        break;
      case 1: {
        const purpose = `purpose-${i}`;
        calls.push({ p: vault.identify(row(good, DIM, i % 16), { purpose }), code: Status.UNKNOWN_PURPOSE, text: purpose });
        break;
      }
      case 2: {
        const probe = Float32Array.from(row(good, DIM, i % 16));
        probe[i] = NaN;
        calls.push({ p: vault.identify(probe, PURPOSE), code: Status.NON_FINITE_VALUE, text: `component ${i}` });
        break;
      }
      default: // success interleaved with the failures
        calls.push({ p: vault.identify(row(good, DIM, i % 16), PURPOSE), ok: ids[spread(16, 4)[i % 16]] });
    }
  }
  const settled = await Promise.allSettled(calls.map((c) => c.p));
  settled.forEach((s, i) => {
    const c = calls[i];
    if (c.ok) {
      assert.equal(s.status, 'fulfilled', `call ${i}: ${s.reason}`);
      assert.equal(s.value[0].facialId, c.ok, `call ${i}`);
      return;
    }
    assert.equal(s.status, 'rejected', `call ${i} should fail`);
    assert.ok(s.reason instanceof FidexError, `call ${i}: ${s.reason}`);
    assert.equal(s.reason.code, c.code, `call ${i}: ${s.reason.message}`);
    assert.ok(s.reason.message.includes(c.text), `call ${i}: "${s.reason.message}" should mention "${c.text}"`);
  });
});

test('searches run alongside an enrollment batch and a commit on the same vault', async (t) => {
  const small = await Vault.create(path.join(tempDir(), 'rw'), VaultKey.generate(), { dimension: DIM, duplicateThreshold: null });
  const base = identities(600, DIM, 77);
  const consent = JSON.stringify(consentFor('rw'));
  const first = await small.enrollMany(base.subarray(0, 300 * DIM), new Array(300).fill(consent));
  const which = spread(300, 5).map((j) => j % 300);
  const probes = captures(base, DIM, which, 15);
  const searches = which.slice(0, 48).map((j, i) => small.identify(row(probes, DIM, i), PURPOSE));
  const more = small.enrollMany(base.subarray(300 * DIM), new Array(300).fill(consent));
  const commit = more.then(() => small.commit());
  const [results, second, info] = await Promise.all([Promise.all(searches), more, commit]);
  results.forEach((m, i) => assert.equal(m[0].facialId, first[which[i]]));
  assert.equal(info.generation >= 1, true);
  assert.equal(small.size, 600);
  const late = captures(base, DIM, [450], 16);
  assert.equal((await small.identify(late, PURPOSE))[0].facialId, second[150]);
  await small.close();
});

test('close() while async searches are in flight: each search completes or gets ClosedError, later calls get ClosedError', async (t) => {
  const small = await Vault.create(path.join(tempDir(), 'close'), VaultKey.generate(), { dimension: DIM, duplicateThreshold: null });
  const base = identities(2000, DIM, 88);
  const enrolled = await small.enrollMany(base, new Array(2000).fill(JSON.stringify(consentFor('c'))));
  const which = spread(32, 6).map((j) => j % 2000);
  const probes = captures(base, DIM, which, 17);
  const before = which.slice(0, 16).map((_, i) => small.identify(row(probes, DIM, i), PURPOSE));
  const closing = small.close();
  // Issued after close() but before it completes: the core decides which ran first.
  const racing = which.slice(16).map((_, i) => small.identify(row(probes, DIM, 16 + i), PURPOSE));
  const settled = await Promise.allSettled([...before, ...racing]);
  await closing;
  let completed = 0;
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') {
      assert.equal(s.value[0].facialId, enrolled[which[i]]);
      completed++;
    } else {
      assert.ok(s.reason instanceof ClosedError, `search ${i}: ${s.reason}`);
    }
  });
  t.diagnostic(`${completed} of ${settled.length} searches completed before close, the rest got ClosedError`);
  await assert.rejects(small.identify(row(probes, DIM, 0), PURPOSE), ClosedError);
  assert.throws(() => small.identifySync(row(probes, DIM, 0), PURPOSE), ClosedError);
});

test('a Vault garbage-collected with uncommitted enrollments warns, frees its lock, and discards them', (t) => {
  const vaultPath = path.join(tempDir(), 'gc');
  const script = `
    import { Vault, VaultKey } from ${JSON.stringify(path.join(PACKAGE_DIR, 'index.mjs'))};
    import { consentFor, identities, row } from ${JSON.stringify(path.join(PACKAGE_DIR, 'test', 'helpers.mjs'))};
    const warnings = [];
    process.on('warning', (w) => { if (w.code === 'FIDEX_UNCOMMITTED') warnings.push(w.message); });
    const key = VaultKey.generate();
    const faces = identities(3, 8, 5);
    await (async () => {
      const v = await Vault.create(process.argv[1], key, { dimension: 8 });
      await v.enroll(row(faces, 8, 0), consentFor('a'));
      await v.enroll(row(faces, 8, 1), consentFor('b'));
      const tidy = await Vault.create(process.argv[1] + '-tidy', key, { dimension: 8 });
      await tidy.enroll(row(faces, 8, 2), consentFor('c'));
      await tidy.close();
    })();
    for (let i = 0; i < 100 && warnings.length === 0; i++) { gc(); await new Promise((r) => setTimeout(r, 10)); }
    for (let i = 0; i < 10; i++) { gc(); await new Promise((r) => setTimeout(r, 10)); }
    console.log(JSON.stringify(warnings));
    const again = await Vault.open(process.argv[1], key);
    const tidy = await Vault.open(process.argv[1] + '-tidy', key);
    console.log(again.size, tidy.size);
    await again.close(); await tidy.close();
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script, vaultPath], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [warningsLine, sizes] = r.stdout.trim().split('\n');
  const warnings = JSON.parse(warningsLine);
  assert.equal(warnings.length, 1, `warnings: ${warningsLine}`);
  assert.match(warnings[0], /2 uncommitted enrollment/);
  assert.equal(sizes, '0 1', 'the lock was released; uncommitted enrollments discarded, the closed vault kept its one');
  fs.rmSync(`${vaultPath}-tidy`, { recursive: true, force: true });
});

test('a process exiting with uncommitted enrollments says so on stderr (finalizers do not run at exit)', (t) => {
  const vaultPath = path.join(tempDir(), 'exit');
  const script = `
    import { Vault, VaultKey } from ${JSON.stringify(path.join(PACKAGE_DIR, 'index.mjs'))};
    import { consentFor, identities, row } from ${JSON.stringify(path.join(PACKAGE_DIR, 'test', 'helpers.mjs'))};
    const faces = identities(2, 8, 6);
    const key = VaultKey.generate();
    const kept = await Vault.create(process.argv[1], key, { dimension: 8 });
    await kept.enroll(row(faces, 8, 0), consentFor('a'));
    const closed = await Vault.create(process.argv[1] + '-closed', key, { dimension: 8 });
    await closed.enroll(row(faces, 8, 1), consentFor('b'));
    await closed.close();
    globalThis.keep = kept;
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, vaultPath], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l.includes('uncommitted'));
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0].includes(`1 uncommitted enrollment(s) in the Vault ${vaultPath};`), lines[0]);
  fs.rmSync(`${vaultPath}-closed`, { recursive: true, force: true });
});
