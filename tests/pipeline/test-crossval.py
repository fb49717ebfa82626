#!/usr/bin/env python3
"""affect-run crossval (pipelines/crossval.experiment) on a tiny generated
corpus: the tone corpus (made by the runner) with a group column added.

- TASK=speech, LABEL=arousal, GROUP: every item is tested once per repeat,
  groups never straddle a run's train and test parts (the learners hold out
  whole groups of the train part: crossval_group), the baseline is
  the training part's mean, and crossval.json's per-run MAE, RMSE and CCC and
  their mean and sd equal a recomputation here from the predictions the run
  stored (1e-9); the model beats the training mean on this easy target.
- The same, sharded 0/2 and 1/2 into one folder and joined by
  `affect-run merge`: the same crossval.json numbers.
- Every speech run's scores agree with its affectmetrics report (1e-6).
- TASK=spontaneity (the gate, two classes): accuracy, balanced accuracy,
  macro-F1 and the summed confusion matrix recomputed here; the PNG exists.
- The feature cache (FEATURES=cache, the default): the first run extracts
  the manifest's IS09 once (the `features` step, cached false), the runs
  read it with affectfeaturesrc and decode nothing (no affectsrc in their
  pipelines); the next runs over the same files (the shards, the
  spontaneity run) find it (cached true); and FEATURES=extract, which
  decodes and extracts in every run, gives the same crossval.json numbers;
  a file that cannot be decoded is named by the features step and skipped,
  with its path, by every run, with the same numbers as FEATURES=extract.
- TASK=music (the quadrants, a tiny MoodNet for two epochs): the same
  class checks, each prediction's label is its best score's, and every
  run's affectmetrics report agrees.

    test-crossval.py AFFECT_RUN [--emodb]

--emodb: the same checks on ../shared/data/emodb (arousal, speaker-grouped,
2 folds, 5 epochs), with the cache and with FEATURES=extract (the same
numbers); skipped with a message when it is absent.
"""
import csv, json, math, os, shutil, subprocess, sys, tempfile

RUN = sys.argv[1]
EMODB = "--emodb" in sys.argv
HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data", "emodb"))


def run(*args):
    r = subprocess.run([RUN] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=600)
    print(r.stdout[-3000:])
    assert r.returncode == 0, "exit %d: %s" % (r.returncode, " ".join(args))
    return r.stdout


def mean_sd(v):
    m = sum(v) / len(v)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else None
    return m, sd


def regression(p, t):
    n = len(t)
    mp, mt = sum(p) / n, sum(t) / n
    vp = sum((x - mp) ** 2 for x in p) / n
    vt = sum((x - mt) ** 2 for x in t) / n
    cov = sum((a - mp) * (b - mt) for a, b in zip(p, t)) / n
    denom = vp + vt + (mp - mt) ** 2
    return {"mae": sum(abs(a - b) for a, b in zip(p, t)) / n,
            "rmse": math.sqrt(sum((a - b) ** 2 for a, b in zip(p, t)) / n),
            "ccc": 2 * cov / denom if denom > 0 else 0.0}


def classes(p, t, names):
    present = [c for c in names if c in t or c in p]
    recalls, f1s = [], []
    for c in names:
        tp = sum(1 for a, b in zip(p, t) if a == c and b == c)
        row = sum(1 for b in t if b == c)
        col = sum(1 for a in p if a == c)
        if row:
            recalls.append(tp / row)
        if row + col:
            f1s.append(2 * tp / (row + col))
    assert len(f1s) == len(present)
    return {"accuracy": sum(1 for a, b in zip(p, t) if a == b) / len(t),
            "balanced-accuracy": sum(recalls) / len(recalls),
            "macro-f1": sum(f1s) / len(f1s)}


def close(a, b, what):
    assert (a is None and b is None) or abs(a - b) <= 1e-9 * max(1.0, abs(b)), (what, a, b)


