"""The GIL is released during library calls: searches from two threads run in parallel."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

import fidex
from conftest import Faces

N, D = 40_000, 512


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A 40k x 512 vault whose searches use one thread each (search_threads=1), so two
    concurrent searches can only finish sooner than two sequential ones if they really run
    at the same time on two cores."""
    faces = Faces(N, D, seed=5)
    consent = fidex.explicit_consent("s", "Acme", "https://acme.example/p", ["identification"])
    key = fidex.VaultKey.generate()
    v = fidex.Vault.create(tmp_path_factory.mktemp("big") / "v", key, dim=D, duplicate_threshold=None, search_threads=1)
    for start in range(0, N, 20_000):
        v.enroll_many(faces.centres[start:start + 20_000], [consent] * 20_000)
    yield v, faces
    v.discard()


def _search(v, probes, out=None):
    for p in probes:
        hits = v.identify(p, k=10)
        if out is not None:
            out.append(hits[0].facial_id)


def test_other_python_threads_run_during_a_call(big):
    v, faces = big
    probes = faces.captures(np.arange(300))
    v.identify_batch(probes[:10], k=10)  # warm up
    ticks = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    time.sleep(0.05)
    best = 0
    for _ in range(3):
        before = ticks[0]
        t0 = time.perf_counter()
        v.identify_batch(probes, k=10)  # one long C call (~0.5 s single-threaded)
        took = time.perf_counter() - t0
        best = max(best, ticks[0] - before)
    stop.set()
    t.join()
    print(f"\npure-Python loop iterations during one {took * 1e3:.0f} ms identify_batch call: {best}")
    # With the GIL held for the call the spinning thread could not run at all (~0 ticks).
    assert best > 10_000


def test_two_threads_search_in_parallel(big):
    v, faces = big
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs 2 cores")
    m = 40
    probes = [faces.captures(np.arange(i * m, (i + 1) * m)) for i in range(2)]
    _search(v, probes[0][:5])  # warm up
    results = []
    for attempt in range(3):  # best of 3: the machine is shared
        t0 = time.perf_counter()
        _search(v, probes[0])
        _search(v, probes[1])
        sequential = time.perf_counter() - t0
        found: list = [[], []]
        threads = [threading.Thread(target=_search, args=(v, probes[i], found[i])) for i in range(2)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        concurrent = time.perf_counter() - t0
        assert len(found[0]) == len(found[1]) == m
        results.append((concurrent / sequential, sequential, concurrent))
    ratio, sequential, concurrent = min(results)
    print(f"\n2 x {m} searches of {N} x {D}: sequential {sequential * 1e3:.0f} ms, two threads {concurrent * 1e3:.0f} ms, "
          f"ratio {ratio:.2f} (1.0 = no parallelism, 0.5 = perfect); load {os.getloadavg()[0]:.2f}")
    # Serialised by a lock the ratio would be >= 1.0; on 2 idle cores it is ~0.5.
    assert ratio < 0.8, results


@pytest.mark.parametrize("how", ["close", "discard"])
def test_close_or_discard_while_threads_search(tmp_path, how):
    """close() waits for calls in progress (in C), discard() (in the binding) before freeing;
    searches that start afterwards raise ClosedError; nothing crashes."""
    faces = Faces(4000, 128, seed=9)
    consent = fidex.explicit_consent("s", "Acme", "https://acme.example/p", ["identification"])
    key = fidex.VaultKey.generate()
    v = fidex.Vault.create(tmp_path / "v", key, dim=128, duplicate_threshold=None)
    v.enroll_many(faces.centres, [consent] * 4000)
    probes = faces.captures(np.arange(50))
    outcome: list = []
    started = threading.Barrier(5)

    def worker():
        done = 0
        started.wait()
        try:
            while True:
                v.identify_batch(probes, k=5)
                done += 1
        except fidex.ClosedError as e:
            outcome.append(("closed", done, e.name))
        except BaseException as e:  # anything else is a failure
            outcome.append(("error", done, repr(e)))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.2)
    getattr(v, how)()
    for t in threads:
        t.join(timeout=30)
    assert len(outcome) == 4 and all(o[0] == "closed" and o[2] == "FIDEX_CLOSED" for o in outcome), outcome
    assert sum(o[1] for o in outcome) > 0
    reopened = fidex.Vault.open(tmp_path / "v", key)  # the lock was released either way
    assert len(reopened) == (4000 if how == "close" else 0)  # close commits, discard does not
    reopened.close()
