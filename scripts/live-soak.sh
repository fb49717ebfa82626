#!/bin/sh
# Soak run of `affect-run live` (not in CI): an RTP feed over UDP on
# 127.0.0.1 into the gated speech chain for SECONDS, the feed killed and
# restarted every CYCLE seconds, the service's RSS and open file
# descriptors sampled every STEP seconds (docs/live.md, "Soak").
#   scripts/live-soak.sh [SECONDS [CYCLE [STEP]]]     (default 300 60 30)
# Needs a build tree (build/). Prints "seconds rss_kib fds windows outages".
set -eu
seconds=${1:-300}
cycle=${2:-60}
step=${3:-30}
top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/build/tools/affect-run/affect-run
tmp=$(mktemp -d "${TMPDIR:-/tmp}/affect-soak-XXXXXX")
port=$((20000 + $$ % 20000))
http=$((port + 1))
feed=
svc=
cleanup() {
  [ -n "$feed" ] && kill "$feed" 2>/dev/null || true
  [ -n "$svc" ] && kill "$svc" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

"$top/build/tests/pipeline/live-models" "$tmp"
start_feed() {
  gst-launch-1.0 -q audiotestsrc is-live=true wave=pink-noise ! audioconvert ! \
      audioresample ! audio/x-raw,format=S16BE,channels=1,rate=16000 ! \
      rtpL16pay ! udpsink host=127.0.0.1 port=$port >/dev/null 2>&1 &
  feed=$!
}
start_feed
"$run" live --duration "$seconds" SOURCE=rtp://127.0.0.1:$port \
    GATE="$tmp/gate.safetensors" MODEL_SPONTANEOUS="$tmp/spontaneous.safetensors" \
    MODEL_SCRIPTED="$tmp/scripted.safetensors" HOP=0.5 TIMEOUT=2 \
    RECONNECT_MIN=0.25 RECONNECT_MAX=2 PORT=$http OUTPUT="$tmp/live.jsonl" \
    ROTATE_SIZE=100000 2>"$tmp/service.log" &
svc=$!
metric() {
  curl -s "http://127.0.0.1:$http/metrics" |
      awk -v m="$1" '$1 ~ "^"m"({|$)" { s += $2 } END { print s + 0 }'
}
echo "seconds rss_kib fds windows outages"
t=0
while [ "$t" -lt "$seconds" ] && kill -0 "$svc" 2>/dev/null; do
  sleep "$step"
  t=$((t + step))
  if [ $((t % cycle)) -eq 0 ]; then
    kill "$feed"; wait "$feed" 2>/dev/null || true
    sleep 4
    start_feed
  fi
  [ -r /proc/$svc/status ] || break
  rss=$(awk '/VmRSS/ { print $2 }' /proc/$svc/status)
  fds=$(ls /proc/$svc/fd | wc -l)
  echo "$t $rss $fds $(metric affect_live_windows_total) $(metric affect_live_outages_total)"
done
wait "$svc" || true
svc=
grep -E "source lost|source back" "$tmp/service.log" | head -20
