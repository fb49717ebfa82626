#!/usr/bin/python3
"""compare-json.py GOT EXPECTED [ATOL RTOL]: the two JSON documents have the
same structure, the same strings and booleans, and numbers within
|got - expected| <= ATOL + RTOL * |expected| (defaults 1e-6, 1e-4; NaN
equals NaN). With GOLDEN_UPDATE=1 copies GOT to EXPECTED instead.
Prints the first differences and how many numbers were compared."""
import json
import math
import os
import shutil
import sys

got_path, exp_path = sys.argv[1], sys.argv[2]
atol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-6
rtol = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-4
if os.environ.get("GOLDEN_UPDATE") == "1":
    shutil.copyfile(got_path, exp_path)
    print("updated " + exp_path)
    sys.exit(0)
errs, n, worst = [], [0], [0.0]


def walk(a, b, p):
    if isinstance(b, dict):
        if not isinstance(a, dict) or sorted(a) != sorted(b):
            errs.append("%s: keys %s, expected %s" % (
                p, sorted(a) if isinstance(a, dict) else type(a).__name__,
                sorted(b)))
            return
        for k in b:
            walk(a[k], b[k], p + "." + k)
    elif isinstance(b, list):
        if not isinstance(a, list) or len(a) != len(b):
            errs.append("%s: %s, expected a list of %d" % (
                p, len(a) if isinstance(a, list) else a, len(b)))
            return
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, "%s[%d]" % (p, i))
    elif isinstance(b, (int, float)) and not isinstance(b, bool) \
            and isinstance(a, (int, float)) and not isinstance(a, bool):
        n[0] += 1
        if math.isnan(b) or math.isnan(a):
            ok = math.isnan(a) and math.isnan(b)
        else:
            ok = abs(a - b) <= atol + rtol * abs(b)
            worst[0] = max(worst[0], abs(a - b)) if ok else worst[0]
        if not ok:
            errs.append("%s: %r, expected %r" % (p, a, b))
    elif a != b:
        errs.append("%s: %r, expected %r" % (p, a, b))


walk(json.load(open(got_path)), json.load(open(exp_path)), "")
if errs:
    print("\n".join("FAIL: " + e for e in errs[:20]))
    print("%d differences (atol %g, rtol %g) against %s" %
          (len(errs), atol, rtol, exp_path))
    sys.exit(1)
print("%s: %d numbers within atol %g + rtol %g of %s (largest difference "
      "%.3g)" % (got_path, n[0], atol, rtol, exp_path, worst[0]))
