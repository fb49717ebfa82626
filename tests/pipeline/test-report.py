#!/usr/bin/env python3
"""The report's cross-corpus table over seeds, and experiments run on given
data (no corpus generated).

- Stored metric files of three seeds (written here, with ties and wins on
  both sides): report.json's cross-corpus rows carry every seed's MAE and
  their mean and sample sd; `paired` holds VAT − no VAT per seed, its mean
  and sd and the seeds VAT wins (a tie is no win), all equal to a
  recomputation here; report.md shows "k of N".
- A real run: cross-corpus included by an outer experiment that passes
  TRAIN and TEST on (`pass=`), on a tone corpus made by the runner, with
  SEEDS=3: no generator but `features` and the report ran, results.json
  lists the skipped corpus step, each seed trained its own models, and the
  report's paired numbers are those of the per-seed metric files. Run
  again, both feature tables come from the cache.
- A VAT sweep over seeds (stored lambda-L-seed-S.json, epsilon-E-seed-S.json,
  one of them missing): every setting's mean ± sd over its seeds, and each
  setting, of both sweeps, paired with lambda = 0 by seed. The same for
  the spontaneity rows, with the gated system paired with the single
  regressor.
- `affect-run speech TRAIN=... TEST=...` (dry run): none of its three
  experiments generates the speech corpus; without them each does; nor
  does `music` with TRAIN, VALIDATION and TEST; `pass=`
  naming no variable of the including experiment is refused (exit 2).

    test-report.py AFFECT_RUN
"""
import json, math, os, shutil, subprocess, sys, tempfile

RUN = sys.argv[1]
ROWS = ["dnn-model", "vat-model", "dnn-per-stream", "vat-per-stream"]


def run(*args, check=True):
    r = subprocess.run([RUN] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=600)
    print(r.stdout[-3000:])
    if check:
        assert r.returncode == 0, "exit %d: %s" % (r.returncode, " ".join(args))
    return r.stdout


def mean_sd(v):
    m = sum(v) / len(v)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else None
    return m, sd


def close(a, b, what):
    assert (a is None and b is None) or abs(a - b) <= 1e-12 * max(1.0, abs(b)), (what, a, b)


def metrics(maes, n=10):
    return {"overall": {"n_items": n, "mae_mean": sum(maes.values()) / len(maes),
                        "per_output": [{"name": k, "mae": v} for k, v in maes.items()]}}


def per_seed_mae(d, row, seed, target):
    o = json.load(open(os.path.join(d, "%s-seed-%s.json" % (row, seed))))["overall"]
    if target == "mean":
        return o["mae_mean"]
    return [p["mae"] for p in o["per_output"] if p["name"] == target][0]


def check_cross_corpus(d, cc, seeds, targets):
    """report.json's cross-corpus object against the files of d"""
    assert cc["seeds"] == [str(s) for s in seeds], cc["seeds"]
    cols = targets + (["mean"] if len(targets) > 1 else [])
    for row, got in zip(ROWS, cc["rows"]):
        for t in cols:
            v = [per_seed_mae(d, row, s, t) for s in seeds]
            assert got["mae_%s_per_seed" % t] == v, (row, t)
            m, sd = mean_sd(v)
            close(got["mae_" + t], m, row + " mean " + t)
            close(got["mae_%s_sd" % t], sd, row + " sd " + t)
    wins = {}
    for pair in cc["paired"]:
        std = pair["standardisation"]
        for t in cols:
            vat = [per_seed_mae(d, "vat-" + std, s, t) for s in seeds]
            dnn = [per_seed_mae(d, "dnn-" + std, s, t) for s in seeds]
            diff = [a - b for a, b in zip(vat, dnn)]
            p = pair[t]
            assert p["seeds"] == [str(s) for s in seeds] and p["n"] == len(seeds)
            for a, b in zip(p["differences"], diff):
                close(a, b, "difference")
            m, sd = mean_sd(diff)
            close(p["mean"], m, std + " paired mean " + t)
            close(p["sd"], sd, std + " paired sd " + t)
            close(p["vat_mean"], mean_sd(vat)[0], "vat mean")
            close(p["dnn_mean"], mean_sd(dnn)[0], "dnn mean")
            close(p["vat_sd"], mean_sd(vat)[1], "vat sd")
            close(p["dnn_sd"], mean_sd(dnn)[1], "dnn sd")
            assert p["vat_better"] == sum(1 for x in diff if x < 0), (std, t, p, diff)
            wins[(std, t)] = p["vat_better"]
    assert sorted(p["standardisation"] for p in cc["paired"]) == ["model", "per-stream"]
    return wins


def report_experiment(tmp, input_dir):
    path = os.path.join(tmp, "report.experiment")
    with open(path, "w") as f:
        f.write("[experiment]\nsteps=report\n[step report]\ngenerate=report\n"
                "input=%s\noutput=%s/report\n" % (input_dir, input_dir))
    return path


