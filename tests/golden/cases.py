"""The golden cases: for each, the generated input, setup lines (models the
case makes for itself, with fixed seeds), the one line under test, what of
its output is kept, and the tolerance with its reason. golden.py runs them;
tests/golden/README.md explains the format and how to regenerate."""
import json
import os

from golden import make_corpus, messages, parse_structure, record

# ------------------------------------------------------------- tolerances
# The lines are deterministic: the same build on the same machine gives the
# same bits. What may move the last bits without a change of behaviour:
EXACT = dict(atol=0, rtol=0, why="integers, names and sample counts: "
             "any difference is a change of behaviour")
DSP = dict(atol=1e-6, rtol=1e-5, why="float32 DSP: another FFTW plan "
           "(FFTW_MEASURE picks by timing) or summation order in a moved "
           "loop changes values by a few float32 ulps (1e-7 relative); "
           "1e-5 relative is 100 ulps, far below what any parameter "
           "change moves (1e-2 and more); atol 1e-6 for values near 0")
IS09 = dict(atol=1e-5, rtol=1e-4, why="IS09 functionals go through "
            "float32 LLDs, smoothing, deltas, regressions and moments "
            "(kurtosis, linregerrQ) that amplify ulp differences of the "
            "FFT ~1000-fold; 1e-4 relative keeps a window, hop or scale "
            "change (1e-2 and more) visible")
TRAIN = dict(atol=1e-6, rtol=1e-4, why="training with AFFECT_THREADS=1 "
             "is bit-reproducible on one machine; another CPU's OpenBLAS "
             "kernel (AVX2 vs AVX-512) sums in another order and a few "
             "epochs grow that to ~1e-6 relative; 1e-4 covers it while a "
             "different seed, step count or learning rate moves losses and "
             "predictions by 1e-2 or more")

# ------------------------------------------------------------- inputs
# affect-run's tone generator (generate=tones): 4 quadrants x 2 items of
# 1 s at 16 kHz, seed 3; speech.csv adds a spontaneity column.


def tones(work):
    make_corpus(work, items=2, seconds=1, seed=3)


SRC = "affectsrc location=${W}/corpus/manifest.csv"
SPEECH = "affectsrc location=${W}/corpus/speech.csv"
AUDIO16 = "audioconvert ! audio/x-raw,format=F32LE,channels=1"
AUDIO12 = ("audioconvert ! audioresample ! "
           "audio/x-raw,format=F32LE,channels=1,rate=12000")

# ------------------------------------------------------------- outputs


def sink_caps(out, sink, keep):
    """The caps negotiated on SINK's sink pad (gst-launch -v), fields KEEP."""
    caps = None
    for line in out.splitlines():
        if ":%s.GstPad:sink: caps = " % sink in line:
            caps = line.split(" caps = ", 1)[1]
    name, f = parse_structure(caps)
    return record(("caps", name), *[(k, f.get(k, "-")) for k in keep]) + "\n"


def msg_records(out, name, keys, sort=True):
    recs = [record(("msg", name), ("from", el),
                   *[(k, f.get(k, "-")) for k in keys])
            for el, f in messages(out, name)]
    return "".join(r + "\n" for r in (sorted(recs) if sort else recs))


def items_from_identity(out):
    """Per item (identity silent=false under -v): its start event's fields,
    the samples between start and end, the first timestamp."""
    recs, cur = [], None
    for line in out.splitlines():
        if "last-message = event" in line and "affect-item-" in line:
            s = line.split("custom-downstream (", 1)[1].split(", ", 1)[1]
            s = s[:s.rindex(")")]
            name, f = parse_structure(s)
            if name == "affect-item-start":
                _, t = parse_structure(
                    f.get("targets", "targets").replace("\\", ""))
                cur = dict(f, samples=0, pts=None, targets=sorted(t.items()))
            elif name == "affect-item-end" and cur is not None:
                recs.append(record(
                    ("item", cur["id"]), ("index", cur["index"]),
                    ("end-id", f["id"]), ("split", cur.get("split", "-")),
                    ("class", cur.get("class", "-")),
                    ("labels", cur.get("labels", "-")),
                    *[("target-" + k, v) for k, v in cur["targets"]],
                    ("samples", cur["samples"]), ("pts", cur["pts"])))
                cur = None
        elif "last-message = chain" in line and cur is not None:
            b = int(line.split("(", 2)[2].split(" bytes")[0])
            cur["samples"] += b // 4
            if cur["pts"] is None:
                cur["pts"] = line.split("pts: ", 1)[1].split(",")[0]
    return "".join(r + "\n" for r in recs)


def is09_csv(path):
    rows = open(path).read().splitlines()
    header = rows[0].split(",")
    out = record(("columns", len(header))) + "\n"
    for r in rows[1:]:
        v = r.split(",")
        out += record(("row", v[0]), ("values", " ".join(v[1:]))) + "\n"
    return out


