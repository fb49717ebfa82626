#!/usr/bin/python3
"""affect-run live end to end (suite 'pipeline').

  test-live.py AFFECT_RUN LIVE_MODELS            the service test
  test-live.py AFFECT_RUN LIVE_MODELS --page     the page in headless Chromium

Service test: an RTP/L16 feed sent over UDP on 127.0.0.1 by a second
gst-launch process reaches the gated speech chain; the feed is killed, the
service logs the outage and reconnects when the feed is restarted; /metrics
is parsed (one outage, two connections, scores, latency), /events delivers a
window, /recent and the rotated JSON-lines files hold the documented fields,
file descriptors stay flat across the reconnection, SIGTERM stops the
service with status 0. Then the music chain runs on the test source, and a model it cannot load
stops the service with status 1 instead of reconnecting.

Page test: the page is opened in headless Chromium; the screenshot is kept
in the test log folder and checked for the plotted series' colours. Skipped
(exit 77) when Chromium is not installed.

Every wait is bounded; every process started here is stopped at the end.
"""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib

RUN, MODELS = sys.argv[1], sys.argv[2]
PAGE = "--page" in sys.argv[3:]
CHROMIUM = os.environ.get("AFFECT_CHROMIUM", "/usr/bin/chromium")
LOGDIR = os.path.join(os.environ.get("AFFECT_BUILD_DIR", tempfile.gettempdir()),
                      "meson-logs", "live")
procs = []


def log(*a, sep=" "):
    print(*a, sep=sep, flush=True)


def free_port(kind):
    import socket
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(args, **kw):
    p = subprocess.Popen(args, **kw)
    procs.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=10):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


def wait_for(what, pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))


