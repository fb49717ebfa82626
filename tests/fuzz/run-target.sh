#!/bin/sh
# Runs one libFuzzer target for meson test:
#   run-target.sh FUZZER WORK-CORPUS SEED-CORPUS libFuzzer-options...
# New inputs go to WORK-CORPUS (kept between runs); SEED-CORPUS is only read.
set -e
exe=$1 corpus=$2 seeds=$3
shift 3
mkdir -p "$corpus"
if [ -d "$seeds" ]; then
  exec "$exe" "$@" "$corpus" "$seeds"
fi
exec "$exe" "$@" "$corpus"
