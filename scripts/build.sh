#!/bin/sh
# Configures (once) and builds gst-affect in ./build.
set -e
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || meson setup build "$@"
meson compile -C build
