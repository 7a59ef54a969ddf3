'use strict';
// Ownership of a C handle (fidex_key *, fidex_vault *) by a JS object.
//
// The C rule: `*_free` must not race with any other use of the handle. Async calls run on
// worker threads, so a handle is "in use" from the moment an async call is issued until
// it completes. A Handle counts those uses; an explicit dispose() while calls are in
// flight frees when the last one completes. If the owner object is garbage-collected
// (it cannot be while one of its async calls is in flight: the call keeps it reachable),
// a FinalizationRegistry frees the handle, after the owner's `beforeFree` hook (the Vault
// uses it to warn about uncommitted enrollments, which fidex_vault_free discards).

const registry = new FinalizationRegistry((handle) => handle.finalize());

class Handle {
  #ptr;
  #free;
  #beforeFree;
  #users = 0;
  #disposeRequested = false;
  #what;
  #onFree = null;

  /**
   * @param {bigint} ptr the C handle
   * @param {(ptr: bigint) => void} free its `*_free`
   * @param {object} owner the JS object that owns it
   * @param {string} what name for messages ("VaultKey")
   * @param {((ptr: bigint) => void) | null} beforeFree called before a GC-triggered free
   */
  constructor(ptr, free, owner, what, beforeFree = null) {
    this.#ptr = ptr;
    this.#free = free;
    this.#what = what;
    this.#beforeFree = beforeFree;
    registry.register(owner, this, this);
  }

  /** Called once, after the handle was freed (explicitly or by the GC). */
  set onFree(callback) {
    this.#onFree = callback;
  }

  /** The pointer if the handle is alive, else null (no throw; for exit-time checks). */
  peek() {
    return this.alive ? this.#ptr : null;
  }

  get alive() {
    return this.#ptr !== null && !this.#disposeRequested;
  }

  /** The pointer, for a synchronous call. */
  get ptr() {
    if (!this.alive) throw new TypeError(`this ${this.#what} was disposed`);
    return this.#ptr;
  }

  /** The pointer, for an async call: release() when it completes. */
  acquire() {
    const p = this.ptr;
    this.#users++;
    return p;
  }

  release() {
    this.#users--;
    if (this.#users === 0 && this.#disposeRequested) this.#freeNow();
  }

  /** Frees now, or when the async calls in flight have completed. Idempotent. */
  dispose() {
    if (this.#ptr === null || this.#disposeRequested) return;
    this.#disposeRequested = true;
    registry.unregister(this);
    if (this.#users === 0) this.#freeNow();
  }

  /** Called by the FinalizationRegistry once the owner is unreachable. */
  finalize() {
    if (this.#ptr === null) return;
    try {
      if (this.#beforeFree) this.#beforeFree(this.#ptr);
    } finally {
      this.#freeNow();
    }
  }

  #freeNow() {
    const p = this.#ptr;
    this.#ptr = null;
    if (p !== null) this.#free(p);
    if (this.#onFree) this.#onFree();
  }
}

module.exports = { Handle };
