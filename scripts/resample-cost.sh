#!/bin/bash
# What the choice of resampler costs IS09: the 384 features (affectis09) of
# 16 kHz audio made by sox's very-high-quality resampler (`rate -v`, the way
# the openSMILE references were made) against the same features of audio
# resampled by GStreamer's audioresample at its default quality (4) and at
# quality=10. Every item is resampled alone (affectsrc rate=16000: a fresh
# resampler per item, docs/protocol.md "Items").
#
# Usage: scripts/resample-cost.sh [WAV_DIR] [MAX_FILES]
#   WAV_DIR    22.05 kHz mono 16-bit WAVs (default ../shared/data/emodb/wav)
#   MAX_FILES  use the first N files in name order (default: all)
# Needs GST_PLUGIN_PATH pointing at the built plugin (default: build/plugins
# of this tree), sox and python3. Writes only to a temporary folder.
#
# Relative difference per value: |x - ref| / max(|ref|, 1e-3 max|ref| of the
# vector), ref = the sox-made audio's vector (the measure of
# tests/conformance/test-is09-conformance.c).
set -euo pipefail

HERE="$(cd "$(dirname "$0")/.." && pwd)"
WAV_DIR="${1:-$HERE/../shared/data/emodb/wav}"
MAX="${2:-0}"
export GST_PLUGIN_PATH="${GST_PLUGIN_PATH:-$HERE/build/plugins}"

[ -d "$WAV_DIR" ] || { echo "no folder $WAV_DIR" >&2; exit 1; }
command -v sox >/dev/null || { echo "sox is not installed" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

mkdir -p "$TMP/sox"
echo "id,path" > "$TMP/orig.csv"
echo "id,path" > "$TMP/sox.csv"
n=0
for f in $(ls "$WAV_DIR"/*.wav | sort); do
  id="$(basename "$f" .wav)"
  sox -V1 -R -D "$f" -r 16000 -c 1 -b 16 -e signed-integer "$TMP/sox/$id.wav" rate -v
  echo "$id,$f" >> "$TMP/orig.csv"
  echo "$id,$TMP/sox/$id.wav" >> "$TMP/sox.csv"
  n=$((n + 1))
  [ "$MAX" -gt 0 ] && [ "$n" -ge "$MAX" ] && break
done
echo "$n files from $WAV_DIR"

is09 () {  # manifest, affectsrc properties, output CSV
  gst-launch-1.0 -q affectsrc location="$1" $2 ! audioconvert ! \
    audio/x-raw,format=F32LE,channels=1,rate=16000 ! \
    affectis09 location="$3" ! fakesink
}
is09 "$TMP/sox.csv" "" "$TMP/sox.out"
is09 "$TMP/orig.csv" "rate=16000 channels=1 resample-quality=4" "$TMP/q4.out"
is09 "$TMP/orig.csv" "rate=16000 channels=1 resample-quality=10" "$TMP/q10.out"

python3 - "$TMP" <<'PY'
import csv, statistics, sys
tmp = sys.argv[1]
def load(name):
    rows = list(csv.reader(open(f"{tmp}/{name}.out")))[1:]
    return {r[0]: [float(v) for v in r[1:]] for r in rows}
ref = load("sox")
for name, label in (("q4", "audioresample quality=4 (default)"),
                    ("q10", "audioresample quality=10")):
    got = load(name)
    rel = []
    for key, r in ref.items():
        g = got[key]
        floor = 1e-3 * max(abs(v) for v in r)
        rel += [abs(a - b) / max(abs(b), floor) for a, b in zip(g, r)]
    within = sum(x <= 1e-3 for x in rel) / len(rel)
    print(f"{label}: {len(ref)} files, {len(rel)} values, median relative "
          f"difference {statistics.median(rel):.2e}, within 1e-3: "
          f"{100 * within:.1f} %")
PY
