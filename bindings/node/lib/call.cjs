'use strict';
// Calling the C ABI: every fallible function gets a fresh `fidex_error **` as its last
// argument, and a failure is turned into a FidexError right where the call returned, from
// that call's own error object (never from a second call or a thread-local).

const { fn, signature } = require('./native.cjs');
const { takeError } = require('./errors.cjs');

/**
 * Inputs of the async calls in flight. koffi passes a typed array's memory to the worker
 * thread without copying it; the entry here keeps the arrays (and the handles' owner
 * objects) reachable until the call has completed, so the garbage collector cannot free
 * memory the worker is still reading. Exposed for the tests.
 */
const inFlight = new Set();

function fallible(name) {
  const sig = signature[name];
  if (!sig) throw new Error(`fidex: the loaded header declares no ${name}`);
  if (!sig.fallible) throw new Error(`fidex: ${name} does not take an out_error`);
  return fn[name];
}

/**
 * Calls `name(...args, &err)` on this thread; throws the call's FidexError on failure.
 * Out-parameters are among `args` (koffi fills arrays / typed arrays in place).
 */
function call(name, ...args) {
  const err = [null];
  const status = fallible(name)(...args, err);
  if (status !== 0) throw takeError(status, err[0]);
}

/**
 * Calls `name(...args, &err)` on a libuv worker thread (koffi's `.async`). Resolves when
 * the call succeeded, after koffi copied the out-parameters back on the main thread;
 * rejects with the FidexError of this very call. `keep` lists objects that must stay
 * alive until then besides `args` (e.g. the Vault whose handle is in `args`).
 */
function callAsync(name, keep, ...args) {
  const f = fallible(name);
  // The caller's stack, for errors: the completion callback runs from the event loop.
  const site = {};
  Error.captureStackTrace(site, callAsync);
  return new Promise((resolve, reject) => {
    const err = [null];
    const entry = { name, args, keep };
    inFlight.add(entry);
    try {
      f.async(...args, err, (koffiError, status) => {
        inFlight.delete(entry);
        if (koffiError) reject(koffiError);
        else if (status !== 0) reject(withStack(takeError(status, err[0]), site));
        else resolve();
      });
    } catch (e) {
      // Argument conversion failed before anything ran.
      inFlight.delete(entry);
      reject(e);
    }
  });
}

function withStack(error, site) {
  const frames = String(site.stack).split('\n').slice(1).join('\n');
  error.stack = `${error.name}: ${error.message}\n${frames}`;
  return error;
}

module.exports = { call, callAsync, inFlight };
