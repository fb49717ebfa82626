#!/usr/bin/python3
"""affectmetrics' single-label and gate metrics against scikit-learn 1.2.

Random label sets go through the element (metrics-feed: item events and
prediction tensors in a GstHarness), and its JSON report and CSV results
table are compared with scikit-learn within 1e-9:
  - class: accuracy_score, balanced_accuracy_score, f1_score(average=
    "macro"), confusion_matrix, with classes absent from the truth, absent
    from the predictions, or from both; the majority-class baseline (a
    constant prediction of baseline-class) scored the same way;
  - the gate: affectgate's route (0 = spontaneous) against the items'
    spontaneity label (1/0 or spontaneous/scripted), including runs where
    one of the two never occurs in the truth or in the routes, and items
    without a label or a route (not scored);
  - regression: the training-mean baseline (baseline-mean) MAE and RMSE
    against mean_absolute_error / mean_squared_error of the constant.
Usage: metrics_classes_sklearn.py METRICS_FEED [N_CASES]
"""
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

SKIP = 77
TOL = 1e-9

try:
    import numpy as np
    import sklearn
    from sklearn import metrics as skm
except ImportError as e:
    print("SKIP: numpy / scikit-learn not importable (%s)" % e)
    sys.exit(SKIP)

warnings.simplefilter("ignore")
failures = []
checked = 0
worst = 0.0


def close(label, got, want):
    global checked, worst
    checked += 1
    if want is None or (isinstance(want, float) and math.isnan(want)):
        ok = got is None
    else:
        ok = got is not None and abs(got - want) <= TOL
        if got is not None:
            worst = max(worst, abs(got - want))
    if not ok:
        failures.append("%s: got %r, want %r" % (label, got, want))


def same(label, got, want):
    global checked
    checked += 1
    if got != want:
        failures.append("%s: got %r, want %r" % (label, got, want))


