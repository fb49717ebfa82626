#!/bin/sh
# The main job on tiny corpora (affect-run quick): every experiment runs
# end to end, the report holds each section and its figures, the tables
# are printed with the report's path, and every number of the report
# (report.json: Table III, MAE tables, sweeps, confusion matrices) is the
# stored one (ref/quick-report.json), within 1e-6 + 1e-4 relative: training
# runs with one thread, bit-reproducible on one machine; another CPU's BLAS
# kernel moves the last bits. GOLDEN_UPDATE=1 rewrites the stored file.
#   test-quick.sh AFFECT_RUN
set -eu
run=$1
if ! command -v espeak-ng > /dev/null 2>&1; then
  echo "SKIP: espeak-ng is not installed (the speech corpus needs it)"
  exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/affect-quick-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export AFFECT_CACHE_DIR="$tmp/cache"
# training results may differ in the last bits with the thread count
export AFFECT_THREADS=1
ref="${AFFECT_SOURCE_DIR:-$(dirname "$0")/../..}/tests/pipeline"

"$run" quick -o "$tmp/quick" > "$tmp/out.txt"
tail -n 60 "$tmp/out.txt"
report="$tmp/quick/report"
for f in report.md report.json vat-sweep-mae-lambda.png \
    vat-sweep-mae-epsilon.png confusion-music-quadrants-hnr.png; do
  test -s "$report/$f" || { echo "missing $report/$f"; exit 1; }
done
for s in "Table III layout" "Music (music-tags)" "cross-corpus" \
    "spontaneity" "MAE against λ" "gated system"; do
  grep -q "$s" "$report/report.md" || { echo "report lacks '$s'"; exit 1; }
done
# the tables and the report's path are printed at the end
grep -q "| + hnr |" "$tmp/out.txt"
grep -q "affect-run: report: $report/report.md" "$tmp/out.txt"
# PNGs are PNGs
head -c 8 "$report/vat-sweep-mae-lambda.png" | od -An -tx1 | grep -q "89 50 4e 47"
# the numbers
/usr/bin/python3 "$ref/compare-json.py" "$report/report.json" \
    "$ref/ref/quick-report.json" 1e-6 1e-4
echo ok
