"""fidex from Python side by side with what a Python user would pick instead.

    python bench/compare.py                       # N = 100k and 1M, d = 512, every competitor
    python bench/compare.py --sizes 100000 --methods fidex-f32,faiss-flat
    python bench/compare.py --sizes 2000 --smoke  # seconds (--allow-missing skips competitors not installed)

Competitors (`pip install -r bench/requirements.txt`): faiss-cpu IndexFlatIP and
IndexScalarQuantizer (SQ8, inner product), usearch exact search (`usearch.index.search`,
exact=True; batches in chunks of 100 probes to bound its result matrix) and plain numpy (matmul + argpartition); fidex vaults with f32 storage and
int8 storage with exact re-rank ("int8"), metric inner_product, all through this binding.

Data, as in `benches/search.rs`: N/4 identities x 4 captures, seeded identity-clustered unit
vectors (random unit centre + Gaussian noise of norm ~0.5, renormalised); 1000 probes are
fresh captures. Latency: median and p90 of single-probe searches (k = 10) over 200 probes
after 10 warm-ups. Batch: one call with all 1000 probes -> probes/s (numpy: chunks of 100).
Recall@1 / @10 against an exact float32 brute force (numpy, computed once). Memory: `index`
= the structure's own bytes (fidex: stats()["index_memory_bytes"]; faiss: ntotal x code
size; usearch and numpy search the raw float32 matrix, so N x d x 4), `rss` = growth of the
process RSS while building it (one index alive at a time). faiss and usearch run at 1 and 2
threads and their best figure counts (as in the Rust bench); fidex uses all cores.

Also measured: the Python per-call overhead (identify on a 1-template vault from Python vs
the same C call timed in C by bench/c_identify_timer.c, built with `cc` if available), and
enroll_many vs single enroll calls (without and with the duplicate check).

Prints a table and ONE JSON line (`{"bench": "python-compare", ...}`) with raw figures and
ratios. Never asserts timings (except that the smoke run produces numbers).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

import fidex

DIM, K, SINGLE, BATCH, CAPTURES, SEED = 512, 10, 200, 1000, 4, 20240611
ALL_METHODS = ["fidex-f32", "fidex-int8", "faiss-flat", "faiss-sq8", "usearch", "numpy"]


# ---- data ---------------------------------------------------------------------------------

def unit_rows(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def dataset(n: int, d: int, seed: int = SEED) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(database n x d, probes BATCH x d, identity of each probe); row r is identity r // 4."""
    rng = np.random.default_rng(seed)
    ids = max(n // CAPTURES, 1)
    centres = unit_rows(rng.standard_normal((ids, d), dtype=np.float32))
    sigma = np.float32(0.5 / np.sqrt(d))
    db = np.empty((n, d), dtype=np.float32)
    step = 65536
    for s in range(0, n, step):
        e = min(s + step, n)
        rows = np.arange(s, e)
        db[s:e] = centres[np.minimum(rows // CAPTURES, ids - 1)] + sigma * rng.standard_normal((e - s, d), dtype=np.float32)
        unit_rows(db[s:e])
    who = rng.integers(0, ids, BATCH)
    probes = unit_rows(centres[who] + sigma * rng.standard_normal((BATCH, d), dtype=np.float32))
    return db, np.ascontiguousarray(probes), who


def exact_topk(db: np.ndarray, q: np.ndarray, k: int, chunk: int = 100) -> np.ndarray:
    out = np.empty((len(q), k), dtype=np.int64)
    for s in range(0, len(q), chunk):
        scores = q[s:s + chunk] @ db.T
        part = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1)
        out[s:s + chunk] = np.take_along_axis(part, order, axis=1)
    return out


def recall(found: np.ndarray, truth: np.ndarray, at: int) -> float:
    if at == 1:
        return float(np.mean(found[:, 0] == truth[:, 0]))
    return float(np.mean([len(set(f[:at]) & set(t[:at])) / at for f, t in zip(found, truth)]))


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def machine() -> Dict[str, Any]:
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "load_1m": os.getloadavg()[0]}


# ---- one competitor ---------------------------------------------------------------------------

class Method:
    """build() -> index bytes; single(q) -> row ids (k,); batch(Q) -> row ids (n, k)."""

    name = ""
    threads: List[int] = [0]

    def build(self, db: np.ndarray) -> int: ...
    def single(self, q: np.ndarray) -> np.ndarray: ...
    def batch(self, q: np.ndarray) -> np.ndarray: ...
    def set_threads(self, t: int) -> None: ...
    def close(self) -> None: ...


class FidexMethod(Method):
    def __init__(self, storage: str) -> None:
        self.name = f"fidex-{storage}"
        self.storage = storage
        self.dir = tempfile.mkdtemp(prefix="fidex-bench-")

    def build(self, db: np.ndarray) -> int:
        self.vault = fidex.Vault.create(Path(self.dir) / "v", fidex.VaultKey.generate(), dim=db.shape[1],
                                        metric="inner_product", storage=self.storage, duplicate_threshold=None)
        template = json.dumps(fidex.explicit_consent("SUBJECT", "Bench Corp", "https://bench.example/p", ["identification"]))
        rid = json.loads(template)["consentReceiptID"]
        row_of: Dict[bytes, int] = {}
        for s in range(0, len(db), 100_000):
            n = min(100_000, len(db) - s)
            consents = [template.replace("SUBJECT", f"s{s + i}").replace(rid, f"{rid[:-8]}{s + i:08x}") for i in range(n)]
            ids = self.vault.enroll_many(db[s:s + n], consents)
            row_of.update((u.bytes, s + i) for i, u in enumerate(ids))
            del consents
        self.row_of = row_of
        return int(self.vault.stats()["index_memory_bytes"])

    def _rows(self, raw: np.ndarray) -> np.ndarray:
        flat = raw.reshape(-1, 16)
        return np.array([self.row_of.get(r.tobytes(), -1) for r in flat], dtype=np.int64).reshape(raw.shape[:-1])

    def single(self, q: np.ndarray) -> np.ndarray:
        hits = self.vault.identify(q, k=K, threshold=-2.0)
        return np.array([self.row_of[h.facial_id.bytes] for h in hits], dtype=np.int64)

    def single_raw(self, q: np.ndarray) -> Any:
        return self.vault.identify(q, k=K, threshold=-2.0)

    def batch(self, q: np.ndarray) -> np.ndarray:
        return self._rows(self.vault.identify_batch(q, k=K, threshold=-2.0).ids)

    def batch_raw(self, q: np.ndarray) -> Any:
        return self.vault.identify_batch(q, k=K, threshold=-2.0)

    def close(self) -> None:
        self.vault.discard()  # a scratch vault: never committed
        shutil.rmtree(self.dir, ignore_errors=True)


class FaissMethod(Method):
    threads = [1, 2]

    def __init__(self, sq8: bool) -> None:
        import faiss  # noqa: F401

        self.name = "faiss-sq8" if sq8 else "faiss-flat"
        self.sq8 = sq8

    def build(self, db: np.ndarray) -> int:
        import faiss

        d = db.shape[1]
        if self.sq8:
            self.index = faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
            self.index.train(db)
        else:
            self.index = faiss.IndexFlatIP(d)
        self.index.add(db)
        return int(self.index.ntotal * self.index.sa_code_size() + (2 * d * 4 if self.sq8 else 0))

    def set_threads(self, t: int) -> None:
        import faiss

        faiss.omp_set_num_threads(t)

    def single(self, q: np.ndarray) -> np.ndarray:
        return self.index.search(q[None, :], K)[1][0]

    def batch(self, q: np.ndarray) -> np.ndarray:
        return self.index.search(q, K)[1]

    def close(self) -> None:
        del self.index


class UsearchMethod(Method):
    name = "usearch"
    threads = [1, 2]

    def __init__(self) -> None:
        from usearch.index import search  # noqa: F401

    def build(self, db: np.ndarray) -> int:
        self.db = db  # exact search scans the caller's matrix
        return int(db.nbytes)

    def set_threads(self, t: int) -> None:
        self.t = t

    def single(self, q: np.ndarray) -> np.ndarray:
        from usearch.index import search

        return np.asarray(search(self.db, q, K, "ip", exact=True, threads=self.t).keys, dtype=np.int64).reshape(-1)

    def batch(self, q: np.ndarray) -> np.ndarray:
        from usearch.index import search

        # Chunks of 100 probes: usearch's exact search holds a probes x N result matrix
        # (1000 x 1M x 12 bytes = 12 GB in one call, which the OOM killer ended).
        return np.concatenate([
            np.asarray(search(self.db, q[s:s + 100], K, "ip", exact=True, threads=self.t).keys, dtype=np.int64).reshape(-1, K)
            for s in range(0, len(q), 100)
        ])

    def close(self) -> None:
        del self.db


class NumpyMethod(Method):
    name = "numpy"

    def build(self, db: np.ndarray) -> int:
        self.db = db
        return int(db.nbytes)

    def single(self, q: np.ndarray) -> np.ndarray:
        s = self.db @ q
        part = np.argpartition(-s, K)[:K]
        return part[np.argsort(-s[part])]

    def batch(self, q: np.ndarray) -> np.ndarray:
        return exact_topk(self.db, q, K)

    def close(self) -> None:
        del self.db


def make(name: str) -> Method:
    return {
        "fidex-f32": lambda: FidexMethod("f32"),
        "fidex-int8": lambda: FidexMethod("int8"),
        "fidex-f16": lambda: FidexMethod("f16"),
        "faiss-flat": lambda: FaissMethod(False),
        "faiss-sq8": lambda: FaissMethod(True),
        "usearch": UsearchMethod,
        "numpy": NumpyMethod,
    }[name]()


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run_method(m: Method, db: np.ndarray, probes: np.ndarray, truth: np.ndarray) -> Dict[str, Any]:
    gc.collect()
    before = rss()
    t0 = time.perf_counter()
    index_bytes = m.build(db)
    build_s = time.perf_counter() - t0
    rss_delta = rss() - before
    best: Dict[str, Any] = {}
    for t in m.threads:
        if t:
            m.set_threads(t)
        for q in probes[:10]:
            m.single(q)
        lat = [timed(lambda q=q: m.single(q)) for q in probes[:SINGLE]]
        med, p90 = statistics.median(lat), float(np.percentile(lat, 90))
        found = None

        def run_batch() -> None:
            nonlocal found
            found = m.batch(probes)

        qps = len(probes) / timed(run_batch)
        if not best or med < best["lat_median_ms"] / 1e3:
            best.update(lat_median_ms=med * 1e3, lat_p90_ms=p90 * 1e3, single_threads=t)
        if qps > best.get("batch_qps", 0):
            best.update(batch_qps=qps, batch_threads=t)
        assert found is not None
        best.setdefault("recall1", recall(found, truth, 1))
        best.setdefault("recall10", recall(found, truth, 10))
    out = {"method": m.name, "build_s": build_s, "index_bytes": index_bytes, "raw_bytes": int(db.nbytes),
           "rss_delta_bytes": rss_delta, **best}
    m.close()
    gc.collect()
    _trim()
    return out


def _trim() -> None:
    """Gives freed heap back to the OS (glibc keeps it otherwise), so that the next
    method's RSS growth and the machine's free memory are not distorted by the last one."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


# ---- Python per-call overhead -----------------------------------------------------------------

def python_overhead(calls: int) -> Dict[str, Any]:
    """identify on a 1-template vault from Python vs the same call timed inside C."""
    from fidex import _native

    out: Dict[str, Any] = {"calls": calls}
    d = DIM
    with tempfile.TemporaryDirectory() as tmp:
        v = fidex.Vault.create(Path(tmp) / "v", fidex.VaultKey.generate(), dim=d, duplicate_threshold=None)
        x = np.zeros(d, dtype=np.float32)
        x[0] = 1
        v.enroll(x, fidex.explicit_consent("s", "Acme", "https://acme.example/p", ["identification"]))
        for _ in range(calls // 10 + 10):
            v.identify(x, k=1)
        samples = []
        for _ in range(calls):
            t0 = time.perf_counter_ns()
            v.identify(x, k=1)
            samples.append(time.perf_counter_ns() - t0)
        samples.sort()
        out["python_identify_median_ns"] = samples[len(samples) // 2]
        out["python_identify_p90_ns"] = samples[len(samples) * 9 // 10]
        floor = []
        for _ in range(calls):
            t0 = time.perf_counter_ns()
            _native.lib.fidex_version()
            floor.append(time.perf_counter_ns() - t0)
        floor.sort()
        out["cffi_empty_call_median_ns"] = floor[len(floor) // 2]
        v.discard()
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None:
            out["c_identify_median_ns"] = None
            out["note"] = "no C compiler: C baseline not measured"
            return out
        exe = Path(tmp) / "c_identify_timer"
        src = Path(__file__).with_name("c_identify_timer.c")
        subprocess.run([cc, "-O2", "-std=c99", "-D_POSIX_C_SOURCE=200809L", f"-I{Path(_native.CDEF_PATH).parent}", str(src),
                        _native.LIBRARY_PATH, f"-Wl,-rpath,{Path(_native.LIBRARY_PATH).parent}", "-o", str(exe)], check=True)
        res = subprocess.run([str(exe), str(Path(tmp) / "c"), str(d), str(calls), "1"], check=True, capture_output=True, text=True)
        c_med, c_p90 = (int(x) for x in res.stdout.split())
        out["c_identify_median_ns"] = c_med
        out["c_identify_p90_ns"] = c_p90
        out["overhead_median_us"] = (out["python_identify_median_ns"] - c_med) / 1e3
    return out


# ---- enroll_many vs single enroll ---------------------------------------------------------------

def enroll_compare(n: int, dup: bool) -> Dict[str, Any]:
    db, _, _ = dataset(n, DIM, seed=SEED + 1)
    template = json.dumps(fidex.explicit_consent("SUBJECT", "Bench Corp", "https://bench.example/p", ["identification"]))
    consents = [template.replace("SUBJECT", f"s{i}") for i in range(n)]
    cfg = {"duplicate_threshold": 0.95 if dup else None}
    out: Dict[str, Any] = {"n": n, "duplicate_check": dup}
    with tempfile.TemporaryDirectory() as tmp:
        v = fidex.Vault.create(Path(tmp) / "many", fidex.VaultKey.generate(), dim=DIM, **cfg)
        t0 = time.perf_counter()
        for s in range(0, n, 100_000):
            v.enroll_many(db[s:s + 100_000], consents[s:s + 100_000])
        out["enroll_many_s"] = time.perf_counter() - t0
        v.discard()
        v = fidex.Vault.create(Path(tmp) / "single", fidex.VaultKey.generate(), dim=DIM, **cfg)
        t0 = time.perf_counter()
        for i in range(n):
            v.enroll(db[i], consents[i])
        out["single_enroll_s"] = time.perf_counter() - t0
        v.discard()
    out["speedup"] = out["single_enroll_s"] / out["enroll_many_s"]
    return out


# ---- main ---------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--methods", default=",".join(ALL_METHODS))
    ap.add_argument("--enroll-n", type=int, default=100_000, help="templates for enroll_many vs enroll (no duplicate check)")
    ap.add_argument("--enroll-dup-n", type=int, default=20_000, help="same with the duplicate check (single enroll is O(n^2))")
    ap.add_argument("--overhead-calls", type=int, default=20_000)
    ap.add_argument("--smoke", action="store_true", help="tiny run for test.sh: small enroll and overhead runs")
    ap.add_argument("--allow-missing", action="store_true", help="skip competitors that are not installed")
    ap.add_argument("--skip", default="", help="comma list of: search, overhead, enroll")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    if args.smoke:
        args.enroll_n, args.enroll_dup_n, args.overhead_calls = 500, 200, 500
    info = machine()
    print(f"fidex {fidex.library_version} from Python {sys.version.split()[0]}, numpy {np.__version__}; "
          f"CPU {info['cpu']} ({info['cores']} cores), load {info['load_1m']:.2f}", flush=True)
    report: Dict[str, Any] = {"bench": "python-compare", **info, "dim": DIM, "k": K, "sizes": {}}
    methods = [m for m in args.methods.split(",") if m]
    if "search" not in skip:
        for n in [int(s) for s in args.sizes.split(",")]:
            db, probes, _who = dataset(n, DIM)
            truth = exact_topk(db, probes, K)
            rows = []
            for name in methods:
                try:
                    m = make(name)
                except ImportError as e:
                    if args.allow_missing:
                        print(f"  {name}: not installed, skipped ({e})")
                        continue
                    raise SystemExit(f"{name} is not installed: pip install -r bench/requirements.txt, or --allow-missing") from e
                rows.append(run_method(m, db, probes, truth))
                r = rows[-1]
                print(f"  N={n} {name}: {r['lat_median_ms']:.3f} ms, {r['batch_qps']:.0f} /s, recall@1 {r['recall1']:.3f}", flush=True)
            del db
            gc.collect()
            report["sizes"][str(n)] = {"results": rows, "ratios": ratios(rows), "load_1m_after": os.getloadavg()[0]}
            print_table(n, rows)
    if "overhead" not in skip:
        report["overhead"] = python_overhead(args.overhead_calls)
        o = report["overhead"]
        print(f"\nPython per-call overhead (identify, 1-template vault, k=1, {o['calls']} calls): Python {o['python_identify_median_ns'] / 1e3:.2f} µs"
              f" median, C {(o['c_identify_median_ns'] or 0) / 1e3:.2f} µs -> overhead {o.get('overhead_median_us', float('nan')):.2f} µs"
              f" (an empty cffi call: {o['cffi_empty_call_median_ns'] / 1e3:.2f} µs)")
    if "enroll" not in skip:
        report["enroll"] = [enroll_compare(args.enroll_n, False), enroll_compare(args.enroll_dup_n, True)]
        for e in report["enroll"]:
            print(f"enroll {e['n']} templates ({'with' if e['duplicate_check'] else 'no'} duplicate check): enroll_many {e['enroll_many_s']:.2f} s, "
                  f"{e['n']} x enroll {e['single_enroll_s']:.2f} s -> {e['speedup']:.1f}x")
    report["load_1m_end"] = os.getloadavg()[0]
    print(json.dumps(report, separators=(",", ":")))
    return 0


def ratios(rows: List[Dict[str, Any]]) -> Dict[str, Any]:
    by = {r["method"]: r for r in rows}
    out: Dict[str, Any] = {}
    flat = by.get("faiss-flat")
    best_batch = max((by[m]["batch_qps"] for m in ("faiss-flat", "faiss-sq8", "numpy", "usearch") if m in by), default=None)
    for f in ("fidex-f32", "fidex-int8", "fidex-f16"):
        if f not in by:
            continue
        r: Dict[str, Any] = {}
        if flat:
            r["single_vs_faiss_flat"] = flat["lat_median_ms"] / by[f]["lat_median_ms"]
            r["batch_vs_faiss_flat"] = by[f]["batch_qps"] / flat["batch_qps"]
        if best_batch:
            r["batch_vs_best_competitor"] = by[f]["batch_qps"] / best_batch
        for other in ("faiss-sq8", "usearch", "numpy"):
            if other in by:
                r[f"single_vs_{other}"] = by[other]["lat_median_ms"] / by[f]["lat_median_ms"]
        out[f] = r
    return out


def print_table(n: int, rows: List[Dict[str, Any]]) -> None:
    print(f"\nN = {n:,}, d = {DIM}, k = {K} (latency: median/p90 of {SINGLE} single probes; batch: {BATCH} probes in one call)")
    print(f"{'method':<12} {'1 probe ms':>10} {'p90 ms':>8} {'batch /s':>9} {'r@1':>6} {'r@10':>6} {'index MB':>9} {'/raw':>6} {'rss Δ MB':>9} {'build s':>8} threads")
    for r in rows:
        print(f"{r['method']:<12} {r['lat_median_ms']:>10.3f} {r['lat_p90_ms']:>8.3f} {r['batch_qps']:>9.0f} {r['recall1']:>6.3f} {r['recall10']:>6.3f} "
              f"{r['index_bytes'] / 1e6:>9.1f} {r['index_bytes'] / r['raw_bytes']:>6.3f} {r['rss_delta_bytes'] / 1e6:>9.1f} {r['build_s']:>8.1f} "
              f"{r['single_threads'] or 'all'}/{r['batch_threads'] or 'all'}")
    rat = ratios(rows)
    for f, r in rat.items():
        print(f"  {f}: " + ", ".join(f"{k} {v:.2f}x" for k, v in r.items()))


if __name__ == "__main__":
    sys.exit(main())
