#!/bin/sh
# The sanitizer build and the fuzz smoke (run by CI after the main suite).
# Configures (once) ./build-san with clang, AddressSanitizer (LeakSanitizer
# on) and UndefinedBehaviorSanitizer, and the libFuzzer targets; builds it;
# runs the unit, element and conformance suites and every fuzz target for
# -Dfuzz-seconds (60 s). Any memory error, leak, undefined behaviour or
# fuzzer finding fails its test; tests/lsan.supp lists the only leaks
# tolerated (one-time allocations of the system libraries). Extra arguments
# go to meson setup. docs/testing.md explains the build.
set -e
cd "$(dirname "$0")/.."
[ -f build-san/build.ninja ] || CC=clang meson setup build-san \
  -Db_sanitize=address,undefined -Db_lundef=false -Dfuzz=true "$@"
meson compile -C build-san
meson test -C build-san --print-errorlogs --timeout-multiplier 10 \
  --suite unit --suite element --suite conformance --suite fuzz
