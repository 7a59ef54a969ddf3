// Many handles on one vault: read-only handles beside the writer (same process, and a
// forked process following the writer's commits within its refresh interval), writers
// waiting for the lock (lockWaitMs), ReadOnlyError for every change through a read-only
// handle, and Vault.open's options checked before the core sees them.
//
// This file is also the reader process: run with FIDEX_RO_READER=1 (child_process.fork) it
// opens the vault read-only and answers the parent's search requests over IPC.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Vault, VaultKey, LockedError, ReadOnlyError, ClosedError, FidexError, Status } from '../index.mjs';
import { identities, captures, row, tempDir, consentFor } from './helpers.mjs';

const DIM = 64;
const PEOPLE = 4;
const THRESHOLD = 0.6;
const ident = { purpose: 'identification', k: 3 };

/** Identity centres, enrolled captures and (other) probe captures of PEOPLE people. */
function faces(seed) {
  const centres = identities(PEOPLE, DIM, seed);
  const which = Array.from({ length: PEOPLE }, (_, i) => i);
  return { enrolled: captures(centres, DIM, which, seed + 1), probes: captures(centres, DIM, which, seed + 2) };
}

async function newVault(seed) {
  const vaultPath = path.join(tempDir(), 'faces');
  const key = VaultKey.generate();
  const writer = await Vault.create(vaultPath, key, { dimension: DIM, matchThreshold: THRESHOLD });
  return { vaultPath, key, writer, ...faces(seed) };
}

const ids = (matches) => matches.map((m) => m.facialId);

// ---- the reader process -------------------------------------------------------------

async function readerProcess() {
  const { vaultPath, keyText, refreshIntervalMs } = JSON.parse(process.env.FIDEX_RO_READER);
  const key = VaultKey.importText(keyText);
  let vault;
  try {
    vault = await Vault.open(vaultPath, key, { readOnly: true, refreshIntervalMs });
  } catch (e) {
    process.send({ error: `${e.name}: ${e.message}` });
    process.disconnect();
    return;
  }
  process.send({ ready: true, readOnly: vault.readOnly, statsReadOnly: vault.stats().read_only });
  process.on('message', async (msg) => {
    try {
      if (msg.cmd === 'identify') {
        const matches = await vault.identify(Float32Array.from(msg.probe), ident);
        process.send({ matches: ids(matches) });
      } else if (msg.cmd === 'enroll') {
        await vault.enroll(Float32Array.from(msg.probe), consentFor('intruder'));
        process.send({ error: null });
      } else if (msg.cmd === 'exit') {
        try {
          await vault.close();
        } finally {
          process.disconnect();
        }
        process.exitCode = 0;
      }
    } catch (e) {
      if (process.connected) process.send({ error: e.name, status: e.status, locked: e instanceof LockedError });
      else process.exitCode = 3;
    }
  });
}

/** Forks this file as a reader of `vaultPath`; `ask(msg)` sends one request and resolves to the reply. */
function startReader(vaultPath, key, refreshIntervalMs) {
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: [],
    env: { ...process.env, FIDEX_RO_READER: JSON.stringify({ vaultPath, keyText: key.exportText(), refreshIntervalMs }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies = [];
  const waiting = [];
  child.on('message', (m) => (waiting.length ? waiting.shift().resolve(m) : replies.push(m)));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  exited.then(({ code, signal }) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`reader process exited (code ${code}, signal ${signal})`));
  });
  const next = () => (replies.length ? Promise.resolve(replies.shift()) : new Promise((resolve, reject) => waiting.push({ resolve, reject })));
  const ask = (msg) => {
    child.send(msg);
    return next();
  };
  return { child, next, ask, exited };
}

