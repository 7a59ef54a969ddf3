"""Many handles on one vault: one writer, read-only handles beside it (in this process and in
another one), writers waiting for the lock, bad open options, stray files."""

from __future__ import annotations

import datetime
import math
import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any, List

import numpy as np
import pytest

import fidex
from conftest import Faces, consent_for

D = 128


def _ids(hits: List[fidex.Match]) -> List[Any]:
    return [h.facial_id for h in hits]


def _writer(path: Path, key: fidex.VaultKey) -> fidex.Vault:
    return fidex.Vault.create(path, key, dim=D, match_threshold=0.6)


def test_reader_beside_writer_in_one_process(vault_path, key, faces):
    w = _writer(vault_path, key)
    a = w.enroll(faces.centres[0], consent_for("a"))
    w.commit()

    # The writer holds the lock: another writer is refused, a reader opens beside it.
    with pytest.raises(fidex.LockedError) as locked:
        fidex.Vault.open(vault_path, key)
    assert locked.value.name == "FIDEX_LOCKED" and type(locked.value) is fidex.LockedError
    r = fidex.Vault.open(vault_path, key, read_only=True, refresh_interval=None)  # explicit refresh only
    assert r.read_only and not w.read_only
    assert r.stats()["read_only"] is True and w.stats()["read_only"] is False
    assert "read-only" in repr(r)
    assert _ids(r.identify(faces.capture(0), k=3)) == [a]

    # Every change through the reader is refused with the read-only error.
    for change in (
        lambda: r.enroll(faces.centres[1], consent_for("b")),
        lambda: r.enroll_many(faces.centres[1:3], [consent_for("b"), consent_for("c")]),
        lambda: r.delete(a),
        lambda: r.withdraw_consent(a),
        lambda: r.commit(),
        lambda: r.purge_expired(),
        lambda: r.remove_stray_files(),
    ):
        with pytest.raises(fidex.ReadOnlyError) as e:
            change()
        assert isinstance(e.value, fidex.LockedError)
        assert (e.value.code, e.value.name) == (1028, "FIDEX_READ_ONLY")
    assert len(r) == 1 and len(w) == 1

    # The writer enrolls and commits; the reader sees it after refresh().
    b = w.enroll(faces.centres[1], consent_for("b"), payload=b"user-b")
    w.commit()
    assert r.refresh() is True
    hits = r.identify(faces.capture(1), k=3, payloads=True)
    assert _ids(hits) == [b] and hits[0].payload == b"user-b"
    assert b in r and len(r) == 2
    assert r.refresh() is False  # nothing new

    # The writer deletes (committed when delete returns); after refresh no match.
    w.delete(a)
    assert r.refresh() is True
    assert r.identify(faces.capture(0), k=3) == []
    assert a not in r and b in r and len(r) == 1
    assert r.verify(b, faces.capture(1)).matched
    with pytest.raises(fidex.NotFoundError):
        r.verify(a, faces.capture(0))
    assert r.refresh() is False
    assert w.refresh() is False  # a writer is always current

    # Closing the reader commits nothing and raises nothing; the writer goes on.
    r.close()
    r.close()
    with pytest.raises(fidex.ClosedError):
        r.identify(faces.capture(1))
    w.close()

    # Readers take no lock: a writer opens while a reader is open.
    with fidex.Vault.open(vault_path, key, read_only=True) as r2:
        with fidex.Vault.open(vault_path, key) as w2:
            assert len(w2) == 1 and not w2.read_only
        assert _ids(r2.identify(faces.capture(1))) == [b]


def _reader_process(path: str, key_text: str, probes: np.ndarray, conn: Any) -> None:
    """Child process: a read-only handle with a 100 ms refresh interval; searches each
    probe whenever the parent says "search", after sleeping the given seconds."""
    try:
        key = fidex.VaultKey.from_text(key_text)
        with fidex.Vault.open(path, key, read_only=True, refresh_interval=0.1) as r:
            while True:
                msg = conn.recv()
                if msg is None:
                    break
                time.sleep(msg)
                conn.send([[str(h.facial_id) for h in r.identify(p, k=3)] for p in probes])
        conn.send("closed")
    except BaseException as e:  # reported to the parent, which fails the test
        conn.send(f"error: {e!r}")


def _ask(conn: Any, sleep: float) -> Any:
    conn.send(sleep)
    assert conn.poll(60), "the reader process did not answer"
    answer = conn.recv()
    assert not isinstance(answer, str), answer
    return answer


def test_reader_in_another_process_follows_the_writer(vault_path, key, faces):
    w = _writer(vault_path, key)
    a, b = w.enroll_many(faces.centres[0:2], [consent_for("a"), consent_for("b")])
    w.commit()
    probes = faces.captures([0, 1, 2])

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_reader_process, args=(str(vault_path), key.export_text(), probes, child))
    p.start()
    try:
        # The reader opened beside this process's writer (which holds the lock).
        assert _ask(parent, 0.0) == [[str(a)], [str(b)], []]

        w.delete(a)  # committed when it returns
        c = w.enroll(faces.centres[2], consent_for("c"))
        w.commit()
        # A search starting more than one refresh interval (100 ms) later sees both.
        assert _ask(parent, 0.25) == [[], [str(b)], [str(c)]]

        w.delete(b)
        assert _ask(parent, 0.25) == [[], [], [str(c)]]

        parent.send(None)
        assert parent.poll(60) and parent.recv() == "closed"
    finally:
        p.join(10)  # on success the child has exited already
        if p.is_alive():
            p.kill()
            p.join()
    assert p.exitcode == 0
    w.close()