def flatten_json(path):
    """Every leaf of a JSON report as `path=value`, in document order."""
    lines = []

    def walk(x, p):
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, p + "." + k if p else k)
        elif isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, "%s[%d]" % (p, i))
        else:
            v = "null" if x is None else x
            if isinstance(v, str):
                v = v.replace(" ", "_") or "''"
            lines.append("%s=%s" % (p, json.dumps(v) if isinstance(v, bool)
                                    else v))
    walk(json.load(open(path)), "")
    return "".join(l_ + "\n" for l_ in lines)


def read(work, name):
    return open(os.path.join(work, name)).read()


# ------------------------------------------------------------- models made
# by the cases themselves (fixed seeds, one thread)
CLASSIFY_TRAIN = (
    SRC + " ! " + AUDIO12 + " ! affectmel preset=mtg-jamendo ! "
    "affectclassify mode=train model=${W}/cls.safetensors width=0.05 "
    "chunk-frames=65 chunks=1 epochs=2 sgd-epochs=0 seed=5 batch-size=4 "
    "! fakesink")
REGRESS_TRAIN = (
    SRC + " ! " + AUDIO16 + " ! affectis09 ! affectregress mode=train "
    "model-file=${W}/reg.safetensors targets=valence,arousal "
    "hidden-sizes=16,8 epochs=4 seed=4 batch-size=4 vat=true lambda=1.0 "
    "epsilon=1.5 ! fakesink")
GATE_TRAIN = (
    SPEECH + " ! " + AUDIO16 + " ! affectis09 ! affectgate name=g "
    "mode=train model-file=${W}/gate.safetensors hidden-sizes=8 epochs=3 "
    "seed=2 batch-size=4 g.src_0 ! queue ! fakesink g.src_1 ! queue ! "
    "fakesink")

EPOCH = ["epoch", "train-loss"]

