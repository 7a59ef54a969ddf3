"""Exception classes come from fidex_constants_json(); each failure carries its own call's
code and message; the header/library pair is checked at load."""

from __future__ import annotations

import ast
import pickle
import shutil
from pathlib import Path

import pytest

import fidex
from fidex import _loader, _native, errors
from conftest import consent_for

STUB = Path(errors.__file__).with_suffix(".pyi")


def test_one_class_per_family_of_the_table():
    families = {s["family"] for s in _native.TABLE["status"]} - {"ok"}
    assert families == set(errors.BY_FAMILY)
    assert len(families) >= 15
    for s in _native.TABLE["status"]:
        if s["family"] == "ok":
            continue
        e = errors.error_for(s["code"], "detail")
        assert type(e) is errors.BY_STATUS.get(s["name"], errors.BY_FAMILY[s["family"]])
        assert isinstance(e, errors.BY_FAMILY[s["family"]])
        assert (e.code, e.name, e.status_message) == (s["code"], s["name"], s["message"])
        assert e.code == getattr(_native.lib, s["name"])  # the table agrees with the header
        assert isinstance(e, fidex.FidexError)
    assert issubclass(fidex.InvalidInputError, ValueError)
    assert issubclass(fidex.NotFoundError, LookupError)
    assert issubclass(fidex.IoError, OSError)
    assert fidex.NotFound is fidex.NotFoundError and fidex.CorruptVaultError is fidex.CorruptError


def test_stub_declares_exactly_the_generated_classes():
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    declared = {n.name for n in tree.body if isinstance(n, ast.ClassDef)} - {"FidexError"}
    per_status = {c.__name__ for c in errors.BY_STATUS.values()}
    assert declared == set(errors.GENERATED) == {errors.class_name(f) for f in errors.BY_FAMILY} | per_status


def test_read_only_has_its_own_class_within_locked():
    e = errors.error_for(_native.lib.FIDEX_READ_ONLY, "read-only handle")
    assert type(e) is fidex.ReadOnlyError and isinstance(e, fidex.LockedError)
    assert (e.code, e.name) == (1028, "FIDEX_READ_ONLY")
    assert type(errors.error_for(_native.lib.FIDEX_LOCKED, "held")) is fidex.LockedError
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is fidex.ReadOnlyError and back.code == 1028 and back.message == e.message


def test_errors_pickle_across_processes():
    e = errors.error_for(_native.lib.FIDEX_LOCKED, "held by process 1", item=None)
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is fidex.LockedError and back.code == e.code and back.message == e.message


def test_wrong_key(vault_path, key, faces):
    with fidex.Vault.create(vault_path, key, dim=128) as v:
        v.enroll(faces.centres[0], consent_for("a"))
    with pytest.raises(fidex.WrongKeyError) as e:
        fidex.Vault.open(vault_path, fidex.VaultKey.generate())
    assert e.value.name == "FIDEX_WRONG_KEY" and e.value.message
    with fidex.Vault.open(vault_path, fidex.VaultKey.from_text(key.export_text())) as v:
        assert len(v) == 1


def test_locked_already_exists_not_a_vault(vault_path, key, tmp_path):
    v = fidex.Vault.create(vault_path, key, dim=128)
    with pytest.raises(fidex.LockedError) as e:
        fidex.Vault.open(vault_path, key)
    assert e.value.name == "FIDEX_LOCKED"
    with pytest.raises(fidex.AlreadyExistsError):
        fidex.Vault.create(vault_path, key, dim=128)
    v.close()
    fidex.Vault.open(vault_path, key).close()  # close released the lock
    with pytest.raises(fidex.NotFoundError) as e:
        fidex.Vault.open(tmp_path / "nothing-here", key)
    assert e.value.name == "FIDEX_NOT_A_VAULT"


def test_messages_belong_to_the_call(vault_path, key):
    with pytest.raises(fidex.InvalidInputError) as e:
        fidex.Vault.create(vault_path, key, dim=128, colour="blue")
    assert "colour" in e.value.message and e.value.name == "FIDEX_INVALID_CONFIG"
    with pytest.raises(fidex.InvalidInputError) as e:
        fidex.Vault.create(vault_path, key, dim=0)
    assert "dimension" in e.value.message
    with pytest.raises(fidex.InvalidInputError) as e:
        fidex.VaultKey.from_text("fidex-key-1:nonsense")
    assert e.value.name == "FIDEX_INVALID_KEY_TEXT"
    with pytest.raises(fidex.InvalidInputError):
        fidex.VaultKey.from_bytes(b"short")


def test_key_round_trips(key):
    assert fidex.VaultKey.from_bytes(key.expose_secret()).fingerprint == key.fingerprint
    assert fidex.VaultKey.from_text("  " + key.export_text() + "\n").fingerprint == key.fingerprint
    secret = key.export_text().split(":")[1]
    assert key.fingerprint in repr(key) and secret not in repr(key) and secret not in str(key)


def test_a_stale_header_is_refused(tmp_path):
    """A header whose constants differ from the library's (stale, or another build) must
    not load: cffi would otherwise make calls with wrong values."""
    text = Path(_native.CDEF_PATH).read_text(encoding="utf-8")
    assert "#define FIDEX_MAX_K 10000" in text
    stale = tmp_path / "stale_cdef.h"
    stale.write_text(text.replace("#define FIDEX_MAX_K 10000", "#define FIDEX_MAX_K 5000"), encoding="utf-8")
    with pytest.raises(_loader.LibraryMismatch, match="FIDEX_MAX_K"):
        _loader.load(_native.LIBRARY_PATH, str(stale))
    older = tmp_path / "older_cdef.h"
    older.write_text(text.replace("#define FIDEX_VERSION_MINOR 2", "#define FIDEX_VERSION_MINOR 1"), encoding="utf-8")
    with pytest.raises(_loader.LibraryMismatch, match="0.1.0"):
        _loader.load(_native.LIBRARY_PATH, str(older))
    _loader.load(_native.LIBRARY_PATH, _native.CDEF_PATH)  # the real pair loads
