#!/bin/sh
# Shows that every golden case fails when its output changes: each case is
# run with one property of its line under test changed a little
# (GOLDEN_SED), and must fail on the comparison (a "FAIL:" line; a pipeline
# that does not run does not count). Run by hand:
#   sh tests/golden/perturb.sh        (the build in build/; else set
#                                      AFFECT_BUILD_DIR, GST_PLUGIN_PATH)
set -u
here=$(dirname "$0")
status=0
while IFS=';' read -r case sed; do
  case "$case" in ''|'#'*) continue ;; esac
  log="${TMPDIR:-/tmp}/perturb-$case.log"
  if GOLDEN_SED="$sed" /usr/bin/python3 "$here/golden.py" "$case" \
      > "$log" 2>&1 || ! grep -q '^FAIL' "$log"; then
    echo "NOT CAUGHT: $case with '$sed'"
    tail -n 3 "$log"
    status=1
  else
    echo "caught: $case with '$sed': $(grep -m1 '^FAIL' \
        "$log")"
  fi
  rm -f "$log"
done <<'X'
affectsrc-items;identity|audioresample ! audio/x-raw,rate=15999 ! identity
affectmel-librosa;preset=librosa|preset=librosa fmin=1
affectmel-mtg-jamendo;preset=mtg-jamendo|preset=mtg-jamendo fmin=1
affectis09-items;affectis09 location|affectis09 input-scale=1.001 location
affectis09-windowed;hop=250000000|hop=260000000
affectis09-lld;output=lld|output=lld input-scale=1.001
affecthnr;seed=7|seed=8
affectclassify-train;seed=5|seed=6
affectclassify-infer;preset=mtg-jamendo ! affectclassify|preset=mtg-jamendo fmin=1 ! affectclassify
affectregress-train;lambda=1.0|lambda=1.1
affectregress-infer;affectis09 !|affectis09 input-scale=1.001 !
affectgate-train;seed=2|seed=3
affectgate-infer;threshold=0.5|threshold=0.62
affectmetrics-regression;affectgate name=g model-file|affectgate name=g threshold=0.62 model-file
affectmetrics-tags;decision=fitted|decision=fixed
affectmetrics-class;preset=mtg-jamendo ! affectclassify|preset=mtg-jamendo fmin=1 ! affectclassify
X
exit $status
