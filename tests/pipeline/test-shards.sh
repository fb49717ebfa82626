#!/bin/sh
# Sharding: a regressor scored by one run and by three shards; the shards'
# per-item files merged by `affect-run merge` give the very same metrics as
# the single run's files merged (byte-identical JSON), the same per-item
# predictions, and the same MAE as the single run's own affectmetrics
# report; and those metrics are the stored ones (ref/shards-score.json, to
# 1e-4 relative: the model is trained with one thread, bit-reproducible on
# one machine; another CPU's BLAS kernel moves the last bits, and 1e-4 keeps
# any change of data, seed or training visible). GOLDEN_UPDATE=1 rewrites
# the stored file.
#   test-shards.sh AFFECT_RUN
set -eu
run=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/affect-shards-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export AFFECT_CACHE_DIR="$tmp/cache"
# training results may differ in the last bits with the thread count
export AFFECT_THREADS=1
ref="${AFFECT_SOURCE_DIR:-$(dirname "$0")/../..}/tests/pipeline"

# a small labelled corpus (tones, valence/arousal targets) and a model
"$run" -q tones ITEMS=12 -o "$tmp/tones"
manifest="$AFFECT_CACHE_DIR/tones-seed1-12/manifest.csv"
"$run" -q train-regressor MANIFEST="$manifest" TARGETS=valence,arousal \
    EPOCHS=5 MODEL="$tmp/model.safetensors" -o "$tmp/train"

# one run, then three shards, the test items of the corpus
"$run" -q score MANIFEST="$manifest" SPLIT=test MODEL="$tmp/model.safetensors" \
    -o "$tmp/one"
for i in 0 1 2; do
  "$run" -q --shard $i/3 score MANIFEST="$manifest" SPLIT=test \
      MODEL="$tmp/model.safetensors" -o "$tmp/three"
done
test -f "$tmp/three/results-2-of-3.json"
"$run" merge "$tmp/one" > "$tmp/one.txt"
"$run" merge "$tmp/three" > "$tmp/three.txt"
cat "$tmp/three.txt"

# three shards hold every item once
n_one=$(($(wc -l < "$tmp/one/score-items-0-of-1.csv") - 2))
n_three=0
for i in 0 1 2; do
  n=$(($(wc -l < "$tmp/three/score-items-$i-of-3.csv") - 2))
  test "$n" -gt 0
  n_three=$((n_three + n))
done
echo "items: one run $n_one, three shards $n_three"
test "$n_one" -eq 12
test "$n_three" -eq "$n_one"

# bit-identical metrics
cmp "$tmp/one/score.json" "$tmp/three/score.json"
grep -q '"mae_mean"' "$tmp/three/score.json"
# and the single run's own report agrees on every MAE to 1e-12
/usr/bin/python3 - "$tmp/one/score-0-of-1.json" "$tmp/three/score.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))["overall"]
b = json.load(open(sys.argv[2]))["overall"]
assert a["n_items"] == b["n_items"], (a["n_items"], b["n_items"])
for x, y in zip(a["per_output"], b["per_output"]):
    assert x["name"] == y["name"]
    for k in ("mae", "rmse"):
        assert abs(x[k] - y[k]) <= 1e-12, (k, x[k], y[k])
print("merged == unsharded: n=%d, MAE %s" % (b["n_items"],
      ", ".join("%s %.6f" % (o["name"], o["mae"]) for o in b["per_output"])))
PY
# every item's prediction is the same in the shards as in the single run
/usr/bin/python3 - "$tmp/one/score-items-0-of-1.csv" \
    "$tmp"/three/score-items-?-of-3.csv <<'PY'
import csv, sys
def rows(paths):
    out = {}
    for p in paths:
        for r in csv.reader(open(p)):
            # index,id,split,route,true:…,score:… (index restarts per shard)
            if r and not r[0].startswith("#") and r[0] != "index":
                out[r[1]] = r[1:]
    return out
one, three = rows(sys.argv[1:2]), rows(sys.argv[2:])
assert sorted(one) == sorted(three), (sorted(one), sorted(three))
for k in one:
    assert one[k] == three[k], (one[k], three[k])
print("per-item rows identical: %d items" % len(one))
PY
# and the metrics are the stored ones
/usr/bin/python3 "$ref/compare-json.py" "$tmp/three/score.json" \
    "$ref/ref/shards-score.json" 1e-6 1e-4

# a missing shard is an error naming the file
rm "$tmp/three/score-items-1-of-3.csv"
if "$run" merge "$tmp/three" 2> "$tmp/err.txt"; then
  echo "merge with a missing shard succeeded"; exit 1
fi
grep -q "score-items-1-of-3.csv is missing" "$tmp/err.txt"
echo ok