def check(out, task, label, group, manifest_rows):
    plan = json.load(open(os.path.join(out, "folds", "plan.json")))
    cv = json.load(open(os.path.join(out, "crossval.json")))
    group_of = {r["id"]: r[group] for r in manifest_rows} if group else {}
    metrics = ["mae", "rmse", "ccc"] if task == "speech" else \
        ["accuracy", "balanced-accuracy", "macro-f1"]
    runs = plan["runs"]
    assert len(runs) == plan["folds"] * plan["repeats"] == len(cv["runs"])
    confusion = {}
    per_metric = {m: [] for m in metrics}
    for rep in range(plan["repeats"]):
        tested = [i for r in runs if r["repeat"] == rep for i in r["truth"]]
        assert sorted(tested) == sorted(r["id"] for r in manifest_rows), "each item tested once"
    for run_, got in zip(runs, cv["runs"]):
        base = os.path.join(out, "folds", "repeat-%d-fold-%d" % (run_["repeat"], run_["fold"]))
        rows = list(csv.DictReader(open(base + ".csv")))
        parts = {s: {r["id"] for r in rows if r["split"] == s} for s in ("train", "test")}
        assert parts["test"] == set(run_["truth"]) and parts["train"]
        assert len(parts["train"]) + len(parts["test"]) == len(rows)
        # the learners' validation-group reads crossval_group: GROUP, else the id
        assert all(r["crossval_group"] == (group_of[r["id"]] if group else r["id"]) for r in rows)
        if group:
            g = {s: {group_of[i] for i in ids} for s, ids in parts.items()}
            assert not (g["train"] & g["test"]), ("groups straddle parts", g)
        training = [r[label] for r in rows if r["split"] != "test"]
        msgs = json.load(open(base + "-predictions.json"))
        preds = {}
        for m in msgs:
            f = m["fields"]
            if m["source"] != "model" or m["name"] != "affect-prediction":
                continue
            if task == "speech":
                preds[f["id"]] = f["scores"][f["names"].index(label)]
            elif task == "music":
                preds[f["id"]] = f["labels"][0]
                # single-label: the decided label is the best score's
                assert f["labels"][0] == f["names"][f["scores"].index(max(f["scores"]))]
            else:
                preds[f["id"]] = "spontaneous" if f["scores"][0] >= 0.5 else "scripted"
        ids = sorted(run_["truth"])
        truth = [run_["truth"][i] for i in ids]
        pred = [preds[i] for i in ids]
        if task == "speech":
            mean = sum(float(x) for x in training) / len(training)
            close(run_["baseline"], mean, "training mean")
            want, want_base = regression(pred, truth), regression([mean] * len(truth), truth)
        else:
            counts = {c: training.count(c) for c in set(training)}
            majority = sorted(counts, key=lambda c: (-counts[c], c))[0]
            assert run_["baseline"] == majority
            want = classes(pred, truth, cv["classes"])
            want_base = classes([majority] * len(truth), truth, cv["classes"])
            for a, b in zip(truth, pred):
                confusion[(a, b)] = confusion.get((a, b), 0) + 1
        # affectmetrics scored the same predictions (speech and music runs):
        # an independent implementation agrees
        if os.path.exists(base + "-metrics.json"):
            overall = json.load(open(base + "-metrics.json"))["overall"]
            ref = overall["per_output"][0] if task == "speech" else {
                "accuracy": overall["accuracy"],
                "balanced-accuracy": overall["balanced_accuracy"],
                "macro-f1": overall["macro"]["f1"]}
            for m in metrics:
                assert abs(got["model"][m] - ref[m]) <= 1e-6, ("affectmetrics", m, got, ref)
        elif task == "speech":
            raise AssertionError("no affectmetrics report for " + base)
        for m in metrics:
            close(got["model"][m], want[m], m)
            close(got["baseline"][m], want_base[m], "baseline " + m)
            per_metric[m].append(want[m])
    for m in metrics:
        mean, sd = mean_sd(per_metric[m])
        close(cv["mean"][m], mean, "mean " + m)
        close(cv["sd"][m], sd, "sd " + m)
    if task != "speech":
        names = cv["classes"]
        assert cv["confusion"] == [[confusion.get((a, b), 0) for b in names] for a in names]
        assert open(cv["confusion-figure"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    table = open(os.path.join(out, "crossval.md"), encoding="utf-8").read()
    assert "± " in table and ("training mean" in table or "majority class" in table)
    return cv


def results_steps(out, name="results.json"):
    return json.load(open(os.path.join(out, name)))["steps"]


def check_cached(out, cached, name="results.json"):
    steps = results_steps(out, name)
    feat = [s for s in steps if s["name"] == "features"]
    assert len(feat) == 1 and feat[0]["report"]["cached"] is cached, feat
    runs = [s for s in steps if s["kind"] == "pipeline"]
    assert runs, steps
    for s in runs:
        assert s["launch"].startswith("affectfeaturesrc ") and "affectsrc" not in s["launch"] \
            and "affectis09" not in s["launch"], s["launch"]


def same_numbers(a_dir, b_dir, keys):
    a = json.load(open(os.path.join(a_dir, "crossval.json")))
    b = json.load(open(os.path.join(b_dir, "crossval.json")))
    for k in keys:
        assert a[k] == b[k], ("FEATURES=cache and FEATURES=extract differ", k, a[k], b[k])


def tiny(tmp):
    cache = os.path.join(tmp, "cache")
    # the tone corpus, made by the runner, with a group column
    run("tones", "-q", "-o", os.path.join(tmp, "tones"), "CACHE=" + cache, "ITEMS=6")
    src = os.path.join(cache, "tones-seed1-6", "manifest.csv")
    rows = list(csv.DictReader(open(src)))
    manifest = os.path.join(tmp, "grouped.csv")
    with open(manifest, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "path", "arousal", "spont", "speaker", "quadrant"])
        for i, r in enumerate(rows):
            w.writerow([r["id"], os.path.join(cache, "tones-seed1-6", r["path"]), r["arousal"],
                        "spontaneous" if r["tempo"] == "fast" else "scripted", "s%d" % (i // 4 % 6),
                        r["label"]])
    rows = list(csv.DictReader(open(manifest)))
    common = ["MANIFEST=" + manifest, "GROUP=speaker", "FOLDS=3", "EPOCHS=6", "CACHE=" + cache]

    out = os.path.join(tmp, "speech")
    text = run("crossval", "-o", out, "TASK=speech", "LABEL=arousal", *common)
    assert "| model |" in text and "training mean" in text
    assert "tone corpus" not in text, "a corpus step ran although MANIFEST was given"
    cv = check(out, "speech", "arousal", "speaker", rows)
    assert cv["mean"]["mae"] < cv["baseline"]["mean"]["mae"], cv["mean"]
    check_cached(out, False)

    # every run decoding and extracting: the same numbers
    extract = os.path.join(tmp, "extract")
    run("crossval", "-q", "-o", extract, "TASK=speech", "LABEL=arousal", "FEATURES=extract",
        *common)
    steps = results_steps(extract)
    assert all("affectsrc " in s["launch"] and "affectis09" in s["launch"]
               for s in steps if s["kind"] == "pipeline")
    assert [s["report"].get("skipped") for s in steps if s["name"] == "features"] \
        == ["FEATURES=extract: every run extracts"]
    same_numbers(out, extract, ("runs", "mean", "sd", "baseline"))

    sharded = os.path.join(tmp, "sharded")
    for i in (0, 1):
        run("crossval", "-q", "--shard", "%d/2" % i, "-o", sharded, "TASK=speech",
            "LABEL=arousal", *common)
    for i in (0, 1):
        check_cached(sharded, True, "results-%d-of-2.json" % i)
    run("merge", sharded)
    merged = json.load(open(os.path.join(sharded, "crossval.json")))
    assert merged["runs"] == cv["runs"] and merged["mean"] == cv["mean"], "shards differ"

    out = os.path.join(tmp, "spontaneity")
    run("crossval", "-o", out, "TASK=spontaneity", "LABEL=spont", *common)
    check(out, "spontaneity", "spont", "speaker", rows)
    check_cached(out, True)
    extract = os.path.join(tmp, "spontaneity-extract")
    run("crossval", "-q", "-o", extract, "TASK=spontaneity", "LABEL=spont", "FEATURES=extract",
        *common)
    same_numbers(out, extract, ("runs", "mean", "sd", "confusion"))

    # a file that cannot be decoded: the features step names it and the
    # table has no row for it; every run skips it with a warning naming its
    # path (affectfeaturesrc pairs rows by the table's ids), as the
    # extracting runs do: the same numbers as FEATURES=extract
    garbage = os.path.join(tmp, "garbage.wav")
    with open(garbage, "wb") as f:
        f.write(b"RIFF\x00\x00\x00\x00not a wave file at all")
    bad = os.path.join(tmp, "bad.csv")
    with open(bad, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "path", "arousal", "spont", "speaker"])
        for r in rows:
            w.writerow([r["id"], r["path"], r["arousal"], r["spont"], r["speaker"]])
        w.writerow(["garbage", garbage, "0.5", "scripted", "s9"])
    bad_common = ["TASK=speech", "LABEL=arousal", "MANIFEST=" + bad] + common[1:]
    r = subprocess.run([RUN, "crossval", "-q", "-o", os.path.join(tmp, "bad")] + bad_common,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    print(r.stdout[-3000:])
    assert r.returncode == 0, r.returncode
    assert 'item "garbage" (%s) could not be decoded' % garbage in r.stdout
    assert 'Item "garbage" (%s): skipped' % garbage in r.stdout
    steps = results_steps(os.path.join(tmp, "bad"))
    assert [s["report"]["undecoded"] for s in steps if s["name"] == "features"] \
        == [["garbage"]], steps[0]
    run("crossval", "-q", "-o", os.path.join(tmp, "bad-extract"), "FEATURES=extract",
        *bad_common)
    same_numbers(os.path.join(tmp, "bad"), os.path.join(tmp, "bad-extract"),
                 ("runs", "mean", "sd", "baseline"))

    # music: the quadrants through Mel -> affectclassify at the experiment's
    # training recipe (random crops, the crop-averaged prediction), on a
    # network and a run small enough for the suite
    out = os.path.join(tmp, "music")
    text = run("crossval", "-o", out, "TASK=music", "LABEL=quadrant", "MUSIC_EPOCHS=2",
               "CHUNKS=1", "CHUNK_FRAMES=65", "WIDTH=0.1", *common)
    assert "majority class" in text
    check(out, "music", "quadrant", "speaker", rows)
    for r in json.load(open(os.path.join(out, "folds", "plan.json")))["runs"]:
        base = os.path.join(out, "folds", "repeat-%d-fold-%d" % (r["repeat"], r["fold"]))
        assert os.path.exists(base + "-metrics.json"), base


def emodb(tmp):
    if not os.path.exists(os.path.join(SHARED, "labels.csv")):
        print("SKIP: %s is absent (the EmoDB copy of ../shared)" % SHARED)
        sys.exit(77)
    out = os.path.join(tmp, "emodb")
    manifest = os.path.join(SHARED, "labels.csv")
    common = ["MANIFEST=" + manifest, "TASK=speech", "LABEL=arousal", "GROUP=speaker",
              "FOLDS=2", "EPOCHS=5", "CACHE=" + os.path.join(tmp, "cache")]
    text = run("crossval", "-o", out, *common)
    rows = list(csv.DictReader(open(manifest)))
    for r in rows:
        r["id"] = os.path.splitext(os.path.basename(r["path"]))[0]
    cv = check(out, "speech", "arousal", "speaker", rows)
    assert cv["mean"]["mae"] < cv["baseline"]["mean"]["mae"], cv["mean"]
    check_cached(out, False)
    # 22.05 kHz files resampled to 16 kHz: the cached vectors are those the
    # runs extract themselves
    extract = os.path.join(tmp, "emodb-extract")
    run("crossval", "-q", "-o", extract, "FEATURES=extract", *common)
    same_numbers(out, extract, ("runs", "mean", "sd", "baseline"))


def main():
    tmp = tempfile.mkdtemp(prefix="affect-crossval-")
    try:
        emodb(tmp) if EMODB else tiny(tmp)
        print("ok")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
