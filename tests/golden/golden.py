#!/usr/bin/python3
"""Golden pipeline tests, the FATE way: a generated input, one gst-launch
line, a stored expected output compared with a float tolerance.

    golden.py CASE          run one case (cases.py), compare with ref/CASE.*
    golden.py --list        the case names

Environment (meson test sets the first three; by hand they default to
this source tree, its build/ folder and build/plugins):
    AFFECT_SOURCE_DIR, AFFECT_BUILD_DIR, GST_PLUGIN_PATH
    GOLDEN_UPDATE=1         write the expected files instead of comparing
    GOLDEN_SED='a|b'        replace a by b in the line under test (to show
                            that the case fails when an output changes)
    GOLDEN_KEEP=1           keep the work folder (printed)

Expected files: ref/CASE.txt (normalised text: one record per line, tokens
`key=value`; numbers compared with the case's tolerance, the rest exactly)
and ref/CASE-NAME.f32 (raw float32 tensors or audio written by a filesink).
docs: tests/golden/README.md.
"""
import math
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402

SRC = os.path.abspath(os.environ.get(
    "AFFECT_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.environ.get("AFFECT_BUILD_DIR", os.path.join(SRC, "build"))
REF = os.path.join(SRC, "tests", "golden", "ref")
# run by hand: the build's plugin
os.environ.setdefault("GST_PLUGIN_PATH", os.path.join(BUILD, "plugins"))


# ---------------------------------------------------------------- running

def run(line, work, under_test=False):
    """gst-launch-1.0 -m LINE in WORK; returns the bus messages printed."""
    if under_test and os.environ.get("GOLDEN_SED"):
        a, b = os.environ["GOLDEN_SED"].split("|", 1)
        if a not in line:
            sys.exit("GOLDEN_SED: '%s' is not in the line under test" % a)
        line = line.replace(a, b)
    line = line.replace("${W}", work)
    print("gst-launch-1.0 -m " + line, flush=True)
    p = subprocess.run(["gst-launch-1.0", "-m", "-v"] + shlex.split(line),
                       cwd=work, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True,
                       timeout=300)
    if p.returncode != 0:
        print(p.stdout[-4000:])
        sys.exit("pipeline failed (exit %d)" % p.returncode)
    return p.stdout


def make_corpus(work, items, seconds, seed):
    """The project's tone generator (affect-run, generate=tones) into
    WORK/corpus; adds speech.csv: the same items with a spontaneity column
    (odd rows spontaneous) for the gate."""
    exp = os.path.join(work, "corpus.experiment")
    with open(exp, "w") as f:
        f.write("[experiment]\nsteps=corpus\n[step corpus]\n"
                "generate=tones\noutput=${RESULTS}/corpus\n"
                "seed=%d\nitems=%d\nseconds=%g\n" % (seed, items, seconds))
    subprocess.run([os.path.join(BUILD, "tools", "affect-run", "affect-run"), "-q",
                    exp, "-o", work], check=True,
                   env=dict(os.environ, AFFECT_CACHE_DIR=work + "/cache"))
    corpus = os.path.join(work, "corpus")
    rows = open(os.path.join(corpus, "manifest.csv")).read().splitlines()
    with open(os.path.join(corpus, "speech.csv"), "w") as f:
        f.write(rows[0] + ",spontaneity\n")
        for i, r in enumerate(rows[1:]):
            f.write("%s,%d\n" % (r, i % 2))


# ---------------------------------------------------------------- parsing

def split_top(s, sep=","):
    """Split a GstStructure string at SEP outside quotes and brackets."""
    out, depth, quote, cur, esc = [], 0, False, "", False
    for c in s:
        if esc:
            cur += c
            esc = False
            continue
        if c == "\\":
            esc = True
            cur += c
            continue
        if c == '"':
            quote = not quote
        elif not quote and c in "<{[(":
            depth += 1
        elif not quote and c in ">}])":
            depth -= 1
        if c == sep and depth == 0 and not quote:
            out.append(cur)
            cur = ""
        else:
            cur += c
    out.append(cur)
    return [x.strip() for x in out]


def parse_structure(s):
    """'name, a=(int)1, b=(float)< 1, 2 >;' -> (name, {a: '1', b: '1 2'})"""
    s = s.strip().rstrip(";")
    parts = split_top(s)
    fields = {}
    for p in parts[1:]:
        if "=" not in p:
            continue
        k, v = p.split("=", 1)
        v = re.sub(r"^\([A-Za-z0-9_]+\)", "", v.strip())
        if v.startswith("<") and v.endswith(">"):
            v = " ".join(x.strip() for x in split_top(v[1:-1].strip()))
        fields[k] = v.strip('"')
    return parts[0], fields


MSG = re.compile(r'^Got message #\d+ from element "([^"]+)" \(element\): (.*)$')


def messages(out, name):
    """Bus messages NAME printed by gst-launch -m: [(element, fields)]."""
    res = []
    for line in out.splitlines():
        m = MSG.match(line)
        if m:
            n, f = parse_structure(m.group(2))
            if n == name:
                res.append((m.group(1), f))
    return res


def record(*pairs):
    return " ".join("%s=%s" % (k, str(v).replace(" ", ",")) for k, v in pairs)


def read_f32(path):
    data = open(path, "rb").read()
    return list(struct.unpack("<%df" % (len(data) // 4), data))


# ---------------------------------------------------------------- comparing

def number(tok):
    try:
        return float(tok)
    except ValueError:
        return None


def close(a, b, tol):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol["atol"] + tol["rtol"] * abs(b)


def compare_values(got, exp, tol, what, labels=None):
    """Two lists of floats; returns error strings (the first few)."""
    errs = []
    if len(got) != len(exp):
        return ["%s: %d values, expected %d" % (what, len(got), len(exp))]
    worst, bad = 0.0, 0
    for i, (a, b) in enumerate(zip(got, exp)):
        if not close(a, b, tol):
            bad += 1
            if len(errs) < 5:
                errs.append("%s: %r, expected %r" % (
                    labels[i] if labels else "%s[%d]" % (what, i), a, b))
        elif not math.isnan(b) and not math.isinf(b):
            worst = max(worst, abs(a - b))
    if bad:
        errs.append("%s: %d of %d values outside the tolerance" %
                    (what, bad, len(exp)))
    else:
        print("%s: %d values, largest difference %.3g" %
              (what, len(exp), worst))
    return errs


def compare_text(got, exp, tol):
    errs = []
    gl, el = got.splitlines(), exp.splitlines()
    if len(gl) != len(el):
        errs.append("%d records, expected %d" % (len(gl), len(el)))
    nums_g, nums_e, labels = [], [], []
    for n, (g, e) in enumerate(zip(gl, el)):
        gt, et = g.split(), e.split()
        if len(gt) != len(et):
            errs.append("record %d: '%s', expected '%s'" % (n + 1, g, e))
            continue
        for a, b in zip(gt, et):
            ka, va = a.split("=", 1) if "=" in a else ("", a)
            kb, vb = b.split("=", 1) if "=" in b else ("", b)
            va, vb = va.split(","), vb.split(",")
            if ka != kb or len(va) != len(vb):
                errs.append("record %d: %s, expected %s" % (n + 1, a, b))
                continue
            for x, y in zip(va, vb):
                fx, fy = number(x), number(y)
                if fy is None or fx is None:
                    if x != y:
                        errs.append("record %d: %s=%s, expected %s" %
                                    (n + 1, ka, x, y))
                else:
                    nums_g.append(fx)
                    nums_e.append(fy)
                    labels.append("record %d %s" % (n + 1, ka or "value"))
    return errs + compare_values(nums_g, nums_e, tol, "numbers", labels)


# ---------------------------------------------------------------- main

def main():
    # training results may differ in the last bits with the thread count
    os.environ["AFFECT_THREADS"] = "1"
    if len(sys.argv) > 1 and sys.argv[1] == "--list":
        print("\n".join(sorted(cases.CASES)))
        return 0
    if len(sys.argv) != 2 or sys.argv[1] not in cases.CASES:
        sys.exit("usage: golden.py CASE (golden.py --list)")
    name = sys.argv[1]
    case = cases.CASES[name]
    update = os.environ.get("GOLDEN_UPDATE") == "1"
    work = tempfile.mkdtemp(prefix="affect-golden-%s-" % name)
    try:
        case["input"](work)
        for line in case.get("setup", []):
            run(line, work)
        out = run(case["launch"], work, under_test=True)
        text, tensors = case["output"](work, out)
        tol = case["tolerance"]
        errs = []
        ref_txt = os.path.join(REF, name + ".txt")
        if update:
            os.makedirs(REF, exist_ok=True)
            with open(ref_txt, "w") as f:
                f.write(text)
            for t in tensors:
                shutil.copyfile(os.path.join(work, t),
                                os.path.join(REF, "%s-%s" % (name, t)))
            print("updated %s (+ %d tensor files)" % (ref_txt, len(tensors)))
            return 0
        print(text, end="")
        errs += compare_text(text, open(ref_txt).read(), tol)
        for t in tensors:
            errs += compare_values(read_f32(os.path.join(work, t)),
                                   read_f32(os.path.join(REF, "%s-%s" %
                                                         (name, t))),
                                   tol, t)
        if errs:
            print("\n".join("FAIL: " + e for e in errs))
            print("tolerance: atol %g, rtol %g (%s)" %
                  (tol["atol"], tol["rtol"], tol["why"]))
            return 1
        print("ok: %s matches ref/%s.* (atol %g, rtol %g)" %
              (name, name, tol["atol"], tol["rtol"]))
        return 0
    finally:
        if os.environ.get("GOLDEN_KEEP"):
            print("work folder: " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
