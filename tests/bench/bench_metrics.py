#!/usr/bin/python3
"""ROC-AUC + PR-AUC, macro and micro: libaffect vs scikit-learn, same run.

For each size (default: 4231 × 56, MediaEval's test set, and
1,000,000 × 56) a seeded random case (56 tags at MTG-Jamendo-like rates,
float32 scores rounded to 1e-4 so ties are common) is written as .npy; the
bench-metrics binary and scikit-learn 1.2 (roc_auc_score and
average_precision_score, average="macro" and "micro") each compute the four
numbers; best-of-R wall and CPU times (the machine may be shared: CPU time
is the steadier measure), their ratios, the largest difference between the
two, and libaffect's resident memory with the data loaded and its peak
while computing are printed.

Usage: bench_metrics.py BUILD/tests/bench/bench-metrics [N×K …] [--repeats R]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import sklearn
from sklearn import metrics as skm

warnings.simplefilter("ignore")


def case(n, k, seed, tmp):
    rng = np.random.default_rng(seed)
    rate = np.clip(rng.lognormal(np.log(0.03), 0.8, size=k), 0.002, 0.3)
    y = rng.random((n, k), dtype=np.float32) < rate
    s = rng.random((n, k), dtype=np.float32) * 0.5 + 0.4 * y
    s = np.round(s, 4).astype(np.float32)
    gt, pr = os.path.join(tmp, "gt.npy"), os.path.join(tmp, "pred.npy")
    np.save(gt, y)
    np.save(pr, s)
    return y, s, gt, pr


def sklearn_time(y, s, repeats):
    best, best_cpu, vals = float("inf"), float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        c0 = time.process_time()
        vals = {
            "roc_auc_macro": skm.roc_auc_score(y, s, average="macro"),
            "roc_auc_micro": skm.roc_auc_score(y, s, average="micro"),
            "pr_auc_macro": skm.average_precision_score(y, s,
                                                        average="macro"),
            "pr_auc_micro": skm.average_precision_score(y, s,
                                                        average="micro"),
        }
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best, best_cpu, vals


def main():
    args = [a for a in sys.argv[1:]]
    repeats = 3
    if "--repeats" in args:
        i = args.index("--repeats")
        repeats = int(args[i + 1])
        del args[i:i + 2]
    binary = args[0]
    sizes = args[1:] or ["4231x56", "1000000x56"]
    tmp = tempfile.mkdtemp(prefix="affect-bench-")
    status = 0
    try:
        for size in sizes:
            n, k = (int(v) for v in size.lower().split("x"))
            y, s, gt, pr = case(n, k, 2019, tmp)
            out = subprocess.run([binary, gt, pr, str(repeats)],
                                 capture_output=True, text=True, check=True)
            ours = json.loads(out.stdout)
            sk_seconds, sk_cpu, sk = sklearn_time(y, s, repeats)
            diff = max(abs(ours[key] - sk[key]) for key in sk)
            ratio = sk_seconds / ours["seconds"]
            scores = n * k
            print("bench-metrics %dx%d ROC-AUC+PR-AUC macro+micro: libaffect "
                  "%.4f s (cpu %.4f s), scikit-learn %s %.4f s (cpu %.4f s), "
                  "ratio %.1fx (cpu %.1fx); max |diff| %.1e; libaffect RSS "
                  "%.0f MB with the data, peak %.0f MB computing (+%.1f B per "
                  "score)" % (
                      n, k, ours["seconds"], ours["cpu_seconds"],
                      sklearn.__version__, sk_seconds, sk_cpu, ratio,
                      sk_cpu / ours["cpu_seconds"], diff,
                      ours["rss_before_kb"] / 1024.0,
                      ours["rss_peak_kb"] / 1024.0,
                      (ours["rss_peak_kb"] - ours["rss_before_kb"]) * 1024.0
                      / scores))
            sys.stdout.flush()
            if diff > 1e-9:
                status = 1
            del y, s
    finally:
        shutil.rmtree(tmp, True)
    return status


if __name__ == "__main__":
    sys.exit(main())