def stored(tmp):
    """three seeds of written metric files: known wins, a tie"""
    d = os.path.join(tmp, "stored")
    os.makedirs(d)
    mae = {  # row -> seed -> (valence, arousal)
        "dnn-model": {1: (0.55, 0.80), 2: (0.58, 0.70), 3: (0.70, 0.90)},
        "vat-model": {1: (0.50, 0.85), 2: (0.60, 0.75), 3: (0.70, 0.80)},
        "dnn-per-stream": {1: (0.40, 0.60), 2: (0.45, 0.65), 3: (0.50, 0.70)},
        "vat-per-stream": {1: (0.39, 0.59), 2: (0.44, 0.64), 3: (0.49, 0.69)},
    }
    for row, seeds in mae.items():
        for s, (v, a) in seeds.items():
            json.dump(metrics({"valence": v, "arousal": a}),
                      open(os.path.join(d, "%s-seed-%d.json" % (row, s)), "w"))
    json.dump({"overall": {"n_items": 10, "per_output": [{"name": "valence"}, {"name": "arousal"}],
                           "baseline": {"rule": "training-mean", "mae": [0.9, 1.0],
                                        "mae_mean": 0.95}}},
              open(os.path.join(d, "training-mean.json"), "w"))
    out = run(report_experiment(tmp, d), "-o", os.path.join(tmp, "stored-run"))
    rep = json.load(open(os.path.join(d, "report", "report.json")))
    cc = rep["sections"]["cross-corpus"]
    wins = check_cross_corpus(d, cc, [1, 2, 3], ["valence", "arousal"])
    # valence, model: −0.05, +0.02, 0 (a tie): one win; arousal: +, +, −
    assert wins[("model", "valence")] == 1 and wins[("model", "arousal")] == 1, wins
    assert wins[("per-stream", "valence")] == 3 and wins[("per-stream", "mean")] == 3, wins
    assert cc["baseline"]["mae_valence"] == 0.9 and cc["baseline"]["mae_mean"] == 0.95
    md = open(os.path.join(d, "report", "report.md"), encoding="utf-8").read()
    for text in ("VAT − no VAT, paired by seed", "| model | MAE valence |", "| 1 of 3 |",
                 "| 3 of 3 |", "| training mean |", "mean ± sd over the seeds"):
        assert text in md and text in out, text


