"""A face login with fidex from Python, fully typed (checked with `mypy --strict` by test.sh).

Run: python examples/typed_example.py   (creates a vault in a temporary directory)
Embeddings come from a face model in a real app (insightface, deepface...); here they are
seeded synthetic "identity-clustered" unit vectors.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path
from typing import List

import numpy as np
import numpy.typing as npt

import fidex

DIM = 512


def unit(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return np.ascontiguousarray(x / np.linalg.norm(x, axis=-1, keepdims=True), dtype=np.float32)


def main(workdir: Path) -> int:
    rng = np.random.default_rng(42)
    people = unit(rng.standard_normal((3, DIM), dtype=np.float32))
    probe = unit(people[1] + rng.standard_normal(DIM, dtype=np.float32) * np.float32(0.5 / np.sqrt(DIM)))

    key = fidex.VaultKey.generate()  # store key.export_text() in your secret store
    with fidex.Vault.create(workdir / "faces", key, dim=DIM, match_threshold=0.6) as vault:
        consents = [
            fidex.explicit_consent(f"user-{i}", "Acme", "https://acme.example/privacy",
                                   ["authentication", "identification"])
            for i in range(3)
        ]
        ids: List[uuid.UUID] = vault.enroll_many(people, consents, payloads=[b"alice", b"bob", b"carol"])
        vault.commit()
        hits: List[fidex.Match] = vault.identify(probe, k=3, payloads=True)
        assert hits and hits[0].facial_id == ids[1] and hits[0].payload == b"bob"
        check: fidex.Verification = vault.verify(ids[1], probe)
        assert check.matched
        batch: fidex.BatchMatches = vault.identify_batch(np.stack([probe, people[0]]), k=1)
        assert batch.facial_ids(0) == [ids[1]] and batch.facial_ids(1) == [ids[0]]
        receipt: fidex.Receipt = vault.delete(ids[1])
        published_key: str = vault.verification_key
        try:
            vault.enroll(probe.astype(np.float64), consents[1])  # wrong dtype: refused
        except ValueError as e:
            print(f"refused as expected: {e}")
        try:
            vault.verify(ids[1], probe)
        except fidex.NotFoundError as e:
            print(f"deleted: {e.name} ({e.code})")
        # A worker process would open the vault read-only beside this writer.
        with fidex.Vault.open(workdir / "faces", key, read_only=True, refresh_interval=0.5) as reader:
            changed: bool = reader.refresh()
            seen: List[fidex.Match] = reader.identify(people[0], k=1)
            assert reader.read_only and not changed and [m.facial_id for m in seen] == [ids[0]]
            try:
                reader.delete(ids[0])
            except fidex.ReadOnlyError as e:
                print(f"read-only handle: {e.name} ({e.code})")
    print(f"deletion receipt verifies offline: {fidex.verify_receipt(receipt, published_key)}")
    return 0


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        sys.exit(main(Path(d)))
