#!/usr/bin/env python3
"""Writes what Meta's `vpdq` package (the reference vPDQ) computes for the shared sample videos,
in the reference's hash-file form, for hashline's conformance test to compare with bit for bit.

    /tmp/hashline-peers/bin/python benches/vpdq_reference.py ../shared/pdq-vectors/tmk/sample-videos \
        crates/hashline-video/tests/data/vpdq-0.2.5

(the venv from ../shared/tools/setup-peers.sh; vpdq 0.2.5 built against Debian 12's FFmpeg 5.1).
Two files per video: `NAME.every-frame.txt` (seconds_per_hash 0) and `NAME.1s.txt` (1 s per
hash, the default of python-threatexchange and HMA). One decoder thread.
"""
import pathlib
import sys

import vpdq


def main(src: str, out: str) -> None:
    out_dir = pathlib.Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    for video in sorted(pathlib.Path(src).glob("*.mp4")):
        for tag, sph in (("every-frame", 0), ("1s", 1)):
            feats = vpdq.computeHash(str(video), seconds_per_hash=sph, thread_count=1)
            lines = [f"{f.frame_number},{f.quality},{f.hex},{f.timestamp:.3f}" for f in feats]
            (out_dir / f"{video.stem}.{tag}.txt").write_text("\n".join(lines) + "\n")
        print(video.stem, len(feats))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