def real(tmp):
    cache = os.path.join(tmp, "cache")
    run("tones", "-q", "-o", os.path.join(tmp, "tones"), "CACHE=" + cache, "ITEMS=6")
    manifest = os.path.join(cache, "tones-seed1-6", "manifest.csv")
    outer = os.path.join(tmp, "outer.experiment")
    cc_file = os.path.join(os.environ.get("AFFECT_SOURCE_DIR", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")), "pipelines",
        "cross-corpus.experiment")
    with open(outer, "w") as f:
        f.write("""[experiment]
steps=cc;report
[variables]
TRAIN=
TEST=
[step cc]
experiment=%s
output=${RESULTS}/cc
pass=TRAIN;TEST
SEEDS=3
SEED=4
EPOCHS=3
TARGETS=valence,arousal
HIDDEN_SIZES=16
THREADS=1
[step report]
generate=report
""" % os.path.abspath(cc_file))
    res = os.path.join(tmp, "real")
    args = [outer, "-o", res, "CACHE=" + cache, "TRAIN=" + manifest, "TEST=" + manifest]
    text = run(*args)
    assert "affect-run: skipped cc/corpus (TRAIN, TEST given)" in text
    results = json.load(open(os.path.join(res, "results.json")))
    assert results["skipped"] == ["cc/corpus (TRAIN, TEST given)"], results["skipped"]
    gens = [s["generator"] for s in results["steps"] if s["kind"] == "generate"]
    assert gens == ["baseline", "features", "features", "report"], gens
    feats = [s["report"] for s in results["steps"] if s.get("generator") == "features"]
    assert [f["cached"] for f in feats] == [False, True], feats  # TRAIN = TEST: one table
    names = [s["name"] for s in results["steps"]]
    for s in (4, 5, 6):
        assert "cc/train-vat-%d" % s in names and "cc/eval-dnn-per-stream-%d" % s in names
        assert os.path.exists(os.path.join(res, "cc", "vat-seed-%d.safetensors" % s))
    d = os.path.join(res, "cc")
    cc = json.load(open(os.path.join(res, "report", "report.json")))["sections"]["cross-corpus"]
    check_cross_corpus(d, cc, [4, 5, 6], ["valence", "arousal"])
    # again: both tables from the cache, the same numbers
    run(*(args + ["-q", "-o", res + "-again"]))
    again = json.load(open(os.path.join(res + "-again", "results.json")))
    assert [s["report"]["cached"] for s in again["steps"]
            if s.get("generator") == "features"] == [True, True]
    cc2 = json.load(open(os.path.join(res + "-again", "report", "report.json")))
    assert cc2["sections"]["cross-corpus"]["paired"] == cc["paired"]


def stored_sweep(tmp):
    d = os.path.join(tmp, "sweep")
    os.makedirs(d)
    mae = {"lambda-0": [0.80, 0.70, 0.90], "lambda-1.5": [0.75, 0.72, 0.80],
           "lambda-3.0": [0.70, 0.60, None], "epsilon-0.5": [0.81, 0.69, 0.90],
           "epsilon-2.0": [0.60, 0.70, 0.95],
           "spontaneous-only": [0.5, 0.6, 0.7], "scripted-only": [0.4, 0.5, 0.6],
           "single": [0.60, 0.65, 0.70], "gated": [0.55, 0.70, 0.69]}
    for stem, per_seed in mae.items():
        for s, v in enumerate(per_seed, 1):
            if v is not None:
                json.dump(metrics({"valence": v}),
                          open(os.path.join(d, "%s-seed-%d.json" % (stem, s)), "w"))
    run(report_experiment(tmp, d), "-o", os.path.join(tmp, "sweep-run"))
    rep = json.load(open(os.path.join(d, "report", "report.json")))
    vs = rep["sections"]["vat-sweep"]
    for key, stems in (("lambda", ["lambda-0", "lambda-1.5", "lambda-3.0"]),
                       ("epsilon", ["epsilon-0.5", "epsilon-2.0"])):
        sec = vs[key]
        assert sec["seeds"] == ["1", "2", "3"], sec["seeds"]
        for stem, row in zip(stems, sec["rows"]):
            v = [x for x in mae[stem] if x is not None]
            m, sd = mean_sd(v)
            close(row["mae_valence"], m, stem)
            close(row["mae_valence_sd"], sd, stem)
            assert row["seeds"] == len(v), row
        paired = [p for p in sec["paired"]]
        assert [p["setting"] for p in paired] == [r["name"] for r in sec["rows"]
                                                  if r["name"] != "λ = 0"], paired
        for stem, p in zip([s for s in stems if s != "lambda-0"], paired):
            pairs = [(a, b) for a, b in zip(mae[stem], mae["lambda-0"]) if a is not None]
            diff = [a - b for a, b in pairs]
            q = p["valence"]
            assert q["n"] == len(diff), (stem, q)
            close(q["mean"], mean_sd(diff)[0], stem + " paired mean")
            close(q["sd"], mean_sd(diff)[1], stem + " paired sd")
            assert q["vat_better"] == sum(1 for x in diff if x < 0), (stem, q)
    sp = rep["sections"]["spontaneity"]
    assert [r["seeds"] for r in sp["rows"]] == [3, 3, 3, 3], sp["rows"]
    close(sp["rows"][3]["mae_valence"], mean_sd(mae["gated"])[0], "gated")
    q = sp["paired"][0]["valence"]
    diff = [a - b for a, b in zip(mae["gated"], mae["single"])]
    close(q["mean"], mean_sd(diff)[0], "gated − single")
    close(q["single_mean"], mean_sd(mae["single"])[0], "single")
    assert q["gated_better"] == 2 and q["n"] == 3, q
    md = open(os.path.join(d, "report", "report.md"), encoding="utf-8").read()
    for text in ("| λ = 3.0 | MAE valence |", "| 2 of 2 |", "| ε = 2.0 | MAE valence |",
                 "| 1 of 3 |", "mae-lambda.png", "mae-epsilon.png",
                 "| gated system vs single regressor | MAE valence |", "| 2 of 3 |"):
        assert text in md, text


def speech_given(tmp):
    text = run("--dry-run", "speech", "TRAIN=/data/a.csv", "TEST=/data/b.csv")
    assert "generate=speech" not in text, "a corpus generator runs although TRAIN and TEST are given"
    for e in ("vat-sweep", "cross-corpus", "spontaneity"):
        assert "skipped %s/corpus (TRAIN, TEST given)" % e in text, e
    assert 'manifest="/data/a.csv"' in text or "manifest=/data/a.csv" in text
    text = run("--dry-run", "speech")
    assert text.count("generate=speech") == 3, "without TRAIN and TEST each makes its corpus"
    assert "skipped" not in text
    text = run("--dry-run", "music", "TRAIN=/data/t.csv", "VALIDATION=/data/v.csv",
               "TEST=/data/e.csv", "ROOT=/data")
    assert "generate=music" not in text
    assert "skipped corpus (TRAIN, VALIDATION, TEST given)" in text
    # pass= names a variable the including experiment must have
    bad = os.path.join(tmp, "bad-pass.experiment")
    with open(bad, "w") as f:
        f.write("[experiment]\nsteps=s\n[step s]\nexperiment=cross-corpus\npass=TRAIN\n")
    r = subprocess.run([RUN, "--dry-run", bad], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    assert r.returncode == 2 and "pass: TRAIN is not a variable" in r.stderr, r.stderr


def main():
    tmp = tempfile.mkdtemp(prefix="affect-report-")
    try:
        stored(tmp)
        stored_sweep(tmp)
        speech_given(tmp)
        real(tmp)
        print("ok")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
