#!/usr/bin/env python3
"""An independent verifier of fidex receipts, published tree heads and key files, written
from docs/RECEIPTS.md alone (no fidex code), with the Python standard library only — its
Ed25519 is the RFC 8032 section 6 reference arithmetic plus the checks the specification adds.

    python3 tests/vectors/receipts/verify.py             # runs every case of manifest.json
    python3 tests/vectors/receipts/verify.py -v          # and prints each verdict's reason

Exit status 0 when every verdict matches the manifest's expected one.
"""
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


class Invalid(Exception):
    pass


def fail(msg):
    raise Invalid(msg)


# --------------------------------------------------------------------------- canonical JSON

def esc(s):
    out = ['"']
    short = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    for ch in s:
        if ch in short:
            out.append(short[ch])
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def scalar(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return esc(v)
    fail("not a JSON scalar")


def pretty(v, level=0):
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(v, list):  # an object: a list of (key, value) pairs
        if not v:
            return "{}"
        return "{\n" + ",\n".join(inner + esc(k) + ": " + pretty(x, level + 1) for k, x in v) + "\n" + pad + "}"
    if isinstance(v, tuple):  # an array
        if not v:
            return "[]"
        return "[\n" + ",\n".join(inner + pretty(x, level + 1) for x in v) + "\n" + pad + "]"
    return scalar(v)


def compact(v):
    if isinstance(v, list):
        return "{" + ",".join(esc(k) + ":" + compact(x) for k, x in v) + "}"
    if isinstance(v, tuple):
        return "[" + ",".join(compact(x) for x in v) + "]"
    return scalar(v)


def no_float(s):
    fail("a number that is not an integer: " + s)


def parse(text):
    """JSON text into nested dicts (objects keep their member order) and tuples (arrays)."""

    def pairs(ps):
        keys = [k for k, _ in ps]
        if len(set(keys)) != len(keys):
            fail("a member appears twice")
        return dict(ps)

    try:
        v = json.loads(text, object_pairs_hook=pairs, parse_float=no_float, parse_constant=no_float)
    except Invalid:
        raise
    except ValueError as e:
        fail("not JSON: %s" % e)

    def fix(x):
        if isinstance(x, dict):
            return {k: fix(y) for k, y in x.items()}
        if isinstance(x, list):
            return tuple(fix(y) for y in x)
        return x

    return fix(v)


# Types of members: a checker returns the canonical structure (pairs / tuples / scalars).
U64, U32, I64 = (0, 2**64 - 1), (0, 2**32 - 1), (-(2**63), 2**63 - 1)


def integer(rng):
    def check(v):
        if type(v) is not int or not rng[0] <= v <= rng[1]:
            fail("an integer out of its range")
        return v
    return check


def text(v):
    if type(v) is not str:
        fail("not a string")
    return v


def lower_hex(nbytes):
    def check(v):
        if type(v) is not str or len(v) != 2 * nbytes or any(c not in "0123456789abcdef" for c in v):
            fail("not %d bytes of lower-case hex" % nbytes)
        return v
    return check


def facial_id(v):
    if type(v) is not str or len(v) != 36 or [i for i, c in enumerate(v) if c == "-"] != [8, 13, 18, 23]:
        fail("not a Facial ID")
    lower_hex(16)(v.replace("-", ""))
    return v


def array(item):
    def check(v):
        if not isinstance(v, tuple):
            fail("not an array")
        return tuple(item(x) for x in v)
    return check


def const(c):
    def check(v):
        if v != c or type(v) is not type(c):
            fail("expected %r" % (c,))
        return v
    return check


def one_of(*cs):
    def check(v):
        if type(v) is not str or v not in cs:
            fail("unexpected value %r" % (v,))
        return v
    return check


def nullable(check):
    return lambda v: None if v is None else check(v)


def obj(spec):
    """spec: list of (name, checker, optional). Returns the pairs in spec order."""
    def check(v):
        if not isinstance(v, dict):
            fail("not an object")
        names = [n for n, _, _ in spec]
        extra = set(v) - set(names)
        if extra:
            fail("unknown members %s" % sorted(extra))
        out = []
        for n, c, optional in spec:
            if n not in v:
                if optional:
                    continue
                fail("missing member " + n)
            out.append((n, c(v[n])))
        return out
    return check


REASONS = ("subject_request", "consent_withdrawn", "retention_expired", "admin")
LIVE_PROOF = obj([("siblings", array(lower_hex(32)), False), ("terminal_leaf", nullable(lower_hex(16)), False)])


def head_checker(v):
    if isinstance(v, dict) and "version" in v:
        return obj([("version", const(2), False), ("vault_id", lower_hex(16), False), ("key_id", lower_hex(8), False),
                    ("log_size", integer(U64), False), ("log_root", lower_hex(32), False), ("live_root", lower_hex(32), False),
                    ("timestamp", integer(I64), False), ("signature", lower_hex(64), False)])(v)
    return obj([("vault_id", lower_hex(16), False), ("log_size", integer(U64), False), ("log_root", lower_hex(32), False),
                ("live_root", lower_hex(32), False), ("live_count", integer(U64), False), ("timestamp", integer(I64), False),
                ("signature", lower_hex(64), False)])(v)


def erasure_pending(v):
    v = array(text)(v)
    if not v:
        fail("erasure_pending, when present, is not empty")
    return v


DELETION = obj([
    ("type", const("fidex-deletion-receipt"), False), ("version", integer(U32), False), ("vault_id", lower_hex(16), False),
    ("facial_id", facial_id, False), ("deleted_at", integer(I64), False), ("reason", one_of(*REASONS), False),
    ("log_entry", text, False), ("log_index", integer(U64), False), ("inclusion_proof", array(lower_hex(32)), False),
    ("withdrawal", obj([("withdrawn_at", integer(I64), False), ("log_entry", text, False), ("log_index", integer(U64), False),
                        ("inclusion_proof", array(lower_hex(32)), False)]), True),
    ("tree_head", head_checker, False), ("non_membership_proof", LIVE_PROOF, False), ("erasure_pending", erasure_pending, True),
])
ENROLLMENT = obj([
    ("type", const("fidex-enrollment-receipt"), False), ("version", integer(U32), False), ("vault_id", lower_hex(16), False),
    ("facial_id", facial_id, False), ("enrolled_at", integer(I64), False), ("consent_receipt_id", text, False),
    ("consent_sha256", lower_hex(32), False), ("consent_entry", text, False), ("consent_index", integer(U64), False),
    ("consent_inclusion_proof", array(lower_hex(32)), False), ("enrollment_entry", text, False),
    ("enrollment_index", integer(U64), False), ("enrollment_inclusion_proof", array(lower_hex(32)), False),
    ("tree_head", head_checker, False), ("membership_proof", LIVE_PROOF, False),
])
PUBLISHED = obj([
    ("type", const("fidex-published-head"), False), ("version", const(2), False), ("tree_head", head_checker, False),
    ("previous", nullable(obj([("log_size", integer(U64), False), ("log_root", lower_hex(32), False)])), False),
    ("consistency_proof", array(lower_hex(32)), False), ("previous_frontier", array(lower_hex(32)), False),
    ("leaf_hashes", array(lower_hex(32)), False),
])

EVENTS = {
    "vault_created": [("dimension", integer((1, 4096))), ("metric", one_of("cosine", "innerproduct", "l2"))],
    "consent_recorded": [("facial_id", facial_id), ("consent_receipt_id", text), ("consent_sha256", lower_hex(32)), ("purposes", array(text))],
    "enrolled": [("facial_id", facial_id)],
    "consent_withdrawn": [("facial_id", facial_id)],
    "deleted": [("facial_id", facial_id), ("reason", one_of(*REASONS))],
    "key_rotated": [("new_verification_key", lower_hex(32)), ("old_verification_key", lower_hex(32))],
    "record_exported": [("facial_id", facial_id), ("template_included", lambda v: v if type(v) is bool else fail("not a bool"))],
}


def entry(s):
    """An audit-log entry: parsed, and its compact form must be exactly `s`."""
    v = parse(s)
    if not isinstance(v, dict) or type(v.get("event")) is not str or v["event"] not in EVENTS:
        fail("not an audit-log entry")
    spec = [("index", integer(U64), False), ("time", integer(I64), False), ("vault_id", lower_hex(16), False),
            ("event", text, False)] + [(n, c, False) for n, c in EVENTS[v["event"]]]
    if compact(obj(spec)(v)) != s:
        fail("the entry is not in compact canonical form")
    return v


def document(text_, checker):
    """A file's text: one optional trailing line feed, then exactly the canonical form."""
    t = text_[:-1] if text_.endswith("\n") else text_
    v = parse(t)
    if pretty(checker(v)) != t:
        fail("not in canonical form")
    return v


# --------------------------------------------------------------------------- Ed25519

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def padd(p, q):
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def pmul(s, p):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = padd(q, p)
        p = padd(p, p)
        s >>= 1
    return q


def pequal(p, q):
    return (p[0] * q[2] - q[0] * p[2]) % P == 0 and (p[1] * q[2] - q[1] * p[2]) % P == 0


def decode(b):
    """RFC 8032 section 5.1.3; None if not a canonical encoding of a point."""
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        if sign:
            return None
        x = 0
    else:
        x = pow(x2, (P + 3) // 8, P)
        if (x * x - x2) % P != 0:
            x = x * SQRT_M1 % P
        if (x * x - x2) % P != 0:
            return None
        if (x & 1) != sign:
            x = P - x
    return (x, y, 1, x * y % P)


def encode(p):
    zi = pow(p[2], P - 2, P)
    x, y = p[0] * zi % P, p[1] * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


IDENTITY = (0, 1, 1, 0)
GY = 4 * pow(5, P - 2, P) % P
B = decode(GY.to_bytes(32, "little"))


def small_order(p):
    return pequal(pmul(8, p), IDENTITY)


def check_public_key(a):
    pt = decode(a)
    if pt is None:
        fail("the public key is not a canonical encoding of a curve point")
    if small_order(pt):
        fail("the public key is of small order")
    return pt


def ed25519_verify(a, msg, sig):
    apt = check_public_key(a)
    if len(sig) != 64:
        fail("a signature is 64 bytes")
    r, s = sig[:32], int.from_bytes(sig[32:], "little")
    if s >= L:
        fail("S is not below L")
    rpt = decode(r)
    if rpt is None or small_order(rpt):
        fail("R is not a point, or of small order")
    k = int.from_bytes(hashlib.sha512(r + a + msg).digest(), "little") % L
    minus_ka = pmul(k, apt)
    minus_ka = ((-minus_ka[0]) % P, minus_ka[1], minus_ka[2], (-minus_ka[3]) % P)
    if encode(padd(pmul(s, B), minus_ka)) != r:
        fail("the signature does not verify")


# --------------------------------------------------------------------------- keys

class VK:
    def __init__(self, vault_id, public_key):
        self.vault_id, self.public_key = vault_id, public_key
        self.key_id = hashlib.sha256(public_key).digest()[:8].hex()


def parse_key(t):
    t = t.strip()
    if not t.startswith("fidex-vk-1:"):
        fail("a verification key starts with fidex-vk-1:")
    parts = t[len("fidex-vk-1:"):].split(":")
    if len(parts) != 2:
        fail("a verification key has two parts")
    vid, pk = lower_hex(16)(parts[0]), lower_hex(32)(parts[1])
    check_public_key(bytes.fromhex(pk))
    return VK(vid, bytes.fromhex(pk))


def parse_key_file(t):
    keys = []
    for line in t.split("\n"):
        if line.endswith("\r"):
            line = line[:-1]
        line = line.strip(" \t")
        if not line or line.startswith("#"):
            continue
        keys.append(parse_key(line))
    if not keys:
        fail("no key in the key file")
    return keys


# --------------------------------------------------------------------------- trees

def sha256(b):
    return hashlib.sha256(b).digest()


def leaf(b):
    return sha256(b"\x00" + b)


def node(l, r):
    return sha256(b"\x01" + l + r)


EMPTY_ROOT = sha256(b"")


def verify_inclusion(leaf_hash, index, size, proof, root):
    if index >= size:
        fail("index not below size")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            fail("inclusion proof too long")
        if fn & 1 == 1 or fn == sn:
            r = node(p, r)
            if fn & 1 == 0:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        fail("inclusion proof too short")
    if r != root:
        fail("inclusion proof does not give the root")


def verify_consistency(m, n, old, new, proof):
    if m > n:
        fail("old size above new size")
    if m == n:
        if proof or old != new:
            fail("equal sizes need an empty proof and equal roots")
        return
    if m == 0:
        if proof or old != EMPTY_ROOT:
            fail("from size 0: an empty proof and the empty root")
        return
    if not proof:
        fail("empty consistency proof")
    if m & (m - 1) == 0:
        proof = [old] + list(proof)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            fail("consistency proof too long")
        if fn & 1 == 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            if fn & 1 == 0:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        fail("consistency proof too short")
    if fr != old or sr != new:
        fail("consistency proof does not give both roots")


class Frontier:
    def __init__(self, size, hashes):
        if len(hashes) != bin(size).count("1"):
            fail("a frontier has one hash per bit set in the size")
        sizes = [1 << b for b in range(63, -1, -1) if size >> b & 1]
        self.parts, self.size = list(zip(hashes, sizes)), size

    def append(self, h):
        self.parts.append((h, 1))
        while len(self.parts) >= 2 and self.parts[-1][1] == self.parts[-2][1]:
            (l, n), (r, _) = self.parts[-2], self.parts[-1]
            self.parts[-2:] = [(node(l, r), 2 * n)]
        self.size += 1

    def root(self):
        if not self.parts:
            return EMPTY_ROOT
        h = self.parts[-1][0]
        for x, _ in reversed(self.parts[:-1]):
            h = node(x, h)
        return h


TAG = b"fidex-smt-v1"


def bit(key, i):
    return (key[i // 8] >> (7 - i % 8)) & 1


def verify_live(root, key, proof, member):
    sib = [bytes.fromhex(s) for s in proof["siblings"]]
    term = proof["terminal_leaf"]
    d = len(sib)
    if d > 128:
        fail("live-set proof deeper than 128")
    if sib and sib[-1] == bytes(32):
        fail("live-set proof: last sibling empty")
    if term is None:
        if d == 128:
            fail("live-set proof: empty terminal at depth 128")
        h = bytes(32)
    else:
        t = bytes.fromhex(term)
        if any(bit(t, i) != bit(key, i) for i in range(d)):
            fail("live-set proof: terminal leaf off the path")
        h = sha256(b"\x02" + TAG + t)
    for i in range(d - 1, -1, -1):
        h = sha256(b"\x03" + TAG + h + sib[i]) if bit(key, i) == 0 else sha256(b"\x03" + TAG + sib[i] + h)
    if h != root:
        fail("live-set proof does not give the root")
    is_member = term is not None and bytes.fromhex(term) == key
    if is_member != member:
        fail("live-set proof shows the ID %s" % ("absent" if member else "present"))


# --------------------------------------------------------------------------- heads, receipts

def head_version(h):
    if "version" in h:
        return 2
    return 1


def head_message(h):
    vid = bytes.fromhex(h["vault_id"])
    size, root, live = h["log_size"].to_bytes(8, "little"), bytes.fromhex(h["log_root"]), bytes.fromhex(h["live_root"])
    ts = h["timestamp"].to_bytes(8, "little", signed=True)
    if head_version(h) == 2:
        return b"fidex/v2/tree-head\x00" + vid + bytes.fromhex(h["key_id"]) + size + root + live + ts
    return b"fidex/v1/tree-head\x00" + vid + size + root + live + h["live_count"].to_bytes(8, "little") + ts


def verify_head(h, vk):
    if h["vault_id"] != vk.vault_id:
        fail("the head is another vault's")
    if head_version(h) == 2 and h["key_id"] != vk.key_id:
        fail("the head names another key")
    ed25519_verify(vk.public_key, head_message(h), bytes.fromhex(h["signature"]))


def head_with_keys(h, keys):
    """Verifies a head with the key its key_id names (v2) or any key (v1); returns the key."""
    cands = [k for k in keys if head_version(h) == 1 or (k.key_id == h["key_id"] and k.vault_id == h["vault_id"])]
    err = Invalid("no key for this head")
    for k in cands:
        try:
            verify_head(h, k)
            return k
        except Invalid as e:
            err = e
    raise err


def proven_entry(s, index, proof, h, what):
    e = entry(s)
    if e["index"] != index:
        fail(what + ": index differs")
    if e["vault_id"] != h["vault_id"]:
        fail(what + ": another vault's entry")
    verify_inclusion(leaf(s.encode()), index, h["log_size"], [bytes.fromhex(x) for x in proof], bytes.fromhex(h["log_root"]))
    return e


def verify_receipt(r, vk):
    h = r["tree_head"]
    if r["version"] not in (1, 2) or head_version(h) != r["version"]:
        fail("receipt version and head version must be 1/1 or 2/2")
    if r["vault_id"] != vk.vault_id or h["vault_id"] != r["vault_id"]:
        fail("another vault's receipt")
    verify_head(h, vk)
    live_root = bytes.fromhex(h["live_root"])
    key = bytes.fromhex(r["facial_id"].replace("-", ""))
    if r["type"] == "fidex-deletion-receipt":
        e = proven_entry(r["log_entry"], r["log_index"], r["inclusion_proof"], h, "deletion entry")
        if e["event"] != "deleted" or e["facial_id"] != r["facial_id"] or e["reason"] != r["reason"] or e["time"] != r["deleted_at"]:
            fail("the entry does not record this deletion")
        if h["timestamp"] < r["deleted_at"]:
            fail("the head predates the deletion")
        w = r.get("withdrawal")
        if w is not None:
            if r["version"] != 2 or r["reason"] != "consent_withdrawn":
                fail("a withdrawal part only in version 2, reason consent_withdrawn")
            we = proven_entry(w["log_entry"], w["log_index"], w["inclusion_proof"], h, "withdrawal entry")
            if we["event"] != "consent_withdrawn" or we["facial_id"] != r["facial_id"] or we["time"] != w["withdrawn_at"]:
                fail("the withdrawal entry does not record this withdrawal")
            if not (w["log_index"] < r["log_index"] and w["withdrawn_at"] <= r["deleted_at"]):
                fail("the withdrawal is not before the deletion")
        verify_live(live_root, key, r["non_membership_proof"], member=False)
    else:
        c = proven_entry(r["consent_entry"], r["consent_index"], r["consent_inclusion_proof"], h, "consent entry")
        if c["event"] != "consent_recorded" or c["facial_id"] != r["facial_id"] or c["consent_receipt_id"] != r["consent_receipt_id"] or c["consent_sha256"] != r["consent_sha256"]:
            fail("the consent entry does not match")
        e = proven_entry(r["enrollment_entry"], r["enrollment_index"], r["enrollment_inclusion_proof"], h, "enrollment entry")
        if e["event"] != "enrolled" or e["facial_id"] != r["facial_id"] or e["time"] != r["enrolled_at"]:
            fail("the enrollment entry does not match")
        if not r["consent_index"] < r["enrollment_index"]:
            fail("consent not before enrollment")
        if r["version"] == 2 and (c["time"] > r["enrolled_at"] or h["timestamp"] < r["enrolled_at"]):
            fail("consent time after enrollment, or head before it")
        verify_live(live_root, key, r["membership_proof"], member=True)


def parse_receipt(t):
    kind = None
    try:
        kind = parse(t[:-1] if t.endswith("\n") else t).get("type")
    except (Invalid, AttributeError):
        pass
    if kind == "fidex-deletion-receipt":
        return document(t, DELETION)
    if kind == "fidex-enrollment-receipt":
        return document(t, ENROLLMENT)
    fail("not a receipt")


def receipt_with_keys(t, keys):
    r = parse_receipt(t)
    h = r["tree_head"]
    cands = [k for k in keys if head_version(h) == 1 or k.key_id == h["key_id"]]
    if not cands:
        fail("signed by a key not given")
    err = None
    for k in cands:
        try:
            verify_receipt(r, k)
            return r
        except Invalid as e:
            err = e
    raise err


def link(p):
    """Checks a published head's link; returns (frontier of previous, leaf hashes) or None."""
    h, prev = p["tree_head"], p["previous"]
    if prev is None:
        if p["consistency_proof"] or p["previous_frontier"] or p["leaf_hashes"]:
            fail("the first published head has no link")
        return None
    a, b = prev["log_size"], h["log_size"]
    if a > b:
        fail("previous larger than the head")
    old, new = bytes.fromhex(prev["log_root"]), bytes.fromhex(h["log_root"])
    verify_consistency(a, b, old, new, [bytes.fromhex(x) for x in p["consistency_proof"]])
    f = Frontier(a, [bytes.fromhex(x) for x in p["previous_frontier"]])
    if f.root() != old:
        fail("the frontier does not give the previous root")
    if len(p["leaf_hashes"]) != b - a:
        fail("leaf_hashes has the wrong length")
    leaves = [bytes.fromhex(x) for x in p["leaf_hashes"]]
    g = Frontier(a, [bytes.fromhex(x) for x in p["previous_frontier"]])
    for l in leaves:
        g.append(l)
    if g.root() != new:
        fail("the leaf hashes do not give the head's root")
    return f, leaves


def published_signature(t, keys):
    p = document(t, PUBLISHED)
    if head_version(p["tree_head"]) != 2:
        fail("a published head carries a version-2 head")
    head_with_keys(p["tree_head"], keys)
    return p


def verify_published(t, keys):
    p = published_signature(t, keys)
    link(p)
    return p


def monitor(head_texts, receipt_texts, keys):
    problems, roots, vault = [], {}, [None]

    def same_vault(v):
        if vault[0] is None:
            vault[0] = v
        elif vault[0] != v:
            problems.append("wrong_vault")
            return False
        return True

    def vouch(size, root):
        if size in roots and roots[size] != root:
            problems.append("equivocation")
        roots.setdefault(size, root)

    good = []
    for i, t in enumerate(head_texts):
        try:
            p = published_signature(t, keys)
        except Invalid:
            problems.append("invalid_head")
            continue
        if not same_vault(p["tree_head"]["vault_id"]):
            continue
        try:
            link(p)
        except Invalid:
            problems.append("not_an_extension")
            continue
        good.append((i, p))
    good.sort(key=lambda x: (x[1]["tree_head"]["log_size"], x[0]))
    for _, p in good:
        vouch(p["tree_head"]["log_size"], p["tree_head"]["log_root"])
        if p["previous"] is not None:
            vouch(p["previous"]["log_size"], p["previous"]["log_root"])
    published = set(roots)
    sizes = sorted({p["tree_head"]["log_size"] for _, p in good})
    for x, y in zip(sizes, sizes[1:]):
        if not any(p["tree_head"]["log_size"] == y and p["previous"] is not None and p["previous"]["log_size"] == x for _, p in good):
            problems.append("missing_link")
    anchored = []
    for t in receipt_texts:
        try:
            r = receipt_with_keys(t, keys)
        except Invalid:
            problems.append("invalid_receipt")
            anchored.append(None)
            continue
        h = r["tree_head"]
        if not same_vault(h["vault_id"]):
            anchored.append(None)
            continue
        m = h["log_size"]
        vouch(m, h["log_root"])
        at = None
        if m in published:
            at = m if roots[m] == h["log_root"] else None
        else:
            for _, p in good:
                prev = p["previous"]
                if prev is not None and prev["log_size"] < m < p["tree_head"]["log_size"]:
                    f, leaves = link(p)
                    for l in leaves[: m - prev["log_size"]]:
                        f.append(l)
                    if f.root().hex() == h["log_root"]:
                        at = p["tree_head"]["log_size"]
                    else:
                        problems.append("equivocation")
                    break
        anchored.append(at)
    return not problems, sorted(problems), anchored


# --------------------------------------------------------------------------- the manifest

def read(rel):
    with open(os.path.join(HERE, rel), encoding="utf-8", newline="") as f:
        return f.read()


def keys_of(case):
    try:
        return parse_key_file(read(case["keys"]))
    except Invalid:
        return []


def run(case):
    kind = case["kind"]
    if kind == "key_file":
        parse_key_file(read(case["file"]))
    elif kind == "receipt":
        keys = keys_of(case)
        if not keys:
            fail("no valid key")
        receipt_with_keys(read(case["file"]), keys)
    elif kind == "published_head":
        verify_published(read(case["file"]), keys_of(case))
    elif kind == "consistency":
        keys = keys_of(case)
        old = document(read(case["older"]), head_checker)
        new = document(read(case["newer"]), head_checker)
        if old["vault_id"] != new["vault_id"]:
            fail("heads of two vaults")
        head_with_keys(old, keys)
        head_with_keys(new, keys)
        if new["log_size"] < old["log_size"]:
            fail("the newer head is smaller")
        verify_consistency(old["log_size"], new["log_size"], bytes.fromhex(old["log_root"]), bytes.fromhex(new["log_root"]),
                           [bytes.fromhex(lower_hex(32)(x)) for x in case["proof"]])
    elif kind == "monitor":
        return monitor([read(h) for h in case["heads"]], [read(r) for r in case["receipts"]], keys_of(case))
    else:
        fail("unknown case kind " + kind)
    return None


def main():
    verbose = "-v" in sys.argv
    manifest = json.loads(read("manifest.json"))
    bad = 0
    for case in manifest["cases"]:
        try:
            out = run(case)
            ok, why = True, "valid"
        except Invalid as e:
            out, ok, why = None, False, str(e)
        if case["kind"] == "monitor":
            got = (out[0], out[1], out[2]) if out else (False, ["error: " + why], [])
            want = (case["ok"], case["problems"], case["anchored_at"])
            agree = tuple(got) == tuple(want)
            why = "ok=%s problems=%s anchored=%s" % got
        else:
            agree = ok == case["valid"]
        if not agree or verbose:
            print("%s %-10s %-55s %s" % ("ok  " if agree else "FAIL", case["kind"], case["name"][:55], why))
        bad += not agree
    print("verify.py: %d of %d cases agree with the expected verdicts" % (len(manifest["cases"]) - bad, len(manifest["cases"])))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
