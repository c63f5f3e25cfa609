"""Makes a folder of upload-sized JPEGs from the benchmark corpus: each image scaled to at most
1280 px on its long side, quality 85 -- what platforms typically receive after client-side
resizing. Used by benches/pipeline.sh (large originals measure the broker, not hashline).
usage: python make_uploads.py SRC_FOLDER DST_FOLDER   (needs Pillow: ../shared/tools/setup-peers.sh)
"""
import os
import sys

from PIL import Image

src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
n = 0
for root, _, files in os.walk(src, followlinks=True):
    for f in sorted(files):
        try:
            im = Image.open(os.path.join(root, f))
            im.draft("RGB", (1280, 1280))
            im = im.convert("RGB")
            im.thumbnail((1280, 1280))
            im.save(os.path.join(dst, f"u{n:04d}.jpg"), quality=85)
            n += 1
        except Exception as e:  # not an image the corpus should have; skip it
            print(f"skipped {f}: {e}", file=sys.stderr)
print(f"{n} uploads in {dst}")
