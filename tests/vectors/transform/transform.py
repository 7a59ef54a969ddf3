#!/usr/bin/env python3
"""Cancelable-transform construction 2 of docs/FORMAT.md, written from that text alone
(standard library only), to show the specification is enough to recover templates.

    python3 tests/vectors/transform/transform.py            # checks construction-2.json
    python3 tests/vectors/transform/transform.py --write    # (re)writes it

The vector file holds, for a fixed vault key and vault id, input vectors and the exact
binary32 bits of the transformed vectors; `src/vault/transform.rs` checks fidex against it.
"""
import hashlib, hmac, json, struct, sys, os

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "construction-2.json")


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def f32(x: float) -> float:
    """Round a binary64 value to binary32 (round to nearest, ties to even)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def bits(x: float) -> str:
    return struct.pack("<f", x)[::-1].hex()


def from_bits(h: str) -> float:
    return struct.unpack("<f", bytes.fromhex(h)[::-1])[0]


class Stream:
    """block j = SHA-256("fidex/v2/transform-stream" || seed || j as u64 LE); u32 = 4 bytes LE."""

    def __init__(self, seed: bytes):
        self.seed, self.buf, self.counter = seed, b"", 0

    def u32(self) -> int:
        while len(self.buf) < 4:
            self.buf += hashlib.sha256(b"fidex/v2/transform-stream" + self.seed + struct.pack("<Q", self.counter)).digest()
            self.counter += 1
        x, self.buf = int.from_bytes(self.buf[:4], "little"), self.buf[4:]
        return x

    def uniform(self, n: int) -> int:
        limit = 2**32 - (2**32 % n)
        while True:
            x = self.u32()
            if x < limit:
                return x % n


def derive(key: bytes, vault_id: bytes, dim: int):
    seed = hkdf_sha256(key, vault_id, b"fidex/v1/cancelable-transform")
    s = Stream(seed)
    n_rounds = 2 * (max(dim, 2) - 1).bit_length() + 2
    rounds = []
    for _ in range(n_rounds):
        perm = list(range(dim))
        for i in range(dim - 1, 0, -1):
            j = s.uniform(i + 1)
            perm[i], perm[j] = perm[j], perm[i]
        signs = [1.0 if s.u32() & 1 == 0 else -1.0 for _ in range(dim)]
        rot = []
        for _ in range(dim // 2):
            t = s.u32() / 2147483648.0 - 1.0
            tt = t * t
            den = 1.0 + tt
            rot.append((f32((1.0 - tt) / den), f32((2.0 * t) / den)))
        rounds.append((perm, signs, rot))
    return rounds


def apply(rounds, x):
    v = [f32(a) for a in x]
    for perm, signs, rot in rounds:
        t = [f32(v[perm[i]] * signs[i]) for i in range(len(v))]
        for k, (c, s) in enumerate(rot):
            a, b = t[2 * k], t[2 * k + 1]
            t[2 * k] = f32(f32(c * a) - f32(s * b))
            t[2 * k + 1] = f32(f32(s * a) + f32(c * b))
        v = t
    return v


def invert(rounds, y):
    v = [f32(a) for a in y]
    for perm, signs, rot in reversed(rounds):
        v = list(v)
        for k, (c, s) in enumerate(rot):
            a, b = v[2 * k], v[2 * k + 1]
            v[2 * k] = f32(f32(c * a) + f32(s * b))
            v[2 * k + 1] = f32(f32(-s * a) + f32(c * b))
        t = [0.0] * len(v)
        for i in range(len(v)):
            t[perm[i]] = f32(v[i] * signs[i])
        v = t
    return v


def cases():
    key = bytes(range(32))
    vault_id = bytes.fromhex("00112233445566778899aabbccddeeff")
    out = []
    for dim in (1, 2, 5, 8, 33):
        x = [f32(((i * 7919) % 101 - 50) / 37.0) for i in range(dim)]
        if dim == 2:
            x = [f32(1.0), f32(-0.0)]
        r = derive(key, vault_id, dim)
        y = apply(r, x)
        out.append({
            "dim": dim,
            "input_f32_bits": [bits(a) for a in x],
            "transformed_f32_bits": [bits(a) for a in y],
            "inverted_f32_bits": [bits(a) for a in invert(r, y)],
            "first_round": {"perm": r[0][0], "signs": r[0][1], "cos_f32_bits": [bits(c) for c, _ in r[0][2]], "sin_f32_bits": [bits(s) for _, s in r[0][2]]},
        })
    return {
        "about": "Cancelable transform, construction 2 (docs/FORMAT.md). Written by tests/vectors/transform/transform.py from the specification; checked by src/vault/transform.rs.",
        "vault_key_hex": key.hex(),
        "vault_id_hex": vault_id.hex(),
        "seed_hex": hkdf_sha256(key, vault_id, b"fidex/v1/cancelable-transform").hex(),
        "cases": out,
    }


if __name__ == "__main__":
    text = json.dumps(cases(), indent=2) + "\n"
    if "--write" in sys.argv:
        open(VECTORS, "w").write(text)
        print("wrote", VECTORS)
    else:
        same = open(VECTORS).read() == text
        print("transform construction 2: vectors", "match" if same else "DIFFER")
        sys.exit(0 if same else 1)
