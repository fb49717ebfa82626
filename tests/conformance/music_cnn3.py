#!/usr/bin/python3
"""The reference CNN for music cross-validation: a plain three-layer CNN
trained on random 22-s crops of each clip's log-Mel spectrogram (the
mtg-jamendo preset's 96 bands at 12 kHz, computed by the numpy statement of
mel_conformance.py), scored on the folds an `affect-run crossval TASK=music`
run wrote, beside the product's MoodNet and music_floor.py's logistic
regression.

usage: music_cnn3.py RESULTS [ROOT] [--label COLUMN] [--json OUT]
       [--epochs N] [--seed S] [--crop-seconds S] [--cache DIR]

RESULTS is the crossval results folder (its folds/repeat-R-fold-K.csv
manifests mark the test fold split=test, every other item split=train);
ROOT is where relative paths start (default: the fold manifest's folder,
as affectsrc resolves them).

The network: the training part's per-band mean and standard deviation
standardise the log-Mel input; three blocks of 3x3 convolution (16, 32, 64
channels), batch norm, ReLU and max pooling (2x4, 2x4, 2x2: frequency x
time); global average pooling; dropout 0.3; one linear layer to the
classes. Adam (lr 1e-3, batch 16), cross-entropy, EPOCHS (20) epochs over the
training part, one random crop of CROP_SECONDS per clip and epoch, the last
epoch kept (no validation items). Prediction averages the softmax over the
crops covering the clip, placed as affect_crop_cover places them (the
fewest crops that cover it, first at the start, last at the end, evenly
spread). Prints per-run accuracies and mean ± sd (sample sd over the runs,
as crossval.md). A reference beside the product, never a part of it
(docs/experiments.md, "Music").
"""
import argparse
import csv
import hashlib
import json
import os
import re
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mel_conformance import reference, apply_log  # noqa: E402
from music_floor import PRESET, fold_runs, read_audio  # noqa: E402

FRAME_RATE = PRESET["sample_rate"] / PRESET["hop"]


def log_mel(path, cache):
    """frames x n_mels float32, cached by the file's content when asked"""
    key = None
    if cache:
        with open(path, "rb") as f:
            key = hashlib.sha1(f.read()).hexdigest()
        cached = os.path.join(cache, "logmel-%s.npy" % key)
        if os.path.exists(cached):
            return np.load(cached)
    mel, _ = reference(read_audio(path), PRESET)
    out = apply_log(mel, PRESET).astype(np.float32)
    if cache:
        os.makedirs(cache, exist_ok=True)
        tmp = cached + ".%d.tmp.npy" % os.getpid()
        np.save(tmp, out)
        os.replace(tmp, cached)
    return out


def cover(n_frames, crop):
    """the starts of affect_crop_cover (core/nn/crops.c)"""
    if crop < 1 or n_frames <= crop:
        return [0]
    n = (n_frames + crop - 1) // crop
    return [(k * (n_frames - crop) * 2 + (n - 1)) // (2 * (n - 1))
            for k in range(n)]


def crop_of(x, start, crop):
    """crop frames from start; an item shorter than a crop is repeated"""
    idx = (start + np.arange(crop)) % x.shape[0]
    return x[idx]


def build(torch, n_mels, classes):
    nn = torch.nn

    def block(cin, cout, pool):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True), nn.MaxPool2d(pool)]

    return nn.Sequential(*block(1, 16, (2, 4)), *block(16, 32, (2, 4)),
                         *block(32, 64, (2, 2)),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Dropout(0.3), nn.Linear(64, classes))


def run_fold(torch, xs, y, test, classes, args, seed):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    crop = int(round(args.crop_seconds * FRAME_RATE))
    train = np.flatnonzero(~test)
    cat = np.concatenate([xs[i] for i in train])
    mu, sd = cat.mean(axis=0), cat.std(axis=0) + 1e-6
    norm = [((x - mu) / sd).astype(np.float32) for x in xs]
    net = build(torch, xs[0].shape[1], len(classes))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(args.epochs):
        net.train()
        order = rng.permutation(train)
        for b in range(0, len(order), args.batch_size):
            idx = order[b:b + args.batch_size]
            if len(idx) < 2:
                continue
            batch = []
            for i in idx:
                span = norm[i].shape[0] - crop
                start = int(rng.integers(0, span + 1)) if span > 0 else 0
                batch.append(crop_of(norm[i], start, crop).T)
            xb = torch.from_numpy(np.stack(batch)[:, None])
            yb = torch.from_numpy(y[idx])
            opt.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in np.flatnonzero(test):
            crops = [crop_of(norm[i], s, crop).T
                     for s in cover(norm[i].shape[0], crop)]
            p = torch.softmax(net(torch.from_numpy(np.stack(crops)[:, None])),
                              dim=1).mean(dim=0)
            correct += int(int(p.argmax()) == y[i])
    return correct / int(test.sum())


def main():
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        # keep freed buffers for the next step (as affect-run does): with
        # glibc's defaults every batch maps and faults in ~100 MB afresh
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="1073741824",
                   MALLOC_TRIM_THRESHOLD_="4294967295",
                   MALLOC_TOP_PAD_="268435456")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("root", nargs="?")
    ap.add_argument("--label", default="label")
    ap.add_argument("--json")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--crop-seconds", type=float, default=22.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", help="folder for the clips' log-Mel (.npy)")
    args = ap.parse_args()

    import torch
    torch.set_num_threads(args.threads)

    runs = fold_runs(args.results, "music_cnn3")
    mels = {}
    out = []
    t0 = time.time()
    for run in runs:
        with open(run, newline="") as f:
            rows = list(csv.DictReader(f))
        root = args.root or os.path.dirname(run)
        paths = [os.path.join(root, r["path"]) for r in rows]
        for p in paths:
            if p not in mels:
                mels[p] = log_mel(p, args.cache)
        labels = [r[args.label] for r in rows]
        classes = sorted(set(labels))
        y = np.array([classes.index(v) for v in labels], dtype=np.int64)
        test = np.array([r["split"] == "test" for r in rows])
        m = re.search(r"repeat-(\d+)-fold-(\d+)\.csv$", run)
        rep, fold = int(m.group(1)), int(m.group(2))
        acc = run_fold(torch, [mels[p] for p in paths], y, test, classes,
                       args, args.seed * 1000 + rep * 100 + fold)
        out.append({"repeat": rep, "fold": fold, "items": int(test.sum()),
                    "accuracy": acc})
        print("repeat %d fold %d: %d test items, accuracy %.4f (%.0f s)"
              % (rep, fold, test.sum(), acc, time.time() - t0), flush=True)
    accs = np.array([r["accuracy"] for r in out])
    sd = float(accs.std(ddof=1)) if len(accs) > 1 else 0.0
    print("three-layer CNN, %g-s crops: accuracy %.1f ± %.1f %% over %d runs"
          % (args.crop_seconds, 100 * accs.mean(), 100 * sd, len(accs)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": out, "mean": {"accuracy": float(accs.mean())},
                       "sd": {"accuracy": sd},
                       "settings": {"epochs": args.epochs,
                                    "batch_size": args.batch_size,
                                    "crop_seconds": args.crop_seconds,
                                    "seed": args.seed}}, f, indent=1)


if __name__ == "__main__":
    main()
