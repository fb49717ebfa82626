#!/bin/sh
# The main job on tiny corpora (affect-run quick): every experiment runs
# end to end, the report holds each section and its figures, and the tables
# are printed with the report's path.
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
echo ok