def feed(exe, tmp, header, rows, props):
    items = os.path.join(tmp, "items.txt")
    with open(items, "w") as f:
        f.write(header + "\n")
        for r in rows:
            f.write(" ".join(str(x) for x in r) + "\n")
    report = os.path.join(tmp, "r.json")
    table = os.path.join(tmp, "t.csv")
    launch = "affectmetrics interval=0 location=%s table-location=%s %s" % (
        report, table, props)
    p = subprocess.run([exe, items, launch], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("metrics-feed failed:\n%s" % p.stderr)
    with open(table) as f:
        cells = {(r["table"], r["row"], r["metric"]):
                 (float(r["value"]) if r["value"] else None)
                 for r in csv.DictReader(f)}
    return json.load(open(report)), cells


def check_class_scores(label, o, y, p, k, names):
    close(label + " accuracy", o["accuracy"], skm.accuracy_score(y, p))
    close(label + " balanced accuracy", o["balanced_accuracy"],
          skm.balanced_accuracy_score(y, p))
    close(label + " macro-F1", o["macro"]["f1"],
          skm.f1_score(y, p, average="macro"))
    cm = skm.confusion_matrix(y, p, labels=list(range(k)))
    same(label + " confusion", o["confusion"]["counts"], cm.tolist())


def check_table(label, cells, table, row, want):
    for metric, v in want.items():
        close("%s table %s" % (label, metric), cells.get((table, row, metric)),
              v)


def case_class(exe, tmp, rng):
    n, k = int(rng.integers(1, 200)), int(rng.integers(2, 7))
    names = ["c%d" % i for i in range(k)]
    # some classes never in the truth, some never predicted
    in_truth = rng.random(k) < 0.75
    in_truth[rng.integers(k)] = True
    y = rng.choice(np.flatnonzero(in_truth), size=n)
    predictable = rng.random(k) < 0.75
    predictable[rng.integers(k)] = True
    s = rng.random((n, k)).astype(np.float32)
    s[:, ~predictable] = -1.0
    p = np.argmax(s, axis=1)
    base = int(rng.integers(k))
    # the gate: routes and labels, some items without either
    route = rng.integers(0, 2, size=n)
    spont = rng.random(n) < rng.choice([0.0, 0.3, 0.7, 1.0])
    if rng.random() < 0.3:
        route[:] = rng.integers(2)         # the gate sends all one way
    words = rng.random() < 0.5
    label = ["spontaneous" if v else "scripted" for v in spont] if words \
        else [int(v) for v in spont]
    unrouted = rng.random(n) < 0.1
    unlabelled = rng.random(n) < 0.1
    rows = []
    for i in range(n):
        rows.append(["test", -1 if unrouted[i] else int(route[i]),
                     "-" if unlabelled[i] else label[i], int(y[i])] +
                    ["%.9g" % v for v in s[i]])
    a, cells = feed(exe, tmp, "class " + " ".join(names), rows,
                    "baseline-class=%s" % names[base])
    o = a["overall"]
    check_class_scores("class", o, y, p, k, names)
    # the majority-class baseline: the constant prediction
    b = o["baseline"]
    same("baseline class", b["class"], names[base])
    pb = np.full(n, base)
    close("baseline accuracy", b["accuracy"], skm.accuracy_score(y, pb))
    close("baseline balanced accuracy", b["balanced_accuracy"],
          skm.balanced_accuracy_score(y, pb))
    close("baseline macro-F1", b["f1_macro"],
          skm.f1_score(y, pb, average="macro"))
    check_table("class", cells, "results", "model", {
        "accuracy": skm.accuracy_score(y, p),
        "balanced accuracy": skm.balanced_accuracy_score(y, p),
        "macro-F1": skm.f1_score(y, p, average="macro")})
    check_table("class", cells, "results",
                "baseline: majority class (%s)" % names[base], {
                    "accuracy": skm.accuracy_score(y, pb),
                    "macro-F1": skm.f1_score(y, pb, average="macro")})
    # the gate, on the items with a route and a label
    sel = ~unrouted & ~unlabelled
    g = a["gate"]
    if not sel.any():
        same("gate absent", g, None)
        return
    gt = np.where(spont[sel], 0, 1)            # 0 = spontaneous
    gp = route[sel]
    same("gate items", g["n_items"], int(sel.sum()))
    same("gate outputs", g["outputs"], ["spontaneous", "scripted"])
    check_class_scores("gate", g, gt, gp, 2, g["outputs"])
    check_table("gate", cells, "gate", "gate", {
        "items": float(sel.sum()),
        "accuracy": skm.accuracy_score(gt, gp),
        "balanced accuracy": skm.balanced_accuracy_score(gt, gp),
        "macro-F1": skm.f1_score(gt, gp, average="macro")})
    cm = skm.confusion_matrix(gt, gp, labels=[0, 1])
    for i, t in enumerate(g["outputs"]):
        for j, q in enumerate(g["outputs"]):
            close("gate table confusion %s/%s" % (t, q),
                  cells.get(("gate-confusion", "counts", "%s/%s" % (t, q))),
                  float(cm[i, j]))


def case_regression(exe, tmp, rng):
    n, k = int(rng.integers(1, 200)), int(rng.integers(1, 4))
    names = ["t%d" % i for i in range(k)]
    y = (rng.normal(size=(n, k)) * 2 + 1).astype(np.float32)
    p = (y * 0.5 + rng.normal(size=(n, k))).astype(np.float32)
    mean = rng.normal(size=k)
    rows = [["-", -1, "-"] + ["%.9g" % v for v in y[i]] +
            ["%.9g" % v for v in p[i]] for i in range(n)]
    named = rng.random() < 0.5
    spec = ",".join("%s=%.17g" % (names[j], mean[j]) for j in
                    reversed(range(k))) if named else \
        ",".join("%.17g" % v for v in mean)
    a, cells = feed(exe, tmp, "regression " + " ".join(names), rows,
                    "baseline-mean=%s" % spec)
    b = a["overall"]["baseline"]
    y64 = y.astype(np.float64)
    maes = []
    for j in range(k):
        const = np.full(n, mean[j])
        mae = skm.mean_absolute_error(y64[:, j], const)
        rmse = math.sqrt(skm.mean_squared_error(y64[:, j], const))
        maes.append(mae)
        close("baseline mean[%d]" % j, b["mean"][j], float(mean[j]))
        close("baseline MAE[%d]" % j, b["mae"][j], mae)
        close("baseline RMSE[%d]" % j, b["rmse"][j], rmse)
        close("baseline table MAE %s" % names[j],
              cells.get(("results", "baseline: training mean",
                         "MAE %s" % names[j])), mae)
    close("baseline MAE mean", b["mae_mean"], float(np.mean(maes)))


def main():
    exe = sys.argv[1]
    n_cases = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    if not sklearn.__version__.startswith("1.2"):
        print("# note: scikit-learn %s, the reference is 1.2" %
              sklearn.__version__)
    rng = np.random.default_rng(20260901)
    tmp = tempfile.mkdtemp(prefix="affect-cls-")
    try:
        for i in range(n_cases):
            case_class(exe, tmp, rng)
            if i % 2 == 0:
                case_regression(exe, tmp, rng)
    finally:
        shutil.rmtree(tmp, True)
    for f in failures[:40]:
        print("not ok  " + f)
    print("%d values compared with scikit-learn %s, %d differ by more than "
          "%g; largest difference %.2e" % (checked, sklearn.__version__,
                                           len(failures), TOL, worst))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
