#!/usr/bin/env python3
"""Time the peer hashing paths on a folder, single-threaded, after a warm-up read.

Usage: peers.py MODE FILE...    (file list also accepted on stdin with '-')
MODE:
  pillow-decode     Image.open + load() (Pillow's decode alone: the floor for exact PDQ)
  pillow-pdqhash    Pillow convert("RGB") + pdqhash.compute at full resolution (the HMA path)
  pillow-draft-pdq  Pillow reduced-size JPEG decode (draft, <= 512 px) + pdqhash
  imagehash-phash   Pillow + ImageHash.phash (64-bit pHash, a common peer)
  hashlib-digests   md5 + sha1 + sha256 of the bytes with hashlib
Prints one JSON object: mode, files, bytes, seconds, files_per_s, mb_per_s.
"""
import hashlib, json, sys, time

from PIL import Image

Image.MAX_IMAGE_PIXELS = None


def main():
    mode, files = sys.argv[1], sys.argv[2:]
    if files == ["-"]:
        files = [l.strip() for l in sys.stdin if l.strip()]
    blobs = [open(f, "rb").read() for f in files]  # warm the page cache; timed reads below
    import io
    if mode in ("pillow-pdqhash", "pillow-draft-pdq"):
        import numpy as np
        import pdqhash
    if mode == "imagehash-phash":
        import imagehash
    t0 = time.perf_counter()
    total = 0
    for f in files:
        with open(f, "rb") as fh:
            data = fh.read()
        total += len(data)
        if mode == "hashlib-digests":
            hashlib.md5(data).digest(); hashlib.sha1(data).digest(); hashlib.sha256(data).digest()
            continue
        im = Image.open(io.BytesIO(data))
        if mode == "pillow-decode":
            im.load()
        elif mode == "pillow-pdqhash":
            pdqhash.compute(np.asarray(im.convert("RGB")))
        elif mode == "pillow-draft-pdq":
            if im.format == "JPEG":
                im.draft("RGB", (512, 512))
            rgb = im.convert("RGB")
            if max(rgb.size) > 512:
                rgb.thumbnail((512, 512))
            pdqhash.compute(np.asarray(rgb))
        elif mode == "imagehash-phash":
            imagehash.phash(im)
        else:
            sys.exit(f"unknown mode {mode}")
    dt = time.perf_counter() - t0
    print(json.dumps({"mode": mode, "files": len(files), "bytes": total, "seconds": dt,
                      "files_per_s": len(files) / dt, "mb_per_s": total / dt / 1e6}))


if __name__ == "__main__":
    main()
