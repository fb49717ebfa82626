#!/bin/sh
# experiment= steps and step variables: an outer experiment runs an inner
# one twice with other variables and its own results folders; step variables
# reach the pipeline; a self-including experiment and an unknown variable
# are refused before anything runs (exit 2). The step's outputs are those
# of the same lines run by hand with the values the variables give, byte
# for byte.
#   test-compose.sh AFFECT_RUN
set -eu
run=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/affect-compose-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

cat > "$tmp/inner.experiment" <<'X'
[experiment]
steps=tone
[variables]
FREQ=440
[step tone]
description=a ${FREQ} Hz tone into ${RESULTS}
launch=audiotestsrc num-buffers=5 freq=${FREQ} ! audioconvert ! wavenc ! filesink location="${RESULTS}/${NAME}.wav"
NAME=tone-${FREQ}
X
cat > "$tmp/outer.experiment" <<'X'
[experiment]
steps=low;high
[variables]
BASE=200
[step low]
experiment=inner
output=${RESULTS}/low
FREQ=${BASE}
[step high]
experiment=inner
FREQ=880
X
"$run" --dry-run "$tmp/outer.experiment" -o "$tmp/out" > "$tmp/dry.txt"
cat "$tmp/dry.txt"
grep -q "step 1 low/tone: .*freq=200 .*$tmp/out/low/tone-200.wav" "$tmp/dry.txt"
grep -q "step 2 high/tone: .*freq=880 .*$tmp/out/high/tone-880.wav" "$tmp/dry.txt"
test ! -e "$tmp/out/low"

"$run" "$tmp/outer.experiment" -o "$tmp/out" BASE=300 > "$tmp/run.txt"
cat "$tmp/run.txt"
test -s "$tmp/out/low/tone-300.wav"
test -s "$tmp/out/high/tone-880.wav"
grep -q '"name" : "high/tone"' "$tmp/out/results.json"
# BASE=300 reached the inner pipeline as freq=300, FREQ=880 as freq=880
for f in 300 880; do
  gst-launch-1.0 -q audiotestsrc num-buffers=5 freq=$f ! audioconvert ! \
      wavenc ! filesink location="$tmp/direct-$f.wav"
done
cmp "$tmp/out/low/tone-300.wav" "$tmp/direct-300.wav"
cmp "$tmp/out/high/tone-880.wav" "$tmp/direct-880.wav"

# an experiment that includes itself
cat > "$tmp/loop.experiment" <<'X'
[experiment]
steps=again
[step again]
experiment=loop
X
set +e
"$run" --dry-run "$tmp/loop.experiment" 2> "$tmp/err.txt"
status=$?
set -e
cat "$tmp/err.txt"
test $status -eq 2
grep -q "include each other more than" "$tmp/err.txt"

# a step variable naming an unknown variable
sed 's/FREQ=880/FREQ=${NOPE}/' "$tmp/outer.experiment" > "$tmp/bad.experiment"
set +e
"$run" --dry-run "$tmp/bad.experiment" 2> "$tmp/err.txt"
status=$?
set -e
test $status -eq 2
grep -q 'unknown variable ${NOPE}' "$tmp/err.txt"
echo ok
