#!/usr/bin/env python3
"""The PDQ python-threatexchange (and so HMA) computes for every picture of the shared PDQ
vectors, with the real `threatexchange` package: the expected values of hashline's
`pytx_conversion` variant (crates/hashline-hash/tests/data/pytx-vectors.tsv).

Usage: /tmp/hashline-peers/bin/python benches/pytx_modes.py ../shared/pdq-vectors \
           > crates/hashline-hash/tests/data/pytx-vectors.tsv
"""
import sys
from pathlib import Path

from importlib.metadata import version

from PIL import Image
from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

root = Path(sys.argv[1])
print(f"# python-threatexchange {version('threatexchange')}, pdqhash {version('pdqhash')}, Pillow {version('Pillow')}: path, mode, pdq, quality")
for p in sorted(root.rglob("*")):
    if p.suffix.lower() not in (".jpg", ".jpeg", ".png", ".gif"):
        continue
    try:
        h, q = pdq_from_file(p)
    except Exception as e:  # pytx cannot hash it at all (e.g. a mode pdqhash refuses)
        print(f"# {p.relative_to(root)}: {type(e).__name__}", file=sys.stderr)
        continue
    print(f"{p.relative_to(root)}\t{Image.open(p).mode}\t{h}\t{q}")