CASES = {
    # affectsrc: the items, their fields from the manifest, and the samples
    # each one carries (8 tones of 1 s at 16 kHz)
    "affectsrc-items": dict(
        input=tones, tolerance=EXACT,
        launch=SRC + " ! " + AUDIO16 + " ! identity silent=false ! fakesink",
        output=lambda w, out: (items_from_identity(out) + msg_records(
            out, "affect-dataset-done", ["items-emitted", "items-skipped"]),
            [])),
    "affectmel-librosa": dict(
        input=tones, tolerance=DSP,
        launch=SRC + " stop-index=2 ! " + AUDIO16 +
        " ! affectmel preset=librosa ! filesink name=out location=mel.f32",
        output=lambda w, out: (sink_caps(out, "out", [
            "dimensions", "framerate", "n-mels", "n-fft", "hop", "fmax",
            "power", "log"]), ["mel.f32"])),
    "affectmel-mtg-jamendo": dict(
        input=tones, tolerance=DSP,
        launch=SRC + " stop-index=2 ! " + AUDIO12 +
        " ! affectmel preset=mtg-jamendo ! filesink name=out location=mel.f32",
        output=lambda w, out: (sink_caps(out, "out", [
            "dimensions", "framerate", "n-mels", "n-fft", "hop", "fmax",
            "power", "log"]), ["mel.f32"])),
    # one vector per item, as openSMILE CSV rows
    "affectis09-items": dict(
        input=tones, tolerance=IS09,
        launch=SRC + " stop-index=4 ! " + AUDIO16 +
        " ! affectis09 location=is09.csv ! fakesink",
        output=lambda w, out: (is09_csv(os.path.join(w, "is09.csv")), [])),
    # 0.5-s windows every 0.25 s within items: tensors and messages
    "affectis09-windowed": dict(
        input=tones, tolerance=IS09,
        launch=SRC + " stop-index=2 ! " + AUDIO16 +
        " ! affectis09 window=500000000 hop=250000000 post-messages=true"
        " ! filesink name=out location=is09.f32",
        output=lambda w, out: (sink_caps(out, "out", ["dimensions"]) +
                               msg_records(out, "affect-is09", [
                                   "timestamp", "id", "complete",
                                   "duration"]), ["is09.f32"])),
    "affectis09-lld": dict(
        input=tones, tolerance=IS09,
        launch=SRC + " stop-index=1 ! " + AUDIO16 +
        " ! affectis09 output=lld ! filesink name=out location=lld.f32",
        output=lambda w, out: (sink_caps(out, "out", [
            "dimensions", "framerate"]), ["lld.f32"])),
    "affecthnr": dict(
        input=tones, tolerance=DSP,
        launch=SRC + " stop-index=2 ! " + AUDIO16 +
        " ! affecthnr post-messages=true seed=7 ! filesink location=hnr.f32",
        output=lambda w, out: (msg_records(out, "affect-hnr", [
            "timestamp", "id", "frames", "voiced-fraction", "mean-f0", "lsd",
            "lsd-bands"]), ["hnr.f32"])),
    # MoodNet trained two epochs (seed 5) on the tones: the losses
    "affectclassify-train": dict(
        input=tones, tolerance=TRAIN, launch=CLASSIFY_TRAIN,
        output=lambda w, out: (msg_records(out, "affect-train-epoch", EPOCH),
                               [])),
    # ... and that model's scores and decisions
    "affectclassify-infer": dict(
        input=tones, tolerance=TRAIN, setup=[CLASSIFY_TRAIN],
        launch=SRC + " ! " + AUDIO12 + " ! affectmel preset=mtg-jamendo ! "
        "affectclassify model=${W}/cls.safetensors ! "
        "filesink location=scores.f32",
        output=lambda w, out: (msg_records(out, "affect-prediction", [
            "id", "timestamp", "labels", "scores"]), ["scores.f32"])),
    # VAT (lambda 1, epsilon 1.5), 4 epochs, seed 4
    "affectregress-train": dict(
        input=tones, tolerance=TRAIN, launch=REGRESS_TRAIN,
        output=lambda w, out: (
            msg_records(out, "affect-train-epoch", EPOCH + [
                "train-mse", "train-lds", "validation-metric"]) +
            msg_records(out, "affect-train-done", [
                "items", "validation-items", "best-epoch",
                "validation-metric"]), [])),
    "affectregress-infer": dict(
        input=tones, tolerance=TRAIN, setup=[REGRESS_TRAIN],
        launch=SRC + " ! " + AUDIO16 + " ! affectis09 ! "
        "affectregress model-file=${W}/reg.safetensors ! "
        "filesink location=pred.f32",
        output=lambda w, out: (msg_records(out, "affect-prediction", [
            "id", "timestamp", "names", "scores"]), ["pred.f32"])),
    "affectgate-train": dict(
        input=tones, tolerance=TRAIN, launch=GATE_TRAIN,
        output=lambda w, out: (
            msg_records(out, "affect-train-epoch", EPOCH + [
                "validation-metric"]) +
            msg_records(out, "affect-train-done", [
                "items", "validation-items", "best-epoch",
                "validation-metric"]), [])),
    # routing: which vectors reach each pad, and each item's probability
    "affectgate-infer": dict(
        input=tones, tolerance=TRAIN, setup=[GATE_TRAIN],
        launch=SPEECH + " ! " + AUDIO16 + " ! affectis09 ! affectgate name=g "
        "model-file=${W}/gate.safetensors threshold=0.5 "
        "g.src_0 ! queue ! filesink location=route0.f32 "
        "g.src_1 ! queue ! filesink location=route1.f32",
        output=lambda w, out: (msg_records(out, "affect-prediction", [
            "id", "route", "scores"]), ["route0.f32", "route1.f32"])),
    # the gated system re-joined by funnel: the metrics report, overall and
    # per route, and the per-item table
    "affectmetrics-regression": dict(
        input=tones, tolerance=TRAIN, setup=[REGRESS_TRAIN, GATE_TRAIN],
        launch=SPEECH + " ! " + AUDIO16 + " ! affectis09 ! affectgate name=g "
        "model-file=${W}/gate.safetensors "
        "g.src_0 ! queue ! affectregress model-file=${W}/reg.safetensors ! f. "
        "g.src_1 ! queue ! affectregress model-file=${W}/reg.safetensors ! f. "
        "funnel name=f ! affectmetrics location=metrics.json "
        "items-location=items.csv",
        output=lambda w, out: (
            flatten_json(os.path.join(w, "metrics.json")) +
            "".join(sorted(
                record(("row", r.replace(" ", "")))
                + "\n" for r in read(w, "items.csv").splitlines())), [])),
    "affectmetrics-class": dict(
        input=tones, tolerance=TRAIN, setup=[CLASSIFY_TRAIN],
        launch=SRC + " ! " + AUDIO12 + " ! affectmel preset=mtg-jamendo ! "
        "affectclassify model=${W}/cls.safetensors ! "
        "affectmetrics location=metrics.json",
        output=lambda w, out: (
            flatten_json(os.path.join(w, "metrics.json")), [])),
    # the same scores taken as tags: MediaEval's fitted thresholds,
    # per-tag values
    "affectmetrics-tags": dict(
        input=tones, tolerance=TRAIN, setup=[CLASSIFY_TRAIN],
        launch=SRC + " ! " + AUDIO12 + " ! affectmel preset=mtg-jamendo ! "
        "affectclassify model=${W}/cls.safetensors ! "
        "affectmetrics task=tags decision=fitted location=metrics.json",
        output=lambda w, out: (
            flatten_json(os.path.join(w, "metrics.json")), [])),
}
