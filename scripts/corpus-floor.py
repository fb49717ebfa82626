#!/usr/bin/python3
"""Floors for the built-in corpora (docs/corpora.md): how much a simple model
learns from them. Run by hand with Debian's python3 (numpy, scipy, sklearn):

  /usr/bin/python3 scripts/corpus-floor.py music DIR    quadrants: per-band mean/std of
                                                       a 40-band log spectrogram +
                                                       logistic regression
  /usr/bin/python3 scripts/corpus-floor.py speech DIR   V/A/D: level, duration, F0
                                                       statistics + ridge regression,
                                                       within and across corpora
"""
import csv
import sys

import numpy as np
from scipy.io import wavfile
from scipy.signal import stft
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import confusion_matrix
from sklearn.preprocessing import StandardScaler


def music(d):
    def feats(path):
        sr, x = wavfile.read(path)
        x = x.astype(np.float32) / 32768
        f, _, z = stft(x, sr, nperseg=512, noverlap=256)
        p = np.abs(z) ** 2
        edges = np.geomspace(60, sr / 2, 41)
        b = np.stack([p[(f >= edges[i]) & (f < edges[i + 1])].sum(0) for i in range(40)])
        lg = np.log10(b + 1e-10)
        return np.concatenate([lg.mean(1), lg.std(1)])

    X, Y = {}, {}
    for s in ["train", "validation", "test"]:
        rows = list(csv.reader(open(f"{d}/match_{s}_labels.csv"), delimiter="\t"))[1:]
        X[s] = np.array([feats(f"{d}/audio/{int(r[0].split('.')[0]) % 100:02d}/{r[0]}") for r in rows])
        Y[s] = np.array([r[4] for r in rows])
    sc = StandardScaler().fit(X["train"])
    for c in [0.01, 0.1, 1.0]:
        m = LogisticRegression(C=c, max_iter=2000).fit(sc.transform(X["train"]), Y["train"])
        acc = {s: (m.predict(sc.transform(X[s])) == Y[s]).mean() for s in ["validation", "test"]}
        print(f"C={c}: validation accuracy {acc['validation']:.3f}, test accuracy {acc['test']:.3f}")
    print("test confusion (rows: truth, columns: prediction; order", list(m.classes_), ")")
    print(confusion_matrix(Y["test"], m.predict(sc.transform(X["test"])), labels=m.classes_))


def speech(d):
    rows = list(csv.DictReader(open(f"{d}/speech.csv")))

    def f0_track(x, sr):
        hop, w, out = sr // 100, 640, []
        for s in range(0, len(x) - w, hop):
            fr = x[s:s + w] - x[s:s + w].mean()
            if np.sqrt((fr ** 2).mean()) < 0.01:
                continue
            ac = np.correlate(fr, fr, "full")[w - 1:]
            lo, hi = int(sr / 400), int(sr / 60)
            k = lo + np.argmax(ac[lo:hi])
            if ac[k] > 0.5 * ac[0]:
                out.append(sr / k)
        return np.array(out)

    def feats(path):
        sr, x = wavfile.read(path)
        x = x.astype(np.float32) / 32768
        fr = x[: len(x) // 160 * 160].reshape(-1, 160)
        e = 10 * np.log10((fr ** 2).mean(1) + 1e-10)
        act = e > e.max() - 35
        f0 = f0_track(x, sr)
        lf = np.log(f0) if len(f0) else np.array([np.log(100.0)])
        return [e[act].mean(), e[act].std(), act.mean(), len(x) / sr, np.median(lf),
                lf.std(), np.percentile(lf, 90) - np.percentile(lf, 10)]

    X = np.array([feats(f"{d}/{r['path']}") for r in rows])
    T = {k: np.array([float(r[k]) for r in rows]) for k in ["valence", "arousal", "dominance"]}
    split = np.array([r["split"] for r in rows])
    corpus = np.array([r["corpus"] for r in rows])
    for a, b in [("en", "en"), ("de", "de"), ("en", "de"), ("de", "en")]:
        tr = (corpus == a) & (split == "train")
        te = (corpus == b) & (split == "test")
        out = []
        for k, t in T.items():
            m = Ridge(1.0).fit(StandardScaler().fit_transform(X[tr]), t[tr])
            # each corpus standardised with its own statistics (FINDINGS.md)
            xt = StandardScaler().fit(X[corpus == b]).transform(X[te])
            out.append(f"{k} MAE {np.abs(m.predict(xt) - t[te]).mean():.2f} "
                       f"(train mean: {np.abs(t[tr].mean() - t[te]).mean():.2f})")
        print(f"{a} -> {b}: " + "; ".join(out))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("music", "speech"):
        sys.exit(__doc__)
    (music if sys.argv[1] == "music" else speech)(sys.argv[2])
