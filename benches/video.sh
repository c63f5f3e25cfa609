#!/usr/bin/env bash
# vPDQ speed: hashline beside the reference `vpdq` package on one core (benches/video.py), on
# the 14 shared sample videos and two longer benign videos made on first use: 3 minutes of
# FFmpeg's test pattern at 1280×720, 30 frames/s, encoded by x264 with its default keyframe
# interval (one keyframe every 250 frames: one long group) and with a keyframe every 2 s (what
# streaming and upload transcoders usually make).
#
# Usage: benches/video.sh [RUNS]   (default 3)
# Needs: the peers' venv (../shared/tools/setup-peers.sh: vpdq 0.2.5 on Debian's FFmpeg), FFmpeg,
# util-linux (taskset), a release build of hashline.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
py=${HASHLINE_PEERS_PY:-/tmp/hashline-peers/bin/python}
[ -x "$py" ] || { bash ../shared/tools/setup-peers.sh /tmp/hashline-peers >&2; py=/tmp/hashline-peers/bin/python; }
cargo build --release --locked -p hashline >&2
work=/tmp/hashline-bench-video
mkdir -p "$work"
longer="$work/testsrc2-720p-3min.mp4"
[ -s "$longer" ] || ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30:duration=180 \
  -pix_fmt yuv420p -c:v libx264 -preset veryfast -crf 23 "$longer"
grouped="$work/testsrc2-720p-3min-g60.mp4"
[ -s "$grouped" ] || ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30:duration=180 \
  -pix_fmt yuv420p -c:v libx264 -preset veryfast -crf 23 -g 60 "$grouped"
samples=$(ls ../shared/pdq-vectors/tmk/sample-videos/*.mp4 | paste -sd,)
echo "machine: $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); ffmpeg $(ffmpeg -version | head -1 | cut -d' ' -f3); $runs runs, medians, CPU 0 only" >&2
"$py" benches/video.py target/release/hashline "$runs" "14 sample videos=$samples" "720p, 3 min=$longer" "720p, 3 min, keyframe every 2 s=$grouped"
