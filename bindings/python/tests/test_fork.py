"""fork(): children of a parent that searched keep searching with its vault (same results);
their changes are refused with LockedError."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

import fidex
from conftest import Faces

N, D = 20_000, 256
_VAULT = None  # inherited by the forked children
_FACES = None


def _child_search(rows):
    probes = _FACES.captures_fixed[rows]
    single = [[(h.facial_id, h.score) for h in _VAULT.identify(p, k=5, threshold=-1.0)] for p in probes]
    batch = _VAULT.identify_batch(probes, k=5, threshold=-1.0)
    return single, batch.ids.tobytes(), batch.scores.tobytes()


def _child_enroll(_):
    consent = fidex.explicit_consent("child", "Acme", "https://acme.example/p", ["identification"])
    try:
        _VAULT.enroll(_FACES.centres[0] * -1, consent)
    except fidex.FidexError as e:
        return e  # pickled back to the parent
    return None


def test_children_search_like_the_parent_and_cannot_write(tmp_path):
    global _VAULT, _FACES
    faces = Faces(N, D, seed=13)
    faces.captures_fixed = faces.captures(np.arange(64))
    consent = fidex.explicit_consent("s", "Acme", "https://acme.example/p", ["identification"])
    v = fidex.Vault.create(tmp_path / "v", fidex.VaultKey.generate(), dim=D, duplicate_threshold=None)
    ids = v.enroll_many(faces.centres, [consent] * N)
    v.commit()
    # The parent searches first (its search thread pool exists before the fork).
    rows = [np.arange(i * 16, (i + 1) * 16) for i in range(4)]
    _VAULT, _FACES = v, faces
    expected = [_child_search(r) for r in rows]
    assert expected[0][0][0][0][0] == ids[0]  # probe 0 is a capture of identity 0
    ctx = multiprocessing.get_context("fork")
    try:
        with ctx.Pool(2) as pool:
            got = pool.map_async(_child_search, rows).get(timeout=120)
            refused = pool.map_async(_child_enroll, [0, 1]).get(timeout=60)
    finally:
        _VAULT = _FACES = None
    assert got == expected
    for e in refused:
        assert isinstance(e, fidex.LockedError), e
        assert e.name == "FIDEX_LOCKED" and "fork" in e.message
    # The parent is unaffected: it still writes and commits.
    v.enroll(faces.captures([1])[0] * -1, consent)
    v.commit()
    assert len(v) == N + 1
    v.close()