def test_lock_wait(vault_path, key):
    w1 = _writer(vault_path, key)
    timer = threading.Timer(0.3, w1.close)
    t0 = time.monotonic()
    timer.start()
    try:
        w2 = fidex.Vault.open(vault_path, key, lock_wait=2.0)
    finally:
        timer.join()
    waited = time.monotonic() - t0
    assert 0.25 <= waited < 2.0, waited
    assert not w2.read_only and len(w2) == 0

    # Without lock_wait a second writer fails at once (within the library's short grace).
    t0 = time.monotonic()
    with pytest.raises(fidex.LockedError) as e:
        fidex.Vault.open(vault_path, key)
    assert e.value.name == "FIDEX_LOCKED" and time.monotonic() - t0 < 1.5
    # With a wait shorter than the holder's, it fails after waiting.
    t0 = time.monotonic()
    with pytest.raises(fidex.LockedError) as e:
        fidex.Vault.open(vault_path, key, lock_wait=datetime.timedelta(milliseconds=400))
    assert e.value.name == "FIDEX_LOCKED" and time.monotonic() - t0 >= 0.35
    w2.close()


def test_bad_open_options_are_refused(vault_path, key):
    _writer(vault_path, key).close()
    for options in (
        {"lock_wait": -1},
        {"lock_wait": -0.001},
        {"lock_wait": math.nan},
        {"lock_wait": math.inf},
        {"lock_wait": datetime.timedelta(seconds=-1)},
        {"refresh_interval": -0.5},
        {"refresh_interval": math.nan},
        {"read_only": True, "refresh_interval": -math.inf},
    ):
        with pytest.raises(fidex.InvalidInputError) as e:
            fidex.Vault.open(vault_path, key, **options)
        assert isinstance(e.value, ValueError) and e.value.name == "FIDEX_INVALID_ARGUMENT"
        assert ("lock_wait" if "lock_wait" in options else "refresh_interval") in e.value.message
    for options in ({"lock_wait": "1"}, {"lock_wait": True}, {"refresh_interval": "1s"}, {"read_only": 1}):
        with pytest.raises(TypeError):
            fidex.Vault.open(vault_path, key, **options)
    with pytest.raises(TypeError):
        fidex.Vault.open(vault_path, key, True)  # the options are keywords
    # Nothing was left open: a writer gets the lock; zero waits are fine.
    with fidex.Vault.open(vault_path, key, lock_wait=0, refresh_interval=0) as v:
        assert not v.read_only


def test_stray_files_block_the_writer_until_removed(vault_path, key, faces):
    with _writer(vault_path, key) as w:
        w.enroll(faces.centres[0], consent_for("a"))
    old_manifest = (vault_path / "fidex.vault").read_bytes()
    with fidex.Vault.open(vault_path, key) as w:
        assert w.stats()["stray_files"] == [] and w.remove_stray_files() == []
        w.enroll(faces.centres[1], consent_for("b"))
    # Roll the manifest back: the newer files are explained by no manifest.
    (vault_path / "fidex.vault").write_bytes(old_manifest)

    with fidex.Vault.open(vault_path, key, read_only=True) as r:
        strays = r.stats()["stray_files"]
        assert strays and len(r) == 1  # searching still works
        with pytest.raises(fidex.ReadOnlyError):
            r.remove_stray_files()
    w = fidex.Vault.open(vault_path, key)
    assert sorted(w.stats()["stray_files"]) == sorted(strays)
    with pytest.raises(fidex.CorruptError):
        w.enroll(faces.centres[2], consent_for("c"))
    assert all((vault_path / name).exists() for name in strays)
    assert sorted(w.remove_stray_files()) == sorted(strays)
    assert not any((vault_path / name).exists() for name in strays)
    assert w.stats()["stray_files"] == []
    c = w.enroll(faces.centres[2], consent_for("c"))
    w.close()
    with fidex.Vault.open(vault_path, key, read_only=True) as r:
        assert len(r) == 2 and c in r


def test_default_open_is_unchanged(vault_path, key, faces):
    with _writer(vault_path, key) as w:
        a = w.enroll(faces.centres[0], consent_for("a"))
    with fidex.Vault.open(vault_path, key) as w:
        assert not w.read_only and w.stats()["read_only"] is False and a in w
        w.enroll(faces.centres[1], consent_for("b"))
    with fidex.Vault.open(vault_path, key, read_only=False, refresh_interval=1.0) as w:
        assert len(w) == 2


def test_matches_seen_by_a_reader_reach_the_writers_retention(vault_path, key, faces):
    w = fidex.Vault.create(vault_path, key, dim=D, match_threshold=0.6, retention_secs=3600)
    a = w.enroll(faces.centres[0], consent_for("a"))
    w.commit()
    before = w.retention_deadline(a)
    time.sleep(1.1)  # deadlines are in whole seconds
    with fidex.Vault.open(vault_path, key, read_only=True) as r:
        seen = int(time.time())
        assert _ids(r.identify(faces.capture(0))) == [a]
    # The reader reported its match when it was closed; the writer folds it in at commit.
    w.commit()
    after = w.retention_deadline(a)
    assert after > before and after >= seen + 3600 - 1
    w.close()
