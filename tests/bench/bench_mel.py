#!/usr/bin/python3
"""affectmel's core against PyTorch on the same 10 minutes of 16 kHz audio.

PyTorch: torch.stft (n_fft 512, hop 256, symmetric Hann, centred, zero
padding) + |X|^2 + Mel matrix product + log10(1 + 10000 x), float32, torch's
default thread count. libaffect: the musicnn preset, the same computation.
Both best of 5 runs on the same signal in the same run; the outputs are
compared so that both sides demonstrably compute the same thing.

usage: bench_mel.py PATH/TO/bench-mel [seconds]
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "conformance"))
import mel_conformance as mc  # noqa: E402  (the Mel filterbank formulas)

SR = 16000
REPEATS = 5


def signal(seconds):
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * SR)) / SR
    x = 0.1 * rng.standard_normal(len(t))
    x += 0.3 * np.sin(2 * np.pi * 440.0 * t) * (1 + np.sin(2 * np.pi * 0.5 * t))
    return x.astype(np.float32)


def torch_mel(x, fb, window):
    spec = torch.stft(x, n_fft=512, hop_length=256, win_length=512, window=window,
                      center=True, pad_mode="constant", return_complex=True)
    power = spec.real ** 2 + spec.imag ** 2          # (257, frames)
    mel = fb @ power                                  # (96, frames)
    return torch.log10(1.0 + 10000.0 * mel).T         # (frames, 96)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 600.0
    x = signal(seconds)
    p = dict(mc.PRESETS["musicnn"])
    fb = torch.from_numpy(mc.filterbank(p).astype(np.float32))
    window = torch.hann_window(512, periodic=False, dtype=torch.float32)
    xt = torch.from_numpy(x)

    def time_torch():
        best = float("inf")
        with torch.no_grad():
            for _ in range(REPEATS):
                t0 = time.perf_counter()
                out = torch_mel(xt, fb, window)
                best = min(best, time.perf_counter() - t0)
        return best, out

    default_threads = torch.get_num_threads()
    best_torch, ref = time_torch()
    ref = ref.numpy()
    # for reference only: torch on every core (libaffect's loop uses one)
    torch.set_num_threads(os.cpu_count() or 1)
    best_torch_all, _ = time_torch()
    torch.set_num_threads(default_threads)

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.f32"), os.path.join(tmp, "out.f32")
        x.tofile(src)
        line = subprocess.run([sys.argv[1], src, dst, str(REPEATS)], check=True,
                              capture_output=True, text=True).stdout.strip()
        ours = np.fromfile(dst, dtype=np.float32).reshape(-1, 96)
    best_ours = float(line.split(":")[1].split("s,")[0])

    print("audio: %.0f s at %d Hz (%d samples), %d frames x 96 bands"
          % (seconds, SR, len(x), len(ref)))
    print("torch %s (default, %d threads): %.4f s, %.0fx real time"
          % (torch.__version__, default_threads, best_torch, seconds / best_torch))
    print("torch %s (%d threads, for reference): %.4f s, %.0fx real time"
          % (torch.__version__, os.cpu_count() or 1, best_torch_all, seconds / best_torch_all))
    print(line)
    print("ratio: affectmel (1 thread) is %.2fx torch's throughput at its default "
          "threads, %.2fx at %d threads" % (best_torch / best_ours,
                                            best_torch_all / best_ours, os.cpu_count() or 1))
    if ours.shape != ref.shape:
        print("MISMATCH: shapes %s vs %s" % (ours.shape, ref.shape))
        return 1
    print("max |affectmel - torch| = %.3g (values up to %.3g)"
          % (np.abs(ours - ref).max(), np.abs(ref).max()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
