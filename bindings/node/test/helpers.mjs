// Shared test helpers: seeded identity-clustered synthetic faces (as examples/c/login.c:
// each identity a random unit centre, each capture centre + small Gaussian noise,
// renormalised), temporary directories, consents, the CLI.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { explicitConsent, library } from '../index.mjs';

export const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = path.resolve(PACKAGE_DIR, '..', '..');
export const FIXTURES = path.join(REPO_ROOT, 'tests', 'fixtures', 'kantara');

/** Seeded PRNG (mulberry32) with a Gaussian (Box-Muller). */
export function rng(seed) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  // Box-Muller, both outputs used.
  let spare = null;
  const gauss = () => {
    if (spare !== null) {
      const g = spare;
      spare = null;
      return g;
    }
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const a = 2 * Math.PI * uniform();
    spare = r * Math.sin(a);
    return r * Math.cos(a);
  };
  return { uniform, gauss };
}

function normalise(v, at, dim) {
  let n = 0;
  for (let i = 0; i < dim; i++) n += v[at + i] * v[at + i];
  n = Math.sqrt(n);
  for (let i = 0; i < dim; i++) v[at + i] /= n;
}

/** `count` identity centres, one Float32Array of count × dim (row i = identity i). */
export function identities(count, dim, seed) {
  const r = rng(seed);
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < dim; j++) out[i * dim + j] = r.gauss();
    normalise(out, i * dim, dim);
  }
  return out;
}

/** One capture per listed identity (centre + noise 0.5/sqrt(dim) per component, renormalised), rows in list order. */
export function captures(centres, dim, which, seed) {
  const r = rng(seed);
  const noise = 0.5 / Math.sqrt(dim);
  const out = new Float32Array(which.length * dim);
  which.forEach((id, row) => {
    for (let j = 0; j < dim; j++) out[row * dim + j] = centres[id * dim + j] + noise * r.gauss();
    normalise(out, row * dim, dim);
  });
  return out;
}

export function row(matrix, dim, i) {
  return matrix.subarray(i * dim, (i + 1) * dim);
}

/**
 * A fresh temporary directory, removed when the process exits (after every test's own
 * after-hooks, e.g. the close() of a vault inside it, have run).
 */
export function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fidex-node-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const NOW = () => Math.floor(Date.now() / 1000);

export function consentFor(subject, purposes = ['authentication', 'identification'], extra = {}) {
  const c = explicitConsent({ subject, controller: 'Acme Corp', policyUrl: 'https://acme.example/privacy', purposes, timestamp: NOW() - 60 });
  return { ...c, ...extra };
}

export function fixture(name) {
  return fs.readFileSync(path.join(FIXTURES, name), 'utf8');
}

/** The fidex CLI built next to the library (cargo build --release --bin fidex), or FIDEX_CLI. */
export function cliPath() {
  if (process.env.FIDEX_CLI) return process.env.FIDEX_CLI;
  return path.join(path.dirname(library.library), 'fidex');
}

/** Runs `fidex receipt verify FILE --key KEYFILE`; returns {status, stdout, stderr}. */
export function cliVerify(receiptFile, keyFile) {
  try {
    const stdout = execFileSync(cliPath(), ['receipt', 'verify', receiptFile, '--key', keyFile], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: 0, stdout, stderr: '' };
  } catch (e) {
    if (e.code === 'ENOENT') throw new Error(`the fidex CLI is needed for this test: build it with cargo build --release --bin fidex, or set FIDEX_CLI (looked for ${cliPath()})`);
    return { status: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}
