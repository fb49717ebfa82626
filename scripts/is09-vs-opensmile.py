#!/usr/bin/python3
"""affectis09 against openSMILE's IS09_emotion.conf on a directory of WAVs,
each file at its own sampling rate (docs/is09.md, "Agreement per rate").
Run by hand; openSMILE is not part of gst-affect (build it from its own
sources with cmake):

  GST_PLUGIN_PATH=build/plugins scripts/is09-vs-opensmile.py \\
      SMILEXTRACT IS09_EMOTION_CONF WAVDIR [LIMIT]

For every WAV (sorted, the first LIMIT if given): the 384 functionals from
`SMILExtract -C IS09_EMOTION_CONF -I f.wav -htkoutput ...` (exact float32)
and from `filesrc ! decodebin ! audioconvert ! audio/x-raw,format=F32LE,
channels=1 ! affectis09 location=...` (no resampler). Prints, per sampling
rate, the share of values within 1e-3 relative error and the median error;
the denominator of a value's error is max(|ref|, 1 % of the feature's range
over the files of that rate), the conformance test's measure. Files openSMILE
gives no vector for (under one frame) are counted and left out.
"""
import csv
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import wave


def read_htk(path):
    d = open(path, 'rb').read()
    n, _, ss, _ = struct.unpack('>iihh', d[:12])
    k = ss // 4
    v = struct.unpack('>%df' % (n * k), d[12:12 + 4 * n * k])
    return [list(v[i * k:(i + 1) * k]) for i in range(n)]


def opensmile(smx, conf, wav, tmp):
    out = os.path.join(tmp, 'f.htk')
    if os.path.exists(out):
        os.remove(out)
    subprocess.run([smx, '-C', conf, '-I', wav, '-instname', 'x',
                    '-htkoutput', out, '-l', '0'], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = read_htk(out) if os.path.exists(out) else []
    return rows[0] if rows else None


def affectis09(wav, tmp):
    out = os.path.join(tmp, 'ours.csv')
    if os.path.exists(out):
        os.remove(out)
    subprocess.run(['gst-launch-1.0', '-q', 'filesrc', 'location=' + wav, '!',
                    'decodebin', '!', 'audioconvert', '!',
                    'audio/x-raw,format=F32LE,channels=1', '!', 'affectis09',
                    'location=' + out, 'instance-name=x', '!', 'fakesink'],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    rows = list(csv.reader(open(out)))
    if len(rows) < 2:
        return None
    # %.9g read back as the float32 it was printed from
    v = [float(x) for x in rows[1][1:]]
    return list(struct.unpack('%df' % len(v), struct.pack('%df' % len(v), *v)))


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    smx, conf, wavdir = sys.argv[1:4]
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else None
    names = sorted(f for f in os.listdir(wavdir) if f.endswith('.wav'))
    by_rate = {}
    skipped = 0
    with tempfile.TemporaryDirectory() as tmp:
        for f in names[:limit]:
            wav = os.path.join(wavdir, f)
            with wave.open(wav) as w:
                rate = w.getframerate()
            ref = opensmile(smx, conf, wav, tmp)
            ours = affectis09(wav, tmp)
            if ref is None:
                skipped += 1
                continue
            if ours is None:
                sys.exit('%s: openSMILE gives a vector, affectis09 none' % f)
            by_rate.setdefault(rate, []).append((f, ref, ours))
    for rate, items in sorted(by_rate.items()):
        errs = []
        for j in range(len(items[0][1])):
            vals = [r[j] for _, r, _ in items]
            floor = 0.01 * (max(vals) - min(vals))
            for _, r, o in items:
                den = max(abs(r[j]), floor)
                d = abs(o[j] - r[j])
                errs.append(d / den if den > 0 else d)
        share = sum(e <= 1e-3 for e in errs) / len(errs)
        print('%d Hz: %d files, %d values: %.3f %% within 1e-3, median '
              'rel. error %.3g, worst %.3g' %
              (rate, len(items), len(errs), 100 * share,
               statistics.median(errs), max(errs)))
    if skipped:
        print('%d files shorter than one frame (no openSMILE vector)' % skipped)


if __name__ == '__main__':
    main()
