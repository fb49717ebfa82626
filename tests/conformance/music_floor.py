#!/usr/bin/python3
"""The reference floor for music cross-validation: a logistic regression on
the per-band mean and standard deviation of each clip's log-Mel spectrogram
(the mtg-jamendo preset's 96 bands at 12 kHz, computed by the numpy
statement of mel_conformance.py), scored on the folds an
`affect-run crossval TASK=music` run wrote.

usage: music_floor.py RESULTS [ROOT] [--label COLUMN] [--json OUT]

RESULTS is the crossval results folder (its folds/repeat-R-fold-K.csv
manifests mark the test fold split=test, every other item split=train);
ROOT is where relative paths start (default: the fold manifest's folder,
as affectsrc resolves them). Per run: standardise the 192 features on the
training part, fit scikit-learn's LogisticRegression (C=1, lbfgs), score
the accuracy on the test fold. Prints per-run accuracies and mean ± sd
(sample sd over the runs, as crossval.md). A reference beside the product,
never a part of it (docs/experiments.md, "Music").
"""
import argparse
import csv
import glob
import json
import math
import os
import re
import sys

import numpy as np
from scipy.io import wavfile
from scipy.signal import resample_poly

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mel_conformance import PRESETS, reference, apply_log  # noqa: E402

PRESET = PRESETS["mtg-jamendo"]


def read_audio(path):
    sr, x = wavfile.read(path)
    if x.dtype == np.int16:
        x = x.astype(np.float64) / 32768.0
    else:
        x = x.astype(np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if sr != PRESET["sample_rate"]:
        g = math.gcd(sr, PRESET["sample_rate"])
        x = resample_poly(x, PRESET["sample_rate"] // g, sr // g)
    return x


def features(path):
    mel, _ = reference(read_audio(path), PRESET)
    logmel = apply_log(mel, PRESET)
    return np.concatenate([logmel.mean(axis=0), logmel.std(axis=0)])


def fold_runs(results, name):
    """the fold manifests a crossval run wrote (folds/repeat-R-fold-K.csv),
    sorted; exits naming the script when there are none"""
    runs = sorted(glob.glob(os.path.join(results, "folds", "repeat-*-fold-*.csv")))
    runs = [r for r in runs if re.search(r"repeat-\d+-fold-\d+\.csv$", r)]
    if not runs:
        sys.exit("%s: no folds/repeat-R-fold-K.csv in %s" % (name, results))
    return runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("root", nargs="?")
    ap.add_argument("--label", default="label")
    ap.add_argument("--json")
    args = ap.parse_args()

    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    runs = fold_runs(args.results, "music_floor")
    cache = {}
    out = []
    for run in runs:
        with open(run, newline="") as f:
            rows = list(csv.DictReader(f))
        root = args.root or os.path.dirname(run)
        paths = [os.path.join(root, r["path"]) for r in rows]
        for p in paths:
            if p not in cache:
                cache[p] = features(p)
        x = np.stack([cache[p] for p in paths])
        y = np.array([r[args.label] for r in rows])
        test = np.array([r["split"] == "test" for r in rows])
        scaler = StandardScaler().fit(x[~test])
        clf = LogisticRegression(C=1.0, max_iter=5000)
        clf.fit(scaler.transform(x[~test]), y[~test])
        acc = float(np.mean(clf.predict(scaler.transform(x[test])) == y[test]))
        m = re.search(r"repeat-(\d+)-fold-(\d+)\.csv$", run)
        out.append({"repeat": int(m.group(1)), "fold": int(m.group(2)),
                    "items": int(test.sum()), "accuracy": acc})
        print("repeat %s fold %s: %d test items, accuracy %.4f"
              % (m.group(1), m.group(2), test.sum(), acc))
    accs = np.array([r["accuracy"] for r in out])
    sd = float(accs.std(ddof=1)) if len(accs) > 1 else 0.0
    print("log-Mel mean/std + logistic regression: accuracy %.1f ± %.1f %% "
          "over %d runs" % (100 * accs.mean(), 100 * sd, len(accs)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": out, "mean": {"accuracy": float(accs.mean())},
                       "sd": {"accuracy": sd}}, f, indent=1)


if __name__ == "__main__":
    main()
