#!/usr/bin/env python3
"""FAISS on the same PDQ data as hashline's index_bench: build time, memory, queries/s (one
thread), recall at radius 31 against exact answers.

Usage: index_faiss.py DATA_DIR
Indexes: IndexBinaryMultiHash(256, 16, 16) with nflip=1 (as HMA uses it) and IndexBinaryFlat.
"""
import json, resource, sys, time

import faiss
import numpy as np

faiss.omp_set_num_threads(1)
d = sys.argv[1]
xb = np.fromfile(f"{d}/entries.bin", dtype=np.uint8).reshape(-1, 32)
xq = np.fromfile(f"{d}/queries.bin", dtype=np.uint8).reshape(-1, 32)


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(name, make, search_limit=None):
    before = rss_mb()
    t = time.perf_counter()
    index = make()
    index.add(xb)
    build = time.perf_counter() - t
    q = xq if search_limit is None else xq[:search_limit]
    t = time.perf_counter()
    lims, dist, ids = index.range_search(q, 32)  # FAISS radius is exclusive: < 32 means <= 31
    secs = time.perf_counter() - t
    return {"index": name, "entries": len(xb), "build_s": round(build, 3), "queries": len(q),
            "qps": round(len(q) / secs, 1), "hits": int(lims[-1]),
            "rss_growth_mb": round(rss_mb() - before, 1)}


def multihash():
    idx = faiss.IndexBinaryMultiHash(256, 16, 16)
    idx.nflip = 1
    return idx


limit = int(sys.argv[2]) if len(sys.argv) > 2 else None
print(json.dumps(run("faiss IndexBinaryMultiHash(256,16,16) nflip=1", multihash, limit)))
print(json.dumps(run("faiss IndexBinaryFlat", lambda: faiss.IndexBinaryFlat(256), limit)))
