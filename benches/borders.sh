#!/usr/bin/env bash
# Border benchmark (recall on letterboxed, framed and padded copies; false matches between
# distinct benign pictures): the reference PDQ, python-threatexchange's unletterbox and
# hashline's border_trimmed variant, in one run. See benches/borders.py.
#
# Usage: benches/borders.sh [LISTED]   (default 60 listed pictures)
# Needs: the peers' venv (../shared/tools/setup-peers.sh: Pillow, pdqhash, threatexchange),
# ffmpeg, the corpus (installed on first use), ../shared/pdq-vectors.
set -euo pipefail
cd "$(dirname "$0")/.."
shared="$(pwd)/../shared"
py=${HASHLINE_PEERS_PY:-/tmp/hashline-peers/bin/python}
[ -d /tmp/hashline-corpus/all ] || bash "$shared/corpus/install.sh" /tmp/hashline-corpus >&2
[ -x "$py" ] || { bash "$shared/tools/setup-peers.sh" /tmp/hashline-peers >&2; py=/tmp/hashline-peers/bin/python; }
cargo build --release --locked -q -p hashline
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$py" benches/borders.py "$(pwd)/target/release/hashline" /tmp/hashline-corpus/all "$shared/pdq-vectors" \
  "$shared/pdq-vectors/tmk/sample-videos" "$work" "${1:-60}"
