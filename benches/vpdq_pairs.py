#!/usr/bin/env python3
"""Matching on the shared sample videos, hashline beside python-threatexchange (HMA's library).

Each chair-*/pattern-* variant (grey, sepia, logos, bars, SD/HD, a longer cut) is hashed at one
hash per second and compared with the hashes of its original as the ThreatExchange repository
ships them (`vpdq/sample-hashes/*.txt`, every frame hashed):

* hashline: the originals imported as a list (`hashline lists import --format vpdq`), each
  variant hashed with `hashline hash` and matched with `hashline match --stdin` (the list
  index, the reference's rule: distance <= 31, quality >= 50, query >= 80 %, compared >= 0 %);
* hashline with `--trim-borders`: each frame inside letterbox or pillarbox bars also matched
  by the picture inside them (hashline's own variant, not in the reference);
* pytx: the variant hashed by `VPDQSignal.hash_from_file` (the `vpdq` package) and compared
  with `VPDQSignal.compare_hash` (the same defaults), and pytx's matcher on hashline's frames.

    /tmp/hashline-peers/bin/python benches/vpdq_pairs.py target/release/hashline ../shared/pdq-vectors

(the venv from ../shared/tools/setup-peers.sh: threatexchange 1.2.17, vpdq 0.2.5).
"""
import json
import pathlib
import subprocess
import sys
import tempfile

from threatexchange.extensions.vpdq.vpdq import VPDQSignal
from threatexchange.extensions.vpdq.vpdq_util import VpdqCompactFeature, vpdq_to_json

ORIGINALS = {
    "chair": ["chair-orig-22-sd-bar", "chair-orig-22-hd-no-bar", "chair-orig-22-fhd-no-bar"],
    "pattern": ["pattern-hd-no-bar", "pattern-longer-no-bar"],
}


def reference_to_signal(path: pathlib.Path) -> str:
    feats = []
    for line in path.read_text().splitlines():
        if line.strip():
            _, q, h, t = line.split(",")
            feats.append(VpdqCompactFeature(h, int(q), float(t)))
    return vpdq_to_json(feats)


def trim_cell(m) -> str:
    if not m:
        return "no"
    v = m["video"]
    return f"{v['query_percent']:.1f} / {v['compared_percent']:.1f} match"


def main(hashline: str, vectors: str) -> None:
    v = pathlib.Path(vectors)
    videos = sorted((v / "tmk/sample-videos").glob("*.mp4"))
    hashes = v / "vpdq/sample-hashes"
    with tempfile.TemporaryDirectory() as tmp:
        store = pathlib.Path(tmp) / "store"
        files = [str(hashes / f"{o}.txt") for group in ORIGINALS.values() for o in group]
        subprocess.run([hashline, "lists", "import", "--store", str(store), "--name", "originals",
                        "--format", "vpdq", *files], check=True, capture_output=True)
        print(f"| variant | original | hashline query % | compared % | match | pytx (vpdq hashing) query % | compared % | match | pytx on hashline's frames | hashline with frame border trimming |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for video in videos:
            family = next((k for k in ORIGINALS if video.stem.startswith(k)), None)
            if family is None:
                continue
            line = subprocess.run([hashline, "hash", str(video)], check=True, capture_output=True, text=True).stdout
            matched = subprocess.run([hashline, "match", "--store", str(store), "--stdin"], input=line,
                                     capture_output=True, text=True).stdout
            ours = {m["entry_id"]: m for m in json.loads(matched)["matches"] if m["signal"] == "vpdq"}
            # hashline's own variant: the picture inside each frame's bars (`--trim-borders`).
            trimmed_line = subprocess.run([hashline, "hash", "--trim-borders", str(video)], check=True,
                                          capture_output=True, text=True).stdout
            trimmed = subprocess.run([hashline, "match", "--store", str(store), "--stdin"], input=trimmed_line,
                                     capture_output=True, text=True).stdout
            ours_trimmed = {m["entry_id"]: m for m in json.loads(trimmed)["matches"] if m["signal"] == "vpdq"}
            frames = json.loads(line)["video"]["frames"]
            our_signal = vpdq_to_json([VpdqCompactFeature(f["pdq"], f["quality"], f["timestamp"]) for f in frames])
            pytx_signal = VPDQSignal.hash_from_file(video)
            for original in ORIGINALS[family]:
                if original == video.stem:
                    continue
                listed = reference_to_signal(hashes / f"{original}.txt")
                theirs = VPDQSignal.compare_hash(pytx_signal, listed)
                theirs_on_ours = VPDQSignal.compare_hash(our_signal, listed)
                m = ours.get(original)
                # hashline lists only matches; a pair under the thresholds is computed by the
                # same rule on the same frames with pytx's brute-force matcher.
                q = m["video"]["query_percent"] if m else theirs_on_ours.distance.query_match_percent
                c = m["video"]["compared_percent"] if m else theirs_on_ours.distance.compared_match_percent
                print(f"| {video.stem} | {original} | {q:.1f} | {c:.1f} | {'yes' if m else 'no'} | "
                      f"{theirs.distance.query_match_percent:.1f} | "
                      f"{theirs.distance.compared_match_percent:.1f} | {'yes' if theirs.match else 'no'} | "
                      f"{'yes' if theirs_on_ours.match else 'no'} | {trim_cell(ours_trimmed.get(original))} |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
