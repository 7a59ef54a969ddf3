"""Exceptions, generated at import from the library's `fidex_constants_json()`.

One class per status *family* of the table (invalid_input, consent, purpose_not_covered,
duplicate, not_found, wrong_key, corrupt, io, quota, already_exists, locked,
verification_failed, closed, not_committed, internal), named mechanically
`<CamelCaseFamily>Error` (`consent` -> `ConsentError`, `io` -> `IoError`), all subclasses of
`FidexError`. No status number is written in this file: codes, names, families and static
messages all come from the loaded library, so a new status or family shows up here without
a code change (a test checks `errors.pyi`, which mypy reads, against the generated classes).

Python-side extra bases, so that generic handlers work too: `invalid_input` errors are also
`ValueError`, `not_found` errors `LookupError`, `io` errors `OSError`.

A few statuses callers single out also get a class of their own, a subclass of their
family's (so `except LockedError` still catches them): `ReadOnlyError` for
FIDEX_READ_ONLY (a change through a read-only handle, `Vault.open(..., read_only=True)`).
They are listed by status *name* in `_STATUS_CLASSES` (no number here either).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple, Type

from ._native import TABLE, ffi, lib


class FidexError(Exception):
    """Base class of every error the fidex library reports.

    Attributes:
        code: the numeric status (`fidex_status`), the same number Rust, C, Node and Go see.
        name: the status name, e.g. ``"FIDEX_CONSENT_EXPIRED"``.
        message: the detailed message of the call that failed (what was wrong, what to do).
        status_message: the static description of ``code``.
        item: for batch calls (`Vault.enroll_many`), the index of the refused item, else None.
    """

    family: str = ""

    def __init__(self, message: str, *, code: int, name: str, status_message: str, item: Optional[int] = None):
        super().__init__(message)
        self.code = code
        self.name = name
        self.message = message
        self.status_message = status_message
        self.item = item

    def __str__(self) -> str:
        # The core's message already names a refused batch item ("batch item 3: ...").
        return f"{self.message} [{self.name} {self.code}]"

    def __reduce__(self) -> Any:  # picklable across multiprocessing
        return (_rebuild, (type(self).family, self.message, self.code, self.name, self.status_message, self.item))


_EXTRA_BASES: Dict[str, Tuple[type, ...]] = {
    "invalid_input": (ValueError,),
    "not_found": (LookupError,),
    "io": (OSError,),
}


def class_name(family: str) -> str:
    """The exception class name of a status family: ``"wrong_key"`` -> ``"WrongKeyError"``."""
    return "".join(part.capitalize() for part in family.split("_")) + "Error"


BY_FAMILY: Dict[str, Type[FidexError]] = {}
#: Classes of single statuses (by status name), subclasses of their family's class.
BY_STATUS: Dict[str, Type[FidexError]] = {}
# status name -> (class name, docstring); the family comes from the table.
_STATUS_CLASSES: Dict[str, Tuple[str, str]] = {
    "FIDEX_READ_ONLY": (
        "ReadOnlyError",
        "A change (enroll, delete, commit, ...) through a read-only handle "
        "(`Vault.open(..., read_only=True)`): FIDEX_READ_ONLY. Also a LockedError.",
    ),
}
_BY_CODE: Dict[int, Tuple[Type[FidexError], str, str]] = {}


def _generate() -> List[str]:
    members: Dict[str, List[str]] = {}
    for status in TABLE["status"]:
        if status["family"] != "ok":
            members.setdefault(status["family"], []).append(status["name"])
    names = []
    for family, statuses in members.items():
        cls = type(
            class_name(family),
            (FidexError, *_EXTRA_BASES.get(family, ())),
            {
                "__doc__": f"fidex errors of family '{family}': {', '.join(statuses)}.",
                "__module__": __name__,
                "family": family,
            },
        )
        BY_FAMILY[family] = cls
        globals()[cls.__name__] = cls
        names.append(cls.__name__)
    for status in TABLE["status"]:
        if status["family"] == "ok":
            continue
        cls = BY_FAMILY[status["family"]]
        special = _STATUS_CLASSES.get(status["name"])
        if special is not None:
            cls = type(special[0], (cls,), {"__doc__": special[1], "__module__": __name__, "family": status["family"]})
            BY_STATUS[status["name"]] = cls
            globals()[cls.__name__] = cls
            names.append(cls.__name__)
        _BY_CODE[status["code"]] = (cls, status["name"], status["message"])
    return names


GENERATED = _generate()

# The spellings used in the issue that asked for this binding, as aliases.
PurposeNotCovered = BY_FAMILY["purpose_not_covered"]
NotFound = BY_FAMILY["not_found"]
CorruptVaultError = BY_FAMILY["corrupt"]


def error_for(code: int, message: str, item: Optional[int] = None) -> FidexError:
    """The exception for status `code` with the detailed `message`."""
    found = _BY_CODE.get(code)
    if found is None:  # a code this binding's library does not list: still a FidexError
        return BY_FAMILY["internal"](message, code=code, name=f"FIDEX_STATUS_{code}", status_message="unknown status code", item=item)
    cls, name, status_message = found
    return cls(message or status_message, code=code, name=name, status_message=status_message, item=item)


def take_error(status: int, err: Any) -> FidexError:
    """Converts the `fidex_error *` of a failed call into an exception and frees it."""
    if err == ffi.NULL:
        return error_for(status, ffi.string(lib.fidex_status_message(status)).decode("utf-8", "replace"))
    try:
        code = int(lib.fidex_error_code(err)) or status
        message = ffi.string(lib.fidex_error_message(err)).decode("utf-8", "replace")
        item = int(lib.fidex_error_item(err))
    finally:
        lib.fidex_error_free(err)
    return error_for(code, message, item if item >= 0 else None)


def _rebuild(family: str, message: str, code: int, name: str, status_message: str, item: Optional[int]) -> FidexError:
    cls = BY_STATUS.get(name, BY_FAMILY[family])
    return cls(message, code=code, name=name, status_message=status_message, item=item)


__all__ = ["FidexError", "BY_FAMILY", "BY_STATUS", "class_name", "error_for", "PurposeNotCovered", "NotFound", "CorruptVaultError", *GENERATED]
