"""Lifecycle: enroll, identify, verify, batch calls, commit/reopen, delete, purge, export,
rotation, context manager semantics."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

import fidex
from conftest import PURPOSES, Faces, consent_for


def enroll_people(vault: fidex.Vault, faces: Faces, n: int) -> list:
    return [vault.enroll(faces.centres[i], consent_for(f"user-{i}"), payload=f"user-{i}") for i in range(n)]


def test_identify_returns_the_person_whose_capture_was_probed(vault, faces):
    ids = enroll_people(vault, faces, 20)
    assert len(vault) == 20 and vault.uncommitted == 20
    for person in range(20):
        hits = vault.identify(faces.capture(person), k=3)
        assert hits, f"person {person} not found"
        assert hits[0].facial_id == ids[person]
        assert isinstance(hits[0].facial_id, uuid.UUID)
        assert hits[0].score > 0.8
        assert all(h.score >= 0.6 for h in hits)  # vault threshold 0.6 (impostors ~0 are excluded)
        assert hits[0].payload is None


def test_identify_with_payloads_and_explicit_threshold(vault, faces):
    ids = enroll_people(vault, faces, 5)
    hits = vault.identify(faces.capture(2), k=5, payloads=True)
    assert [(h.facial_id, h.payload) for h in hits] == [(ids[2], b"user-2")]
    # A threshold below every impostor's score returns k matches, best first.
    many = vault.identify(faces.capture(2), k=5, threshold=-1.0)
    assert len(many) == 5 and many[0].facial_id == ids[2]
    assert [m.score for m in many] == sorted((m.score for m in many), reverse=True)
    # An unknown face matches nobody at the vault threshold.
    stranger = Faces(1, 128, seed=99).capture(0)
    assert vault.identify(stranger, k=5) == []


def test_verify_genuine_and_impostor(vault, faces):
    ids = enroll_people(vault, faces, 3)
    genuine = vault.verify(ids[1], faces.capture(1))
    assert genuine.matched and bool(genuine) and genuine.threshold == pytest.approx(0.6)
    impostor = vault.verify(ids[1], faces.capture(2))
    assert not impostor.matched and impostor.score < 0.3
    strict = vault.verify(ids[1], faces.capture(1), threshold=0.999)
    assert not strict.matched and strict.threshold == pytest.approx(0.999)


def test_enroll_many_and_identify_batch(vault, faces):
    n = 40
    consents = [consent_for(f"user-{i}") for i in range(n)]
    ids = vault.enroll_many(faces.centres[:n], consents, payloads=[f"p{i}".encode() for i in range(n)])
    assert len(ids) == n == len(set(ids)) == len(vault)
    who = np.array([5, 0, 39, 17, 5])
    res = vault.identify_batch(faces.captures(who), k=4)
    assert len(res) == 5
    assert res.ids.shape == (5, 4, 16) and res.ids.dtype == np.uint8
    assert res.scores.shape == (5, 4) and res.scores.dtype == np.float32
    assert res.counts.tolist() == [1, 1, 1, 1, 1]
    for row, person in enumerate(who):
        assert res.facial_ids(row) == [ids[person]]
        assert uuid.UUID(bytes=res.ids[row, 0].tobytes()) == ids[person]
        assert np.isnan(res.scores[row, 1:]).all() and not res.ids[row, 1:].any()
    assert res.uuids()[2] == [ids[39]]
    assert fidex.uuids_from_bytes(res.ids[:, 0]) == [ids[p] for p in who]
    # Same answers as single identify calls, and payloads travel with the batch.
    withpay = vault.identify_batch(faces.captures(who), k=2, threshold=-1.0, payloads=True)
    assert withpay.counts.tolist() == [2] * 5
    for row, person in enumerate(who):
        assert withpay.payloads[row][0] == f"p{person}".encode()
        assert withpay.matches(row)[0] == fidex.Match(ids[person], float(withpay.scores[row, 0]), f"p{person}".encode())


def test_commit_reopen_keeps_everything(vault_path, key, faces):
    with fidex.Vault.create(vault_path, key, dim=128) as v:
        ids = enroll_people(v, faces, 10)
        probe = faces.capture(4)
        before = v.identify(probe, k=3)
        vid = v.vault_id
    with fidex.Vault.open(vault_path, key) as v:
        assert len(v) == 10 and v.vault_id == vid and v.dimension == 128
        assert v.identify(probe, k=3) == before
        assert v.payload(ids[4]) == b"user-4"
        assert v.consent(ids[4])["piiPrincipalId"] == "user-4"
        assert ids[4] in v and uuid.uuid4() not in v and str(ids[4]) in v and ids[4].bytes in v
        assert v.config()["dimension"] == 128
    assert fidex.read_header(vault_path)["dimension"] == 128


def test_facial_ids_pages_through_every_id(vault_path, key):
    faces = Faces(2500, 16, seed=3)
    with fidex.Vault.create(vault_path, key, dim=16, duplicate_threshold=None) as v:
        ids = v.enroll_many(faces.centres, [consent_for(f"s{i}") for i in range(2500)])
        listed = list(v.facial_ids())
        assert len(listed) == 2500 and set(listed) == set(ids)  # 3 pages of 1024
        assert listed == sorted(listed, key=lambda u: u.bytes)


def test_delete_withdraw_delete_many(vault, faces):
    ids = enroll_people(vault, faces, 6)
    vault.commit()
    r = vault.delete(ids[0])
    assert isinstance(r, fidex.Receipt) and isinstance(r, str) and r.kind == "deletion"
    assert fidex.verify_receipt(r, vault.verification_key) == "deletion"
    assert ids[0] not in vault and len(vault) == 5
    assert all(h.facial_id != ids[0] for h in vault.identify(faces.capture(0), k=5, threshold=-1.0))
    with pytest.raises(fidex.NotFoundError) as e:
        vault.delete(ids[0])
    assert e.value.name == "FIDEX_NOT_FOUND" and isinstance(e.value, LookupError)
    w = vault.withdraw_consent(ids[1])
    assert fidex.verify_receipt(w, vault.verification_key) == "deletion"
    many = vault.delete_many([ids[2], str(ids[3])], reason="admin")
    assert len(many) == 2 and all(fidex.verify_receipt(x, vault.verification_key) == "deletion" for x in many)
    assert len(vault) == 2
    with pytest.raises(ValueError):
        vault.delete(ids[4], reason="because")


def test_purge_expired_at_a_future_time(vault, faces):
    ids = enroll_people(vault, faces, 3)
    vault.commit()
    now = int(time.time())
    assert vault.expired(now) == []
    deadline = vault.retention_deadline(ids[0])
    assert deadline > now + 365 * 24 * 3600  # 3-year default retention
    due = vault.expired(deadline + 1)
    assert sorted(f for f, _ in due) == sorted(ids)
    purged = vault.purge_expired(now=deadline + 1)
    assert len(purged) == 3 and len(vault) == 0
    assert all(fidex.verify_receipt(r, vault.verification_key) == "deletion" for r in purged)


def test_enrollment_receipt_only_after_commit(vault, faces):
    fid = vault.enroll(faces.centres[0], consent_for("u0"))
    with pytest.raises(fidex.NotCommittedError):
        vault.enrollment_receipt(fid)
    vault.commit()
    r = vault.enrollment_receipt(fid)
    assert r.kind == "enrollment" and fidex.verify_receipt(r, vault.verification_key) == "enrollment"


def test_export_subject_stats_records(vault, faces):
    ids = enroll_people(vault, faces, 4)
    vault.commit()
    exp = vault.export_subject(ids[2], include_template=True)
    assert exp["facial_id"] == str(ids[2])
    assert np.allclose(np.asarray(exp["template"], dtype=np.float32), faces.centres[2], atol=1e-5)
    assert vault.export_subject(ids[2])["template"] is None
    st = vault.stats()
    assert st["templates"] == 4 and st["uncommitted"] == 0 and st["consents_by_purpose"]["identification"] == 4
    assert any(e["event"] == "record_exported" for e in vault.audit_entries())
    assert vault.processing_record()
    assert len(vault.key_fingerprint) == 16


def test_rotate_key_old_key_refused_old_receipts_still_verify(vault_path, key, faces):
    new_key = fidex.VaultKey.generate()
    with fidex.Vault.create(vault_path, key, dim=128) as v:
        ids = enroll_people(v, faces, 3)
        v.commit()
        old_vk = v.verification_key
        receipt = v.delete(ids[0])
        v.rotate_key(new_key)
        assert v.key_fingerprint == new_key.fingerprint
        assert v.verification_key != old_vk and v.previous_verification_keys() == [old_vk]
    with pytest.raises(fidex.WrongKeyError):
        fidex.Vault.open(vault_path, key)
    with fidex.Vault.open(vault_path, new_key) as v:
        assert len(v) == 2
        assert v.identify(faces.capture(1), k=1)[0].facial_id == ids[1]
    assert fidex.verify_receipt(receipt, old_vk) == "deletion"


def test_tree_heads_and_consistency(vault, faces):
    enroll_people(vault, faces, 2)
    vault.commit()
    old = vault.tree_head()
    enroll_people(vault, Faces(3, 128, seed=11), 3)
    vault.commit()
    new = vault.tree_head()
    import json

    old_size, new_size = json.loads(old)["log_size"], json.loads(new)["log_size"]
    proof = vault.consistency_proof(old_size, new_size)
    fidex.verify_consistency(old, new, proof, vault.verification_key)
    with pytest.raises(fidex.VerificationFailedError):
        fidex.verify_consistency(new, old, proof, vault.verification_key)


def test_context_manager_commits_on_success(vault_path, key, faces):
    with fidex.Vault.create(vault_path, key, dim=128) as v:
        fid = v.enroll(faces.centres[0], consent_for("u0"))
    with pytest.raises(fidex.ClosedError):
        len(v)
    v.close()  # a second close is a no-op
    with fidex.Vault.open(vault_path, key) as v:
        assert fid in v


def test_context_manager_does_not_commit_on_exception(vault_path, key, faces):
    with fidex.Vault.create(vault_path, key, dim=128) as v:
        kept = v.enroll(faces.centres[0], consent_for("u0"))
    with pytest.raises(RuntimeError):
        with fidex.Vault.open(vault_path, key) as v:
            lost = v.enroll(faces.centres[1], consent_for("u1"))
            assert len(v) == 2
            raise RuntimeError("boom")
    with pytest.raises(fidex.ClosedError):
        v.identify(faces.capture(0))
    # The lock was released (open works) and the enrollment of the failed block is gone.
    with fidex.Vault.open(vault_path, key) as v:
        assert kept in v and lost not in v and len(v) == 1


def test_closed_vault_refuses_calls(vault, faces):
    vault.close()
    with pytest.raises(fidex.ClosedError) as e:
        vault.enroll(faces.centres[0], consent_for("x"))
    assert e.value.code == fidex._native.lib.FIDEX_CLOSED  # the header's define, not the JSON table
    assert e.value.name == "FIDEX_CLOSED"
