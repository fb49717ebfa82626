#!/usr/bin/python3
"""affect-metrics against MediaEval 2019's published baseline results.

From $AFFECT_SHARED_DIR/reference/mediaeval2019 (ground truth and the
VGG-ish baseline's predictions, decisions and thresholds):
  - every number of baseline_vggish_results.tsv, to 6 decimals, with the
    baseline's decisions, with its thresholds file, and with thresholds
    fitted by the decision rule;
  - the baseline's thresholds file itself, text-identical, fitted from its
    predictions by the decision rule (calculate_decisions.py);
  - the popular and random baselines, whose outputs are rebuilt from the
    MTG-Jamendo split-0 training tags: popular = the most frequent training
    tag for every track (as score and as decision); random = each tag's
    training frequency as score for every track, with no positive decision.
Usage: metrics_mediaeval2019.py AFFECT_METRICS_BINARY
"""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

SKIP = 77


def table(path):
    rows = {}
    for line in open(path):
        if line.strip():
            name, value = line.split("\t")
            rows[name] = value.strip()
    return rows


def run(cli, args):
    p = subprocess.run([cli] + args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("affect-metrics %s failed:\n%s" % (" ".join(args), p.stderr))
    return dict(l.split("\t") for l in p.stdout.splitlines() if l.strip())


def check_table(label, got, want):
    bad = [(k, got.get(k), v) for k, v in want.items() if got.get(k) != v]
    if bad:
        for k, g, w in bad:
            print("not ok  %s %s: got %s, published %s" % (label, k, g, w))
        sys.exit(1)
    print("ok  %s: all %d numbers equal to 6 decimals" % (label, len(want)))


def load_split(path, tags):
    rows = [l.rstrip("\n").split("\t") for l in open(path)][1:]
    y = np.zeros((len(rows), len(tags)), dtype=bool)
    for i, r in enumerate(rows):
        for t in r[5:]:
            y[i, tags.index(t)] = True
    return y


def main():
    cli = sys.argv[1]
    shared = os.environ.get("AFFECT_SHARED_DIR", "")
    ref = os.path.join(shared, "reference", "mediaeval2019")
    if not os.path.isfile(os.path.join(ref, "groundtruth.npy")):
        print("SKIP: %s is absent (the MediaEval 2019 reference)" % ref)
        return SKIP
    gt = os.path.join(ref, "groundtruth.npy")
    pred = os.path.join(ref, "baseline_vggish_predictions.npy")
    dec = os.path.join(ref, "baseline_vggish_decisions.npy")
    thr = os.path.join(ref, "baseline_vggish_thresholds.txt")
    want = table(os.path.join(ref, "baseline_vggish_results.tsv"))
    tmp = tempfile.mkdtemp(prefix="affect-me19-")
    atexit.register(shutil.rmtree, tmp, True)

    base = ["-g", gt, "-p", pred]
    check_table("vggish, given decisions", run(cli, base + ["-d", dec]), want)
    check_table("vggish, thresholds file", run(cli, base + ["-t", thr]), want)
    fitted = os.path.join(tmp, "thresholds.txt")
    out = os.path.join(tmp, "report.json")
    check_table("vggish, fitted thresholds",
                run(cli, base + ["--names", thr, "--fit-thresholds",
                                 "--write-thresholds", fitted,
                                 "--json", out]), want)
    if open(fitted).read() != open(thr).read():
        sys.exit("not ok  fitted thresholds differ from "
                 "baseline_vggish_thresholds.txt")
    print("ok  vggish thresholds: fitted file identical to the published one")

    # the report holds the same numbers unrounded
    rep = json.load(open(out))
    me = rep["overall"]["mediaeval"]
    worst = max(abs(me[k] - float(v)) for k, v in want.items())
    if worst > 5e-7:
        sys.exit("not ok  JSON report differs by %g" % worst)
    print("ok  JSON report within %.1e of the table" % worst)

    # decisions from the fitted thresholds are the published decisions
    d = np.load(dec)
    p = np.load(pred)
    t = np.array([float(l.split("\t")[1]) for l in open(fitted)])
    if not np.array_equal(d, p > t):
        sys.exit("not ok  predictions > fitted thresholds != decisions.npy")
    print("ok  predictions > fitted thresholds == baseline decisions")

    jam = os.path.join(shared, "reference", "mtg-jamendo", "data")
    tags_path = os.path.join(jam, "tags", "moodtheme_split.txt")
    train_path = os.path.join(jam, "splits", "split-0",
                              "autotagging_moodtheme-train.tsv")
    if not (os.path.isfile(tags_path) and os.path.isfile(train_path)):
        print("# popular/random baselines not checked: no MTG-Jamendo split")
        return 0
    tags = [l.strip() for l in open(tags_path) if l.strip()]
    truth = np.load(gt)
    freq = load_split(train_path, tags).mean(axis=0)
    n = truth.shape[0]
    frequency = np.tile(freq, (n, 1)).astype(np.float32)
    top = np.tile(freq == freq.max(), (n, 1))
    for name, scores, decisions in (("popular", top.astype(np.float32), top),
                                    ("random", frequency, np.zeros_like(top))):
        ps = os.path.join(tmp, name + "_predictions.npy")
        ds = os.path.join(tmp, name + "_decisions.npy")
        np.save(ps, scores)
        np.save(ds, decisions)
        got = run(cli, ["-g", gt, "-p", ps, "-d", ds])
        check_table(name + " baseline", got, table(os.path.join(
            ref, "baseline_%s_results.tsv" % name)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
