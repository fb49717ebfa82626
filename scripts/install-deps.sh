#!/bin/sh
# Installs every Debian 12 package that gst-affect's build, tests and
# benchmarks need. Idempotent; run as root (or: sudo scripts/install-deps.sh).
# clang, libclang-rt-dev (libFuzzer, the sanitizer runtimes) and llvm
# (llvm-symbolizer, which names the frames of sanitizer reports and of
# tests/lsan.supp) serve the sanitizer build, scripts/sanitize.sh.
set -e

PACKAGES="
  meson ninja-build pkg-config gcc
  libglib2.0-dev libjson-glib-dev libfftw3-dev libopenblas-dev libcairo2-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  espeak-ng libespeak-ng-dev sox
  clang libclang-rt-dev llvm
  python3 python3-numpy python3-scipy python3-sklearn python3-torch
  libsoup-3.0-dev chromium
"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing packages:$missing" >&2
  echo "install-deps: run as root: sudo $0" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -q --no-install-recommends $missing
