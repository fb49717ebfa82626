#!/usr/bin/python3
"""affect-metrics against scikit-learn 1.2 on many random cases.

Each case is written as .npy files (or per-item CSV shards), scored by the
affect-metrics binary, and every value of its JSON report is compared with
scikit-learn / scipy / numpy within 1e-9:
  - tags: per-tag ROC-AUC and AP, macro and micro; precision / recall / F1
    macro and micro for a fixed threshold, given decisions, and thresholds
    fitted by MediaEval's calculate_decisions.py rule (re-implemented here
    with sklearn's precision_recall_curve); scores drawn on coarse grids so
    that ties are frequent; tags with no positive or no negative item.
  - class: accuracy, balanced accuracy, macro / micro precision, recall,
    F1 on argmax (ties in the scores included), one-vs-rest AUCs, confusion
    counts and row-normalised, absent classes included.
  - regression: MAE, RMSE, Pearson r (scipy), CCC.
  - shards: a per-item table cut into shuffled shards gives a report
    identical to the unsharded one; thresholds fitted on the validation
    split only.
Usage: metrics_sklearn.py AFFECT_METRICS_BINARY [N_CASES]
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np

SKIP = 77
TOL = 1e-9

try:
    import scipy.stats
    import sklearn
    from sklearn import metrics as skm
except ImportError as e:  # pragma: no cover
    print("SKIP: scikit-learn / scipy not importable (%s)" % e)
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


def run(cli, args):
    p = subprocess.run([cli, "-q"] + args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("affect-metrics %s failed:\n%s" % (" ".join(args), p.stderr))


def report(cli, tmp, args):
    out = os.path.join(tmp, "r.json")
    run(cli, args + ["--json", out])
    return json.load(open(out))


def random_scores(rng, n, k):
    kind = rng.integers(3)
    s = rng.random((n, k))
    if kind == 0:
        s = np.round(s, 1)          # heavy ties
    elif kind == 1:
        s = np.round(s, 2)
    return s.astype(np.float32)


def random_tags(rng, n, k):
    prev = rng.random(k) * 0.6
    y = rng.random((n, k)) < prev
    # degenerate tags: no positive, or no negative
    if k > 2 and rng.random() < 0.4:
        y[:, rng.integers(k)] = False
    if k > 2 and rng.random() < 0.2:
        y[:, rng.integers(k)] = True
    return y


def mediaeval_thresholds(y, s):
    t = np.zeros(y.shape[1])
    for c in range(y.shape[1]):
        p, r, th = skm.precision_recall_curve(y[:, c], s[:, c])
        f = np.nan_to_num((2 * p * r) / (p + r))
        t[c] = th[np.argmax(f)]
    return t


def check_rank(label, o, y, s):
    k = y.shape[1]
    defined = []
    for c in range(k):
        po = o["per_output"][c]
        if 0 < y[:, c].sum() < len(y):
            want = skm.roc_auc_score(y[:, c], s[:, c])
            defined.append(want)
        else:
            want = None   # scikit-learn raises: undefined
        close("%s roc[%d]" % (label, c), po["roc_auc"], want)
        close("%s ap[%d]" % (label, c), po["pr_auc"],
              skm.average_precision_score(y[:, c], s[:, c]))
    close(label + " roc macro", o["macro"]["roc_auc"],
          float(np.mean(defined)) if defined else None)
    close(label + " ap macro", o["macro"]["pr_auc"],
          skm.average_precision_score(y, s, average="macro"))
    if 0 < y.sum() < y.size:
        close(label + " roc micro", o["micro"]["roc_auc"],
              skm.roc_auc_score(y, s, average="micro"))
    close(label + " ap micro", o["micro"]["pr_auc"],
          skm.average_precision_score(y.ravel(), s.ravel()))


def check_prf(label, o, y, d, average_labels=None):
    for avg in ("macro", "micro"):
        p, r, f, _ = skm.precision_recall_fscore_support(
            y, d, average=avg, labels=average_labels)
        close("%s precision %s" % (label, avg), o[avg]["precision"], p)
        close("%s recall %s" % (label, avg), o[avg]["recall"], r)
        close("%s f1 %s" % (label, avg), o[avg]["f1"], f)


def case_tags(cli, tmp, rng):
    n, k = int(rng.integers(1, 300)), int(rng.integers(2, 9))
    y = random_tags(rng, n, k)
    s = random_scores(rng, n, k)
    gt, pr, dp = (os.path.join(tmp, f) for f in ("g.npy", "p.npy", "d.npy"))
    np.save(gt, y)
    np.save(pr, s)
    base = ["-g", gt, "-p", pr]
    # fixed threshold
    thr = float(rng.choice([0.3, 0.5, 0.7]))
    o = report(cli, tmp, base + ["--threshold", str(thr)])["overall"]
    check_rank("tags", o, y, s)
    # thresholds apply in float32, the scores' type
    check_prf("tags fixed", o, y, s > np.float32(thr))
    # given decisions
    d = rng.random((n, k)) < 0.3
    np.save(dp, d)
    o = report(cli, tmp, base + ["-d", dp])["overall"]
    check_prf("tags given", o, y, d)
    # MediaEval thresholds fitted on the same items
    o = report(cli, tmp, base + ["--fit-thresholds"])["overall"]
    t = mediaeval_thresholds(y, s)
    for c in range(k):
        close("tags threshold[%d]" % c, o["decision"]["thresholds"][c],
              float(t[c]))
    check_prf("tags fitted", o, y, s > t)


def case_class(cli, tmp, rng):
    n, k = int(rng.integers(1, 300)), int(rng.integers(2, 7))
    present = rng.random(k) < 0.8
    present[rng.integers(k)] = True
    cls = rng.choice(np.flatnonzero(present), size=n)
    s = random_scores(rng, n, k)
    gt, pr = os.path.join(tmp, "g.npy"), os.path.join(tmp, "p.npy")
    np.save(gt, cls.astype(np.int64))
    np.save(pr, s)
    o = report(cli, tmp, ["--task", "class", "-g", gt, "-p", pr])["overall"]
    pred = np.argmax(s, axis=1)
    close("class accuracy", o["accuracy"], skm.accuracy_score(cls, pred))
    close("class balanced accuracy", o["balanced_accuracy"],
          skm.balanced_accuracy_score(cls, pred))
    check_prf("class", o, cls, pred)
    cm = skm.confusion_matrix(cls, pred, labels=list(range(k)))
    if o["confusion"]["counts"] != cm.tolist():
        failures.append("class confusion %r != %r" %
                        (o["confusion"]["counts"], cm.tolist()))
    cmn = skm.confusion_matrix(cls, pred, labels=list(range(k)),
                               normalize="true")
    for i in range(k):
        for j in range(k):
            close("class confusion[%d][%d]" % (i, j),
                  o["confusion"]["normalised"][i][j], float(cmn[i, j]))
    onehot = np.eye(k, dtype=bool)[cls]
    check_rank("class ovr", o, onehot, s)


def case_regression(cli, tmp, rng):
    n, k = int(rng.integers(2, 400)), int(rng.integers(1, 4))
    y = (rng.normal(size=(n, k)) * 2 + 1).astype(np.float32)
    p = (y * rng.random() + rng.normal(size=(n, k))).astype(np.float32)
    if rng.random() < 0.2:
        p[:, 0] = 0.25      # constant prediction: Pearson undefined
    gt, pr = os.path.join(tmp, "g.npy"), os.path.join(tmp, "p.npy")
    np.save(gt, y)
    np.save(pr, p)
    o = report(cli, tmp, ["--task", "regression", "-g", gt, "-p", pr])
    o = o["overall"]
    yd, pd = y.astype(np.float64), p.astype(np.float64)
    for c in range(k):
        po = o["per_output"][c]
        close("mae[%d]" % c, po["mae"],
              skm.mean_absolute_error(yd[:, c], pd[:, c]))
        close("rmse[%d]" % c, po["rmse"],
              skm.mean_squared_error(yd[:, c], pd[:, c], squared=False))
        if np.ptp(pd[:, c]) > 0:
            r = scipy.stats.pearsonr(yd[:, c], pd[:, c])[0]
        else:
            r = None
        close("pearson[%d]" % c, po["pearson"], r)
        mt, mp = yd[:, c].mean(), pd[:, c].mean()
        cov = np.mean((yd[:, c] - mt) * (pd[:, c] - mp))
        ccc = 2 * cov / (yd[:, c].var() + pd[:, c].var() + (mt - mp) ** 2)
        close("ccc[%d]" % c, po["ccc"], ccc)
    close("mae mean", o["mae_mean"],
          skm.mean_absolute_error(yd, pd))


def write_items(path, task, names, rows):
    with open(path, "w") as f:
        f.write("# affect-metrics items task=%s\n" % task)
        f.write("index,id,split,route," +
                ",".join("true:" + n for n in names) + "," +
                ",".join("score:" + n for n in names) + "\n")
        for r in rows:
            f.write(r)


def case_shards(cli, tmp, rng):
    n, k = int(rng.integers(20, 300)), int(rng.integers(2, 6))
    y = random_tags(rng, n, k)
    s = random_scores(rng, n, k)
    split = np.where(rng.random(n) < 0.4, "validation", "test")
    route = rng.integers(-1, 2, size=n)
    names = ["tag%d" % c for c in range(k)]
    def row(index, i):
        return "%d,item_%05d,%s,%d,%s,%s\n" % (
            index, i, split[i], route[i], ",".join("%d" % v for v in y[i]),
            ",".join("%.9g" % v for v in s[i]))
    whole = os.path.join(tmp, "whole.csv")
    write_items(whole, "tags", names, [row(i, i) for i in range(n)])
    # shards as affectsrc emits them: index counts from 0 in each shard
    order = rng.permutation(n)
    n_shards = int(rng.integers(2, 5))
    shards = []
    for j in range(n_shards):
        p = os.path.join(tmp, "shard%d.csv" % j)
        write_items(p, "tags", names, [row(x, i) for x, i in
                                       enumerate(order[j::n_shards])])
        shards.append(p)
    a = report(cli, tmp, [whole])
    b = report(cli, tmp, shards)
    if a != b:
        failures.append("sharded report differs from the unsharded one")
    o = a["overall"]
    val, test = split == "validation", split == "test"
    if val.sum() == 0 or test.sum() == 0:
        return
    t = mediaeval_thresholds(y[val], s[val])
    for c in range(k):
        close("shards threshold[%d]" % c, o["decision"]["thresholds"][c],
              float(t[c]))
    check_rank("shards test", o, y[test], s[test])
    check_prf("shards test", o, y[test], s[test] > t)
    if a["thresholds_fitted_on"] != "validation":
        failures.append("thresholds not fitted on the validation split")
    for rt in a["routes"]:
        sel = test & (route == rt["route"])
        check_prf("route %d" % rt["route"], rt["result"], y[sel],
                  s[sel] > t)


def main():
    cli = sys.argv[1]
    n_cases = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    if not sklearn.__version__.startswith("1.2"):
        print("# note: scikit-learn %s, the reference is 1.2" %
              sklearn.__version__)
    rng = np.random.default_rng(20190901)
    tmp = tempfile.mkdtemp(prefix="affect-sk-")
    try:
        for i in range(n_cases):
            case_tags(cli, tmp, rng)
            case_class(cli, tmp, rng)
            case_regression(cli, tmp, rng)
            if i % 3 == 0:
                case_shards(cli, tmp, rng)
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
