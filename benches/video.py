#!/usr/bin/env python3
"""vPDQ speed, hashline beside Meta's `vpdq` package, on one core, in one run.

For each set of videos, each tool hashes every video at one hash per second in one process
pinned to CPU 0 (`taskset -c 0`): hashline as `hashline hash -j 1 VIDEOS...` (its FFmpeg child
processes included in the CPU time), the reference as one Python process calling
`vpdq.computeHash(path, seconds_per_hash=1, thread_count=1)` for each video. Reported: seconds
of video per CPU second (user + system, children included) and per wall second, medians of
RUNS, whether both selected the same frames and how many of them have bit-identical PDQ.

    /tmp/hashline-peers/bin/python benches/video.py target/release/hashline RUNS SET=VIDEOS... [SET=...]
"""
import json
import resource
import statistics
import subprocess
import sys
import time

REFERENCE = r"""
import json, sys, vpdq
out = {}
for p in sys.argv[1:]:
    out[p] = [[f.frame_number, f.hex] for f in vpdq.computeHash(p, seconds_per_hash=1, thread_count=1)]
print(json.dumps(out))
"""


def cpu_of_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd):
    c0, w0 = cpu_of_children(), time.perf_counter()
    out = subprocess.run(["taskset", "-c", "0", *cmd], check=True, capture_output=True, text=True).stdout
    return cpu_of_children() - c0, time.perf_counter() - w0, out


def duration(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip())


def main(hashline, runs, sets):
    py = sys.executable
    print("| videos | seconds of video | tool | video s per CPU s | video s per wall s | frames hashed | same frames | bit-identical |")
    print("|---|---:|---|---:|---:|---:|---|---:|")
    for name, videos in sets:
        seconds = sum(duration(v) for v in videos)
        results = {}
        frames = {}
        for tool, cmd in (("hashline", [hashline, "hash", "-j", "1", *videos]),
                          ("vpdq 0.2.5 (reference)", [py, "-c", REFERENCE, *videos])):
            cpu, wall = [], []
            for _ in range(runs):
                c, w, out = timed(cmd)
                cpu.append(c)
                wall.append(w)
            if tool == "hashline":
                frames[tool] = {j["path"]: [[f["frame_number"], f["pdq"]] for f in j["video"]["frames"]]
                                for j in map(json.loads, out.splitlines())}
            else:
                frames[tool] = json.loads(out)
            results[tool] = (statistics.median(cpu), statistics.median(wall))
        ours, ref = frames["hashline"], frames["vpdq 0.2.5 (reference)"]
        numbers = lambda fs: {p: [f[0] for f in v] for p, v in fs.items()}
        same = numbers(ours) == numbers(ref)
        identical = sum(a == b for p in ours for a, b in zip(ours[p], ref.get(p, [])))
        for tool, (c, w) in results.items():
            n = sum(len(v) for v in frames[tool].values())
            print(f"| {name} | {seconds:.0f} | {tool} | {seconds / c:.1f} | {seconds / w:.1f} | {n} | {'yes' if same else 'NO'} | {identical} |")
        ratio = results["vpdq 0.2.5 (reference)"][0] / results["hashline"][0]
        print(f"| {name} | | **hashline ÷ reference (CPU)** | **{ratio:.2f}×** | | | | |")


if __name__ == "__main__":
    hashline, runs = sys.argv[1], int(sys.argv[2])
    sets = []
    for arg in sys.argv[3:]:
        name, _, first = arg.partition("=")
        sets.append((name, [first]))
    # Several videos per set: `NAME=a.mp4,b.mp4`.
    sets = [(n, v[0].split(",")) for n, v in sets]
    main(hashline, runs, sets)