if (process.env.FIDEX_RO_READER) {
  await readerProcess();
} else {
  // ---- tests ------------------------------------------------------------------------

  test('read-only handle beside the writer in one process: refuses changes, follows commits on refresh()', { timeout: 60_000 }, async (t) => {
    const { vaultPath, key, writer, enrolled, probes } = await newVault(21);
    t.after(() => writer.close().catch(() => {}));
    const a = await writer.enroll(row(enrolled, DIM, 0), consentFor('a'));
    await writer.commit();

    // The writer holds the lock: a second writer is refused, a read-only handle opens.
    await assert.rejects(Vault.open(vaultPath, key), (e) => e instanceof LockedError && !(e instanceof ReadOnlyError) && e.code === Status.LOCKED);
    const reader = await Vault.open(vaultPath, key, { readOnly: true, refreshIntervalMs: null });
    t.after(() => reader.close().catch(() => {}));
    assert.equal(reader.readOnly, true);
    assert.equal(writer.readOnly, false);
    assert.equal(reader.stats().read_only, true);
    assert.equal(writer.stats().read_only, false);
    assert.deepEqual(writer.stats().stray_files, []);
    assert.deepEqual(ids(await reader.identify(row(probes, DIM, 0), ident)), [a]);

    // Every change through the reader: ReadOnlyError (code 1028, also a LockedError).
    const isReadOnly = (e) => e instanceof ReadOnlyError && e instanceof LockedError && e instanceof FidexError && e.code === 1028 && e.status === 'READ_ONLY';
    await assert.rejects(reader.enroll(row(enrolled, DIM, 1), consentFor('b')), isReadOnly);
    assert.throws(() => reader.enrollSync(row(enrolled, DIM, 1), consentFor('b')), isReadOnly);
    await assert.rejects(reader.delete(a), isReadOnly);
    await assert.rejects(reader.removeStrayFiles(), isReadOnly);
    assert.equal(reader.size, 1, 'the refused changes changed nothing');
    assert.ok(writer.contains(a));

    // Nothing committed since the reader opened: refresh() says so.
    assert.equal(await reader.refresh(), false);

    // The writer enrolls b and commits; with refreshIntervalMs null the reader sees it only after refresh().
    const b = await writer.enroll(row(enrolled, DIM, 1), consentFor('b'));
    await writer.commit();
    assert.deepEqual(ids(await reader.identify(row(probes, DIM, 1), ident)), [], 'no automatic refresh with refreshIntervalMs: null');
    assert.equal(await reader.refresh(), true);
    assert.deepEqual(ids(await reader.identify(row(probes, DIM, 1), ident)), [b]);
    assert.equal(reader.size, 2);
    assert.equal(await reader.refresh(), false, 'nothing new');

    // The writer deletes a: after refresh() the reader no longer matches it.
    await writer.delete(a);
    await writer.commit();
    assert.equal(await reader.refresh(), true);
    assert.deepEqual(ids(await reader.identify(row(probes, DIM, 0), ident)), []);
    assert.equal(reader.contains(a), false);
    assert.deepEqual(ids(await reader.identify(row(probes, DIM, 1), ident)), [b]);
    assert.equal(await reader.refresh(), false);

    // A writer is always current; it has no stray files to remove.
    assert.equal(await writer.refresh(), false);
    assert.deepEqual(await writer.removeStrayFiles(), []);

    // Closing the reader (it has nothing to commit) leaves the writer working.
    await reader.close();
    await assert.rejects(reader.identify(row(probes, DIM, 1), ident), ClosedError);
    await writer.enroll(row(enrolled, DIM, 2), consentFor('c'));
    await writer.commit();
    assert.equal(writer.size, 2);
  });

  test('read-only handle in another process: finds an enrolled template, and stops matching it a refresh interval after its deletion', { timeout: 60_000 }, async (t) => {
    const INTERVAL = 100;
    const { vaultPath, key, writer, enrolled, probes } = await newVault(31);
    t.after(() => writer.close().catch(() => {}));
    const [a, b] = await writer.enrollMany(enrolled.subarray(0, 2 * DIM), [consentFor('a'), consentFor('b')]);
    await writer.commit();

    const reader = startReader(vaultPath, key, INTERVAL);
    t.after(() => reader.child.kill());
    const hello = await reader.next();
    assert.deepEqual(hello, { ready: true, readOnly: true, statsReadOnly: true });
    const search = async (i) => (await reader.ask({ cmd: 'identify', probe: Array.from(row(probes, DIM, i)) })).matches;

    // While this process's writer holds the vault, the reader finds both.
    assert.deepEqual(await search(0), [a]);
    assert.deepEqual(await search(1), [b]);
    assert.deepEqual(await reader.ask({ cmd: 'enroll', probe: Array.from(row(enrolled, DIM, 2)) }), { error: 'ReadOnlyError', status: 'READ_ONLY', locked: true });

    // The writer deletes a (commit returned); a search starting more than one interval later never matches it.
    await writer.delete(a);
    await writer.commit();
    await sleep(INTERVAL * 2.5);
    assert.deepEqual(await search(0), [], 'the deleted template no longer matches in the reader process');
    assert.deepEqual(await search(1), [b], 'the other one still does');

    // And it follows enrollments the same way.
    const c = await writer.enroll(row(enrolled, DIM, 2), consentFor('c'));
    await writer.commit();
    await sleep(INTERVAL * 2.5);
    assert.deepEqual(await search(2), [c]);

    reader.child.send({ cmd: 'exit' });
    assert.deepEqual(await reader.exited, { code: 0, signal: null });
  });

  test('lockWaitMs: a second writer waits for the first to close; without it, LockedError at once', { timeout: 60_000 }, async (t) => {
    const { vaultPath, key, writer } = await newVault(41);
    t.after(() => writer.close().catch(() => {}));

    const started = Date.now();
    await assert.rejects(Vault.open(vaultPath, key), (e) => e instanceof LockedError && e.status === 'LOCKED');
    await assert.rejects(Vault.open(vaultPath, key, {}), LockedError, 'empty options: a writer, no wait');
    await assert.rejects(Vault.open(vaultPath, key, { lockWaitMs: 0 }), LockedError);
    assert.ok(Date.now() - started < 1500, 'no waiting without lockWaitMs');

    // A short wait that runs out: LockedError after about that long.
    const shortWait = Date.now();
    await assert.rejects(Vault.open(vaultPath, key, { lockWaitMs: 200 }), LockedError);
    assert.ok(Date.now() - shortWait >= 150, `waited ${Date.now() - shortWait} ms for a 200 ms lockWaitMs`);

    // The first writer closes ~300 ms from now; the second, waiting up to 2 s, gets the vault.
    const closed = sleep(300).then(() => writer.close());
    const waitStart = Date.now();
    const second = await Vault.open(vaultPath, key, { lockWaitMs: 2000 });
    const waited = Date.now() - waitStart;
    t.after(() => second.close().catch(() => {}));
    await closed;
    assert.ok(waited >= 200 && waited < 2000, `opened after ${waited} ms`);
    assert.equal(second.readOnly, false);
    assert.equal(second.stats().read_only, false);
    await second.enroll(faces(42).enrolled.subarray(0, DIM), consentFor('z'));
    await second.commit();
    assert.equal(second.size, 1);
  });

  test('Vault.open options are checked: negative or NaN durations, wrong types, unknown keys', { timeout: 60_000 }, async (t) => {
    const { vaultPath, key, writer } = await newVault(51);
    await writer.close();
    for (const bad of [{ lockWaitMs: -1 }, { lockWaitMs: NaN }, { lockWaitMs: Infinity }, { refreshIntervalMs: -0.5 }, { refreshIntervalMs: NaN }]) {
      await assert.rejects(Vault.open(vaultPath, key, bad), RangeError, JSON.stringify(bad));
    }
    for (const bad of [{ lockWaitMs: '100' }, { refreshIntervalMs: '1s' }, { lockWaitMs: null }, { readOnly: 'yes' }, { readOnly: 1 }, { readonly: true }, { lockWait: 5 }, null, 'read_only', [true]]) {
      await assert.rejects(Vault.open(vaultPath, key, bad), TypeError, JSON.stringify(bad));
    }
    // Valid options open (fractions of a millisecond round up); the lock was free all along.
    const reader = await Vault.open(vaultPath, key, { readOnly: true, refreshIntervalMs: 0.5, lockWaitMs: undefined });
    assert.equal(reader.readOnly, true);
    await reader.close();
    const w = await Vault.open(vaultPath, key, { readOnly: false, lockWaitMs: 10.2, refreshIntervalMs: 1000 });
    t.after(() => w.close().catch(() => {}));
    assert.equal(w.readOnly, false);
  });
}
