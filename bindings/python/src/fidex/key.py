"""Vault keys (`fidex_key`)."""

from __future__ import annotations

from typing import Any

from ._call import call, call_text, text_arg
from ._native import ffi, lib


class VaultKey:
    """A vault's 256-bit secret key. Immutable; usable from any thread and by many vaults.

    >>> key = VaultKey.generate()
    >>> VaultKey.from_text(key.export_text()).fingerprint == key.fingerprint
    True

    The C key is zeroized when this object is garbage-collected. Text or bytes you export
    are Python objects that cannot be wiped: store them like a password and drop them.
    """

    __slots__ = ("_ptr", "__weakref__")

    def __init__(self, _ptr: Any) -> None:
        # Not public: use generate(), from_text() or from_bytes().
        self._ptr = ffi.gc(_ptr, lib.fidex_key_free)

    @classmethod
    def generate(cls) -> "VaultKey":
        """A new key from the operating system's CSPRNG."""
        out = ffi.new("fidex_key **")
        call(lib.fidex_key_generate, out)
        return cls(out[0])

    @classmethod
    def from_text(cls, text: str) -> "VaultKey":
        """Parses `export_text()` output (checksummed; surrounding whitespace ignored)."""
        raw = text_arg(text)
        out = ffi.new("fidex_key **")
        call(lib.fidex_key_import_text, raw, len(raw), out)
        return cls(out[0])

    @classmethod
    def from_bytes(cls, secret: bytes) -> "VaultKey":
        """A key from exactly 32 raw bytes (e.g. unwrapped from a KMS)."""
        buf = ffi.from_buffer("uint8_t[]", secret)
        out = ffi.new("fidex_key **")
        call(lib.fidex_key_from_bytes, buf, len(buf), out)
        return cls(out[0])

    def export_text(self) -> str:
        """The key as one line of text (`fidex-key-1:...`): the secret, store it safely."""
        return call_text(lib.fidex_key_export_text, self._ptr)

    def expose_secret(self) -> bytes:
        """The 32 raw key bytes (prefer export_text for storage)."""
        buf = ffi.new("uint8_t[]", 32)
        call(lib.fidex_key_expose_secret, self._ptr, buf, 32)
        return bytes(ffi.buffer(buf, 32))

    @property
    def fingerprint(self) -> str:
        """Public 16-hex-digit fingerprint, safe to log."""
        return call_text(lib.fidex_key_fingerprint, self._ptr)

    def __repr__(self) -> str:
        return f"VaultKey(fingerprint={self.fingerprint})"
