"""numpy in: float32 C-contiguous arrays go in without a copy; nothing else is read."""

from __future__ import annotations

import array

import numpy as np
import pytest

import fidex
from fidex import _arrays
from conftest import Faces, consent_for


def test_float32_goes_in_without_a_copy():
    a = np.ones(128, dtype=np.float32)
    ptr, n, keep = _arrays.vector(a)
    assert n == 128 and keep is a
    assert int(fidex._native.ffi.cast("uintptr_t", ptr)) == a.ctypes.data  # the array's own memory
    m = np.ones((7, 128), dtype=np.float32)
    ptr, rows, _ = _arrays.matrix(m, 128)
    assert rows == 7 and int(fidex._native.ffi.cast("uintptr_t", ptr)) == m.ctypes.data


@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int32, np.int64, np.uint8, ">f4"])
def test_other_dtypes_are_refused_and_nothing_is_enrolled(vault, faces, dtype):
    wrong = faces.centres[0].astype(dtype)
    with pytest.raises(ValueError, match="float32"):
        vault.enroll(wrong, consent_for("x"))
    with pytest.raises(ValueError, match="float32"):
        vault.identify(wrong)
    with pytest.raises(ValueError, match="float32"):
        vault.enroll_many(faces.centres[:2].astype(dtype), [consent_for("a"), consent_for("b")])
    assert len(vault) == 0


def test_float64_is_never_read_as_float32(vault, faces):
    """A (64,) float64 array has the bytes of 128 float32s: it must be refused, not searched."""
    fid = vault.enroll(faces.centres[0], consent_for("x"))
    disguised = faces.capture(0)[:64].astype(np.float64)
    assert disguised.nbytes == 128 * 4
    with pytest.raises(ValueError):
        vault.identify(disguised)
    # Explicit conversion is the caller's choice and works.
    assert vault.identify(np.asarray(faces.capture(0), dtype=np.float32))[0].facial_id == fid


def test_non_contiguous_and_wrong_shapes(vault, faces):
    m = np.ascontiguousarray(np.repeat(faces.centres[:4], 2, axis=1))  # (4, 256)
    with pytest.raises(ValueError, match="C-contiguous"):
        vault.identify(m[0, ::2])  # a strided view with 128 elements
    with pytest.raises(ValueError, match="C-contiguous"):
        vault.identify_batch(np.asfortranarray(faces.centres[:4]))
    with pytest.raises(ValueError, match="1-D"):
        vault.enroll(faces.centres[:1], consent_for("x"))
    with pytest.raises(ValueError, match="2-D"):
        vault.enroll_many(faces.centres[0], [consent_for("x")])
    # (2, 64) has 128 floats: the core would read one template; the binding refuses the shape.
    with pytest.raises(ValueError, match="64 columns"):
        vault.enroll_many(np.ascontiguousarray(faces.centres[0].reshape(2, 64)), [consent_for("a"), consent_for("b")])
    with pytest.raises(ValueError, match="consents"):
        vault.enroll_many(faces.centres[:3], [consent_for("a")])
    with pytest.raises(TypeError, match="float32"):
        vault.identify(faces.centres[0].tolist())
    assert len(vault) == 0


def test_dimension_nan_inf_zero_are_the_cores_errors(vault, faces):
    cases = {
        "FIDEX_DIMENSION_MISMATCH": np.ones(127, dtype=np.float32),
        "FIDEX_NON_FINITE_VALUE": np.full(128, np.nan, dtype=np.float32),
        "FIDEX_ZERO_VECTOR": np.zeros(128, dtype=np.float32),
    }
    inf = faces.centres[0].copy()
    inf[5] = np.inf
    for name, v in list(cases.items()) + [("FIDEX_NON_FINITE_VALUE", inf)]:
        with pytest.raises(fidex.InvalidInputError) as e:
            vault.enroll(v, consent_for("x"))
        assert e.value.name == name and isinstance(e.value, ValueError)
        with pytest.raises(fidex.InvalidInputError) as e:
            vault.identify(v)
        assert e.value.name == name
    assert len(vault) == 0


def test_buffers_and_read_only_arrays_are_accepted(vault, faces):
    fid = vault.enroll(array.array("f", faces.centres[0].tolist()), consent_for("x"))
    probe = faces.capture(0)
    probe.setflags(write=False)
    assert vault.identify(probe)[0].facial_id == fid
    assert vault.identify(memoryview(probe))[0].facial_id == fid


def test_enroll_many_names_the_refused_item_and_enrolls_nothing(vault, faces):
    batch = faces.centres[:6].copy()
    batch[3, 7] = np.nan
    with pytest.raises(fidex.InvalidInputError) as e:
        vault.enroll_many(batch, [consent_for(f"s{i}") for i in range(6)])
    assert e.value.item == 3 and e.value.name == "FIDEX_NON_FINITE_VALUE" and "item 3" in str(e.value)
    consents = [consent_for(f"s{i}") for i in range(6)]
    consents[4] = {"not": "a receipt"}
    with pytest.raises(fidex.ConsentError) as e:
        vault.enroll_many(faces.centres[:6], consents)
    assert e.value.item == 4
    twins = np.ascontiguousarray(faces.centres[[0, 1, 0]])
    with pytest.raises(fidex.DuplicateError) as e:
        vault.enroll_many(twins, [consent_for(f"t{i}") for i in range(3)])
    assert e.value.item == 2
    assert len(vault) == 0 and vault.uncommitted == 0


def test_k_and_threshold_arguments(vault, faces):
    vault.enroll(faces.centres[0], consent_for("x"))
    with pytest.raises(ValueError):
        vault.identify(faces.capture(0), k=-1)
    with pytest.raises(TypeError):
        vault.identify(faces.capture(0), k=2.5)  # type: ignore[arg-type]
    for k in (0, fidex.CONSTANTS["FIDEX_MAX_K"] + 1):
        with pytest.raises(fidex.InvalidInputError):
            vault.identify(faces.capture(0), k=k)
        with pytest.raises(fidex.InvalidInputError):
            vault.identify_batch(faces.captures([0, 0]), k=k)
    with pytest.raises(fidex.InvalidInputError) as e:
        vault.identify(faces.capture(0), threshold=float("nan"))
    assert e.value.name == "FIDEX_INVALID_ARGUMENT"
    with pytest.raises(TypeError):
        vault.identify(faces.capture(0), threshold="0.5")  # type: ignore[arg-type]
