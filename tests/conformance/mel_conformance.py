#!/usr/bin/python3
"""affectmel's core (via mel-dump) against a float64 numpy statement of the
Mel spectrogram formulas (docs/mel-presets.md), on several signals, for every
preset and every mel-scale x norm combination plus window / padding / power /
log variants.

Tolerances (docs/mel-presets.md explains them). The FFT runs in float32, whose
rounding error is relative to the frame's energy, not to each band, so:
  linear values  |ours - ref| <= 1e-5 * ref on bands within 30 dB of the
                 frame's strongest band, and |ours - ref| <= 1e-6 * that
                 band's value on every band
  dB values      |ours - ref| <= 1e-3 dB on bands within 60 dB of the frame's
                 strongest band (and bands the floor or top-db clamps), the
                 absolute bound above on all
  log10(1+Cx), ln(x+eps)  compared through their inverse as linear values,
                 allowing the float32 rounding of the logarithm itself
  frame count and frame times (t * hop / rate) identical
usage: mel_conformance.py PATH/TO/mel-dump [PATH/TO/launch]
(the element pipelines run in the given gst-launch, else gst-launch-1.0)
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

REL_TOL = 1e-5          # relative, on bands within REL_RANGE of the frame peak
REL_RANGE = 1e-3        # 30 dB (power 2; the square root for magnitudes)
DB_TOL = 1e-3           # dB, on bands within DB_RANGE of the frame peak
DB_RANGE = 1e-6         # 60 dB
ABS_TOL = 1e-6          # every band, as a fraction of its frame's peak band

PRESETS = {
    "librosa": dict(sample_rate=22050, n_fft=2048, hop=512, win_length=0,
                    window="hann", center=1, pad_mode="zeros", pad_value=0.0,
                    framing="librosa",
                    n_mels=128, fmin=0.0, fmax=0.0, mel_scale="slaney",
                    norm="slaney", power=2, log="none", amin=1e-10, top_db=0.0,
                    log_c=1e4, log_eps=1e-6, scale=1.0),
}
PRESETS["mtg-jamendo"] = dict(PRESETS["librosa"], sample_rate=12000, n_fft=512,
                              hop=256, window="hann-symmetric", n_mels=96,
                              fmax=6000.0, log="db", amin=1e-9, scale=0.01)
PRESETS["musicnn"] = dict(PRESETS["librosa"], sample_rate=16000, n_fft=512,
                          hop=256, window="hann-symmetric", n_mels=96,
                          fmax=8000.0, log="log10-1p", log_c=1e4)


# ------------------------------------------------------------ the formulas
def hz_to_mel(f, scale):
    f = np.asarray(f, dtype=np.float64)
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    lin = f / (200.0 / 3.0)
    logpart = 15.0 + np.log(np.maximum(f, 1e-300) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f < 1000.0, lin, logpart)


def mel_to_hz(m, scale):
    m = np.asarray(m, dtype=np.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(m < 15.0, m * (200.0 / 3.0),
                    1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)))


def filterbank(p):
    sr, n_fft, n_mels = p["sample_rate"], p["n_fft"], p["n_mels"]
    fmax = p["fmax"] if p["fmax"] > 0 else sr / 2.0
    mels = np.linspace(hz_to_mel(p["fmin"], p["mel_scale"]),
                       hz_to_mel(fmax, p["mel_scale"]), n_mels + 2)
    f = mel_to_hz(mels, p["mel_scale"])
    fk = np.arange(n_fft // 2 + 1) * sr / n_fft
    lower = (fk[None, :] - f[:-2, None]) / (f[1:-1] - f[:-2])[:, None]
    upper = (f[2:, None] - fk[None, :]) / (f[2:] - f[1:-1])[:, None]
    w = np.maximum(0.0, np.minimum(lower, upper))
    if p["norm"] == "slaney":
        w *= (2.0 / (f[2:] - f[:-2]))[:, None]
    return w


def window(p):
    n = p["win_length"] or p["n_fft"]
    kind = p["window"]
    a0 = 0.54 if kind.startswith("hamming") else 0.5
    denom = n - 1 if kind.endswith("symmetric") else n
    w = a0 - (1 - a0) * np.cos(2 * np.pi * np.arange(n) / denom) if n > 1 else np.ones(1)
    full = np.zeros(p["n_fft"])
    lo = (p["n_fft"] - n) // 2
    full[lo:lo + n] = w
    return full


def reference(x, p):
    """(frames x n_mels) float64, and the frame times in seconds"""
    x = x.astype(np.float64)
    n_fft, hop = p["n_fft"], p["hop"]
    if len(x) == 0:
        return np.zeros((0, p["n_mels"])), np.zeros(0)
    n = len(x)
    if p["center"]:
        pad = n_fft // 2
        if p.get("framing", "librosa") == "essentia":
            # frames centred on k*hop up to the first at or past the end,
            # unless that one starts past the end
            last = -(-n // hop)
            if last * hop - pad >= n:
                last -= 1
            n_frames = last + 1
        else:
            n_frames = 1 + (n + 2 * pad - n_fft) // hop if n + 2 * pad >= n_fft else 0
        right = max(pad, (n_frames - 1) * hop + n_fft - pad - n)
        if p["pad_mode"] == "reflect":
            x = np.pad(x, (pad, right), mode="reflect")
        else:
            value = p["pad_value"] if p["pad_mode"] == "constant" else 0.0
            x = np.pad(x, (pad, right), mode="constant", constant_values=value)
    else:
        n_frames = 1 + (n - n_fft) // hop if n >= n_fft else 0
    if n_frames == 0:
        return np.zeros((0, p["n_mels"])), np.zeros(0)
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    frames = x[idx] * window(p)[None, :]
    spec = np.abs(np.fft.rfft(frames, axis=1)) ** p["power"]
    mel = spec @ filterbank(p).T
    times = np.arange(n_frames) * hop / p["sample_rate"]
    return mel, times


def apply_log(mel, p):
    if p["log"] == "db":
        out = 10.0 * np.log10(np.maximum(p["amin"], mel))
        if p["top_db"] > 0:
            out = np.maximum(out, out.max(axis=1, keepdims=True) - p["top_db"])
    elif p["log"] == "log10-1p":
        out = np.log10(1.0 + p["log_c"] * mel)
    elif p["log"] == "ln":
        out = np.log(mel + p["log_eps"])
    else:
        out = mel
    return out * p["scale"]


def undo_log(y, p):
    """ours, back to linear Mel values (for log10-1p and ln)"""
    y = y.astype(np.float64) / p["scale"]
    if p["log"] == "log10-1p":
        return (10.0 ** y - 1.0) / p["log_c"]
    if p["log"] == "ln":
        return np.exp(y) - p["log_eps"]
    return y


# ------------------------------------------------------------- the signals
def signals(sr):
    rng = np.random.default_rng(1234)
    t = np.arange(int(2.0 * sr)) / sr
    chirp_phase = 2 * np.pi * (50.0 * t + (0.45 * sr - 50.0) * t ** 2 / (2 * 2.0))
    return {
        "sine440": 0.5 * np.sin(2 * np.pi * 440.0 * t),
        "sine3k+1k": 0.3 * np.sin(2 * np.pi * 3000.0 * t)
        + 0.2 * np.sin(2 * np.pi * 1000.3 * t + 0.5),
        "chirp": 0.7 * np.sin(chirp_phase),
        "noise": 0.1 * rng.standard_normal(len(t)),
        "silence": np.zeros(len(t)),
        "short": 0.25 * rng.standard_normal(300),
    }


def run_ours(dump, x, p, tmp):
    src = os.path.join(tmp, "in.f32")
    dst = os.path.join(tmp, "out.f32")
    x.astype("<f4").tofile(src)
    args = [dump, src, dst] + ["%s=%s" % (k.replace("_", "-"), v) for k, v in p.items()]
    subprocess.run(args, check=True)
    return np.fromfile(dst, dtype="<f4").reshape(-1, p["n_mels"])


def compare(name, ours, x, p, worst):
    """returns a list of failure strings; updates the worst errors seen"""
    mel, times = reference(x, p)
    if ours.shape != mel.shape:
        return ["%s: shape %s, reference %s" % (name, ours.shape, mel.shape)]
    # ours are stamped t * hop / rate from the frame index t (docs/protocol.md)
    ours_times = np.arange(len(ours)) * p["hop"] / p["sample_rate"]
    if not np.array_equal(times, ours_times):
        return ["%s: frame times differ" % name]
    if len(mel) == 0:
        return []
    fails = []
    frame_max = mel.max(axis=1, keepdims=True)
    # magnitude (power 1) spans half the dB range of power for the same bins
    rel_range = REL_RANGE if p["power"] == 2 else np.sqrt(REL_RANGE)
    near = (mel > 0) & (mel >= rel_range * frame_max)
    if p["log"] == "db":
        ours_db = ours.astype(np.float64) / p["scale"]
        ref_db = apply_log(mel, p) / p["scale"]
        lin = 10.0 ** (ours_db / 10.0)
        ref_lin = 10.0 ** (ref_db / 10.0)       # the reference after floor / top-db
        db_range = DB_RANGE if p["power"] == 2 else np.sqrt(DB_RANGE)
        counted = ref_lin >= db_range * frame_max   # includes clamped bands
        err_db = np.where(counted, np.abs(ours_db - ref_db), 0.0)
        worst["db"] = max(worst.get("db", 0.0), float(err_db.max()))
        ok = (err_db <= DB_TOL) & (np.abs(lin - ref_lin) <= ABS_TOL * frame_max + 1e-4 * ref_lin)
    else:
        lin = undo_log(ours, p)
        err = np.abs(lin - mel)
        quant = 0.0
        if p["log"] != "none":
            # a float32 log value y carries up to 2^-24 |y| of rounding, which
            # the inverse turns into 2^-24 |y| ln(base) (x + shift)
            y = np.abs(ours.astype(np.float64) / p["scale"])
            base = np.log(10.0) if p["log"] == "log10-1p" else 1.0
            shift = 1.0 / p["log_c"] if p["log"] == "log10-1p" else p["log_eps"]
            quant = 2.0 ** -23 * y * base * (mel + shift)
        rel = np.where(near, err / np.maximum(mel, 1e-300), 0.0)
        key = "p%d-%s" % (p["power"], p["log"])
        worst[key + " rel"] = max(worst.get(key + " rel", 0.0), float(rel.max()))
        worst[key + " abs"] = max(worst.get(key + " abs", 0.0),
                                  float(np.where(frame_max > 0, err / np.maximum(frame_max, 1e-300), 0.0).max()))
        ok = np.where(near, err <= REL_TOL * mel + quant, True)
        ok &= err <= ABS_TOL * frame_max + quant
    if not ok.all():
        i = np.argwhere(~ok)[0]
        fails.append("%s: %d values out of tolerance, first frame %d band %d: "
                     "ours %.9g ref %.9g (frame max %.6g)"
                     % (name, (~ok).sum(), i[0], i[1], lin[i[0], i[1]],
                        mel[i[0], i[1]], frame_max[i[0], 0]))
    return fails


ELEMENT_PROPS = ("n_fft", "hop", "win_length", "window", "pad_mode", "pad_value", "framing",
                 "n_mels", "fmin", "fmax", "mel_scale", "norm", "power", "log",
                 "amin", "top_db", "log_c", "log_eps", "scale")


def run_element(x, p, preset, tmp, frames_per_buffer=7):
    """the affectmel element in a gst-launch pipeline, frames trimmed to the
    valid ones (the last tensor is zero-filled); None if gst-launch is absent"""
    launcher = sys.argv[2] if len(sys.argv) > 2 else shutil.which("gst-launch-1.0")
    if launcher is None or "GST_PLUGIN_PATH" not in os.environ:
        return None
    src = os.path.join(tmp, "el-in.f32")
    dst = os.path.join(tmp, "el-out.f32")
    x.astype("<f4").tofile(src)
    if preset:
        props = ["preset=" + preset]
    else:
        props = ["rate=%d" % p["sample_rate"], "center=%s" % ("true" if p["center"] else "false")]
        props += ["%s=%s" % (k.replace("_", "-"), p[k]) for k in ELEMENT_PROPS]
    pipeline = ["filesrc", "location=" + src, "blocksize=%d" % (4 * 999), "!",
                "rawaudioparse", "use-sink-caps=false", "format=pcm", "pcm-format=f32le",
                "sample-rate=%d" % p["sample_rate"], "num-channels=1", "!",
                "affectmel", "frames-per-buffer=%d" % frames_per_buffer] + props + [
                "!", "filesink", "location=" + dst]
    subprocess.run([launcher] + pipeline, check=True, stdout=subprocess.DEVNULL)
    out = np.fromfile(dst, dtype="<f4").reshape(-1, p["n_mels"])
    return out


def configurations():
    for preset in ("librosa", "mtg-jamendo", "musicnn"):
        yield "preset=" + preset, dict(PRESETS[preset])
    base = dict(PRESETS["librosa"], sample_rate=16000, n_fft=512, hop=160,
                n_mels=64, fmin=30.0, fmax=7600.0)
    for scale in ("htk", "slaney"):
        for norm in ("none", "slaney"):
            yield "%s/%s" % (scale, norm), dict(base, mel_scale=scale, norm=norm)
    yield "hamming/win400", dict(base, window="hamming", win_length=400)
    yield "hamming-sym/power1", dict(base, window="hamming-symmetric", power=1)
    yield "hann/reflect", dict(base, pad_mode="reflect")
    yield "constant-pad", dict(base, pad_mode="constant", pad_value=0.01)
    yield "no-center/hop100", dict(base, center=0, hop=100, n_fft=400)
    yield "db/top-db", dict(base, log="db", top_db=80.0)
    yield "ln/scale", dict(base, log="ln", log_eps=1e-6, scale=0.5)
    yield "mtg-jamendo/essentia-framing", dict(PRESETS["mtg-jamendo"], framing="essentia")
    yield "essentia-framing/reflect/long-hop", dict(base, framing="essentia", pad_mode="reflect",
                                                     n_fft=256, hop=300)
    yield "htk/n-fft-1024/odd-hop", dict(base, mel_scale="htk", n_fft=1024, hop=333, n_mels=40)


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__)
        return 2
    dump = sys.argv[1]
    worst = {}
    failures = []
    n_cases = 0
    with tempfile.TemporaryDirectory() as tmp:
        for cname, p in configurations():
            for sname, x in signals(p["sample_rate"]).items():
                x32 = x.astype(np.float32)
                ours = run_ours(dump, x32, p, tmp)
                f = compare("%s %s" % (cname, sname), ours, x32, p, worst)
                failures += f
                n_cases += 1
            print("ok   " if not failures else "…    ", cname, flush=True)
        # the element in a real pipeline (filesrc ! rawaudioparse ! affectmel !
        # filesink, 999-sample blocks, 7 frames per tensor) gives the same frames
        n_element = 0
        for cname, p in configurations():
            preset = cname[len("preset="):] if cname.startswith("preset=") else None
            x = signals(p["sample_rate"])["chirp"].astype(np.float32)
            out = run_element(x, p, preset, tmp)
            if out is None:
                print("SKIP element pipelines: gst-launch-1.0 or GST_PLUGIN_PATH missing")
                break
            n = len(reference(x, p)[0])
            if len(out) != -(-n // 7) * 7 or np.any(out[n:] != 0):
                failures.append("element %s: %d frames written for %d" % (cname, len(out), n))
                continue
            failures += compare("element %s chirp" % cname, out[:n], x, p, worst)
            n_element += 1
        print("element pipelines: %d" % n_element)
    print("cases: %d" % n_cases)
    for k, v in sorted(worst.items()):
        unit = ("dB, bands within 60 dB of the frame peak" if k == "db" else
                "relative, bands within 30 dB of the frame peak" if k.endswith("rel")
                else "of the frame peak, every band")
        print("worst %-18s %.3g %s" % (k, v, unit))
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