def sender(port):
    return start(["gst-launch-1.0", "-q", "audiotestsrc", "is-live=true",
                  "wave=pink-noise", "!", "audioconvert", "!", "audioresample", "!",
                  "audio/x-raw,format=S16BE,channels=1,rate=16000", "!",
                  "rtpL16pay", "!", "udpsink", "host=127.0.0.1", "port=%d" % port],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def http(port, path, timeout=5):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


METRIC = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def parse_metrics(text):
    """Prometheus text format → {(name, labels): value}; checks every line"""
    out, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("gauge", "counter", "histogram"), line
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = METRIC.match(line)
        assert m, "not a metric line: %r" % line
        labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    for (name, _) in out:
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or base in types, "no # TYPE for " + name
    return out


def service(tmp, args, name):
    err = open(os.path.join(LOGDIR, name + ".log"), "w")
    p = start([RUN, "live", "PORT=0"] + args, stdout=subprocess.DEVNULL, stderr=err)
    path = err.name
    port = int(wait_for("the HTTP port in " + path, lambda: (re.search(
        r"serving http://127\.0\.0\.1:(\d+)/", read(path)) or [None, None])[1], 20))
    return p, port, path


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib(pid):
    m = re.search(r"VmRSS:\s+(\d+)", read("/proc/%d/status" % pid))
    return int(m.group(1))


def windows_total(port):
    m = parse_metrics(http(port, "/metrics")[2])
    return sum(v for (n, _), v in m.items() if n == "affect_live_windows_total")


def check_latency(latency, processing, source):
    """Capture-to-result latency (docs/live.md, "Latency"): a sample is
    captured no later than it reaches the analysis, so latency >= the
    processing time >= 0 (1 ms for the two clocks being read at slightly
    different instants). Above: by GStreamer's latency contract a source
    delivers a sample within its reported latency of the sample's
    timestamp, so latency <= source latency + processing, plus 0.1 s for
    scheduling on a loaded two-core machine."""
    log("latency: %s, processing: %s, source latency %.3f s" % (
        " ".join("%.4f" % x for x in latency), " ".join("%.4f" % x for x in processing), source))
    assert latency and len(latency) == len(processing)
    for lat, proc in zip(latency, processing):
        assert lat >= 0.0, latency
        assert lat >= proc - 0.001, (lat, proc)
        assert lat <= source + proc + 0.1, (lat, proc, source)


def test_service(tmp):
    udp = free_port(__import__("socket").SOCK_DGRAM)
    out = os.path.join(tmp, "live.jsonl")
    feed = sender(udp)
    svc, port, errlog = service(tmp, [
        "SOURCE=rtp://127.0.0.1:%d" % udp,
        "GATE=%s/gate.safetensors" % tmp,
        "MODEL_SPONTANEOUS=%s/spontaneous.safetensors" % tmp,
        "MODEL_SCRIPTED=%s/scripted.safetensors" % tmp,
        "HOP=0.5", "TIMEOUT=1.5", "RECONNECT_MIN=0.25", "RECONNECT_MAX=1",
        "OUTPUT=" + out, "ROTATE_SIZE=1000", "ROTATE_KEEP=3"], "service")
    log("service on port", port, "feed on udp", udp)

    # /events: the first window reaches an SSE client
    with urllib.request.urlopen("http://127.0.0.1:%d/events" % port, timeout=15) as r:
        assert r.headers.get("Content-Type").startswith("text/event-stream")
        event = None
        while True:
            line = r.readline().decode()
            assert line, "/events closed"
            if line.startswith("event: "):
                event = line[7:].strip()
            elif line.startswith("data: ") and event == "window":
                first = json.loads(line[6:])
                break
    log("first event:", json.dumps(first))
    for key in ("time", "connection", "running_time", "window_start",
                "window_duration", "latency", "processing", "source_latency",
                "task", "route", "spontaneity", "names", "scores"):
        assert key in first, key
    assert first["type"] == "window" and first["task"] == "speech"
    assert first["names"] == ["arousal", "valence"] and len(first["scores"]) == 2
    assert first["route"] in ("spontaneous", "scripted")
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", first["time"])
    assert abs(first["window_duration"] - 2.0) < 1e-3

    wait_for("4 windows", lambda: windows_total(port) >= 4, 20)
    fd_before, rss_before = fds(svc.pid), rss_kib(svc.pid)

    # the feed dies: an outage; it comes back: the service reconnects
    stop(feed)
    wait_for("the outage in the log", lambda: "source lost" in read(errlog), 10)
    m = parse_metrics(http(port, "/metrics")[2])
    assert m[("affect_live_up", ())] == 0
    time.sleep(2.0)
    feed = sender(udp)
    wait_for("the reconnection in the log",
             lambda: "source back after" in read(errlog), 20)
    n = windows_total(port)
    wait_for("windows after the reconnection", lambda: windows_total(port) >= n + 3, 20)
    fd_after, rss_after = fds(svc.pid), rss_kib(svc.pid)
    log("fds %d -> %d, RSS %d -> %d KiB" % (fd_before, fd_after, rss_before, rss_after))
    assert fd_after <= fd_before + 2, (fd_before, fd_after)

    status, ctype, text = http(port, "/metrics")
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
    m = parse_metrics(text)
    log("\n".join(l for l in text.splitlines() if not l.startswith("#")
                  and "_bucket" not in l))
    assert m[("affect_live_up", ())] == 1
    assert m[("affect_live_outages_total", ())] == 1
    assert m[("affect_live_connections_total", ())] == 2
    assert m[("affect_live_outage_seconds_total", ())] >= 2.0
    assert m[("affect_live_source_failures_total", ())] >= 1
    assert windows_total(port) >= 7
    routes = {dict(l)["route"] for (name, l) in m if name == "affect_live_score"}
    assert routes and routes <= {"spontaneous", "scripted"}, routes
    names = {dict(l)["name"] for (name, l) in m if name == "affect_live_score"}
    assert names == {"arousal", "valence"}, names
    assert 0.0 <= m[("affect_live_spontaneity", ())] <= 1.0
    count = m[("affect_live_latency_seconds_count", ())]
    assert count >= 7 and m[("affect_live_latency_seconds_bucket", (("le", "+Inf"),))] == count
    assert 0.0 <= m[("affect_live_processing_seconds_last", ())] < 1.0
    # the source reports rtpjitterbuffer's latency (JITTER, 200 ms)
    source = m[("affect_live_source_latency_seconds", ())]
    assert 0.2 - 1e-6 <= source < 0.3, source
    check_latency([m[("affect_live_latency_seconds_last", ())]],
                  [m[("affect_live_processing_seconds_last", ())]], source)
    assert m[("affect_live_latency_seconds_sum", ())] >= 0.0

    status, ctype, text = http(port, "/recent")
    recent = json.loads(text)
    assert len(recent) >= 7 and all(r["type"] == "window" for r in recent)
    assert {r["connection"] for r in recent} == {1, 2}
    assert http(port, "/healthz")[0] == 200
    status, ctype, page = http(port, "/")
    assert ctype.startswith("text/html") and "EventSource" in page
    assert "http://" not in page and "https://" not in page  # self-contained

    assert stop(svc) == 0, "SIGTERM: exit status %s" % svc.returncode
    stop(feed)
    text = read(errlog)
    log("service log:\n" + text)
    assert re.search(r"source back after a \d+\.\d s outage", text)

    # JSON lines, rotated at 1000 bytes into live.jsonl.1 … .3
    files = [out] + [out + ".%d" % k for k in (1, 2, 3) if os.path.exists(out + ".%d" % k)]
    assert len(files) >= 2, "no rotation"
    for f in files:
        assert os.path.getsize(f) <= 1000 + 600, f
    lines = [json.loads(l) for f in reversed(files) for l in read(f).splitlines()]
    kinds = [l["type"] for l in lines]
    assert "outage" in kinds and "reconnected" in kinds, kinds
    windows = [l for l in lines if l["type"] == "window"]
    check_latency([l["latency"] for l in windows], [l["processing"] for l in windows],
                  windows[-1]["source_latency"])
    rec = next(l for l in lines if l["type"] == "reconnected")
    assert rec["outage_seconds"] >= 2.0 and rec["connection"] == 2
    log("reconnection lines:", *[json.dumps(l) for l in lines if l["type"] != "window"],
        sep="\n")


def test_music(tmp):
    svc, port, errlog = service(tmp, [
        "SOURCE=test", "TASK=music", "MODEL=%s/moodnet.safetensors" % tmp,
        "HOP=1", "TOP_K=2", "--duration", "10"], "music")
    wait_for("a music window", lambda: windows_total(port) >= 1, 20)
    recent = json.loads(http(port, "/recent")[2])
    w = recent[0]
    assert w["task"] == "music" and len(w["scores"]) == 4 and len(w["labels"]) == 2
    assert "activated_pleasant" in w["names"] and "route" not in w
    log("music window:", json.dumps(w))
    # audiotestsrc reports one buffer (1024 samples at 12 kHz) as latency
    assert abs(w["source_latency"] - 1024 / 12000) < 1e-3, w
    check_latency([r["latency"] for r in recent], [r["processing"] for r in recent],
                  w["source_latency"])
    assert stop(svc) == 0

    # a model the analysis cannot load is no outage: exit 1 at once
    r = subprocess.run([RUN, "live", "SOURCE=test", "TASK=music",
                        "MODEL=%s/regress.safetensors" % tmp, "--duration", "20"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True, timeout=30)
    log("wrong model:", r.stderr.strip().splitlines()[-2])
    assert r.returncode == 1 and "error from classify" in r.stderr, r.stderr
    assert "attempt" not in r.stderr


def test_held_back(tmp):
    """A source whose timestamps lag its delivery, as a capture card's do
    (stamped at capture, pushed when its buffer is full): a queue holds
    10-ms buffers back for 100 ms. The latency must show the 100 ms, less
    what a window's end can lead its buffer: one 10-ms buffer, and up to
    15 ms because affectis09 completes a window with its last whole frame
    (25 ms every 10 ms)."""
    svc, port, errlog = service(tmp, [
        "SOURCE=launch:audiotestsrc is-live=true samplesperbuffer=160 ! queue "
        "min-threshold-time=100000000 max-size-time=0 max-size-buffers=0 "
        "max-size-bytes=0", "MODEL=%s/regress.safetensors" % tmp, "HOP=0.5",
        "--duration", "20"], "held-back")
    wait_for("4 windows", lambda: windows_total(port) >= 4, 20)
    recent = json.loads(http(port, "/recent")[2])
    assert stop(svc) == 0
    # the queue reports its threshold, audiotestsrc its 10-ms buffer
    assert abs(recent[-1]["source_latency"] - 0.11) < 1e-3, recent[-1]
    check_latency([r["latency"] for r in recent], [r["processing"] for r in recent],
                  recent[-1]["source_latency"])
    assert all(r["latency"] >= 0.1 - 0.01 - 0.015 for r in recent), recent


def png_pixels(path):
    """RGB(A) 8-bit non-interlaced PNG → (width, height, rows of bytes)"""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def test_page(tmp):
    if not os.access(CHROMIUM, os.X_OK):
        log("SKIP: %s is not installed (Debian package chromium); the page "
            "test needs a headless browser" % CHROMIUM)
        sys.exit(77)
    svc, port, errlog = service(tmp, [
        "SOURCE=test", "MODEL=%s/regress.safetensors" % tmp, "HOP=0.5",
        "--duration", "60"], "page")
    wait_for("6 windows", lambda: windows_total(port) >= 6, 30)
    # headless chromium shoots at a moment of its own choosing: on a busy
    # machine that can come before the page's first fetch has answered
    # (the page then still says "connecting…"), so a blank plot is shot
    # again, up to three times; a page that never plots still fails
    for attempt in range(1, 4):
        counts = screenshot_counts(tmp, port, attempt)
        if all(v > 150 for v in counts.values()):
            break
    assert stop(svc) == 0
    # a series of 6+ points joined by lines: hundreds of pixels
    assert all(v > 150 for v in counts.values()), counts


def screenshot_counts(tmp, port, attempt):
    """the page's screenshot: pixels of each series' colour in the plot"""
    shot = os.path.join(LOGDIR, "live-page.png")
    if os.path.exists(shot):
        os.unlink(shot)
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp)
    chrome = start([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--user-data-dir=" + profile, "--window-size=1000,520",
                    # the page keeps /events open: stop loading after 5 s, then shoot
                    "--timeout=5000", "--screenshot=" + shot,
                    "http://127.0.0.1:%d/" % port],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        chrome.wait(60)
    except subprocess.TimeoutExpired:
        raise AssertionError("chromium did not finish in 60 s")
    assert os.path.exists(shot), "no screenshot"
    log("screenshot %d:" % attempt, shot)
    w, h, bpp, rows = png_pixels(shot)
    colours = {"arousal": (0xd6, 0x27, 0x28), "valence": (0x1f, 0x77, 0xb4)}
    counts = dict.fromkeys(colours, 0)
    for y in range(60, min(h, 430)):    # the plot, not the legend below it
        row = rows[y]
        for x in range(w):
            px = tuple(row[x * bpp:x * bpp + 3])
            for k, c in colours.items():
                if sum(abs(px[i] - c[i]) for i in range(3)) < 40:
                    counts[k] += 1
    log("plotted pixels per series:", counts)
    return counts


def main():
    os.makedirs(LOGDIR, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="affect-live-")
    try:
        subprocess.run([MODELS, tmp], check=True, timeout=60)
        if PAGE:
            test_page(tmp)
        else:
            test_service(tmp)
            test_music(tmp)
            test_held_back(tmp)
        log("ok")
    finally:
        for p in procs:
            stop(p, signal.SIGKILL if p.poll() is None else signal.SIGTERM, 5)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
