"""MoodNet: PyTorch vs libaffect on the same weights, in the same run.

usage: /usr/bin/python3 tests/bench/bench_moodnet.py BUILD/tests/bench/bench-moodnet [REPEATS]

Writes random MoodNet weights (56 classes, BN statistics calibrated as
golden.py does) to a temporary model file, then measures:
  - inference on one 1 × 96 × 4096 input (eval mode), median of REPEATS;
  - one training step at batch 8 (train mode: forward, loss = mean of the two
    heads' BCE, backward, Adam update), median of REPEATS after a warm-up;
  - OpenBLAS sgemm GFLOP/s, and the peak RSS of each process (the training
    step runs in its own process for ours; torch's in this one).
PyTorch runs at its default thread count (torch.get_num_threads()), ours
with OpenBLAS at AFFECT_THREADS / OPENBLAS_NUM_THREADS (default: all cores).
"""
import os
import subprocess
import sys
import tempfile
import time

bench = sys.argv[1]
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
ref = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared",
                   "reference", "moodnet")
ref = os.environ.get("AFFECT_MOODNET_REFERENCE", ref)
sys.path.insert(0, ref)
import json  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import moodnet  # noqa: E402
import safetensors_np  # noqa: E402

GFLOP = 5.94  # per inference of one 96 × 4096 input


def median(f, n):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts) // 2]


def ours(model, mode, batch):
    out = subprocess.run([bench, model, mode, str(batch), str(repeats)], check=True,
                         capture_output=True, text=True).stdout
    lines = [dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
             for line in out.splitlines()]
    return lines


torch.manual_seed(0)
m = moodnet.MoodNet(56)
x8 = torch.randn(8, 1, 96, 4096)
for mod in m.modules():
    if isinstance(mod, torch.nn.BatchNorm2d):
        mod.reset_running_stats()
        mod.momentum = None
m.train()
with torch.no_grad():
    m(x8[:2])
for mod in m.modules():
    if isinstance(mod, torch.nn.BatchNorm2d):
        mod.momentum = 0.1

with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "moodnet.safetensors")
    safetensors_np.save(path, {k: v.numpy() for k, v in m.state_dict().items()
                               if not k.endswith("num_batches_tracked")},
                        {"affect.arch": json.dumps({"name": "moodnet", "classes": 56})})

    threads = torch.get_num_threads()
    print("torch %s, %d thread(s); cores %d" % (torch.__version__, threads, os.cpu_count()))
    sg = ours(path, "sgemm", 1)
    for line in sg:
        print("openblas sgemm m=%s n=%s k=%s: %.1f GFLOP/s (%s threads)"
              % (line["m"], line["n"], line["k"], float(line["gflops"]), line["threads"]))

    # inference; torch at its default threads and on every core, the faster
    # one is the reference
    m.eval()
    x1 = x8[:1].clone()
    t_torch = {}
    for n in sorted({threads, os.cpu_count()}):
        torch.set_num_threads(n)
        with torch.no_grad():
            m(x1)
            t_torch[n] = median(lambda: m(x1), repeats)
        print("torch inference at %d thread(s): %.3f s" % (n, t_torch[n]))
    best_n = min(t_torch, key=t_torch.get)
    torch.set_num_threads(best_n)
    inf = ours(path, "infer", 1)[0]
    t_ours = float(inf["seconds"])
    print("inference 1×96×4096: torch %.3f s (%d thread(s), %.1f GFLOP/s), ours %.3f s "
          "(%.1f GFLOP/s): %.2f× torch"
          % (t_torch[best_n], best_n, GFLOP / t_torch[best_n], t_ours, GFLOP / t_ours,
             t_torch[best_n] / t_ours))

    # training step at batch 8
    m.train()
    opt = torch.optim.Adam(m.parameters(), lr=1e-4)
    y = (torch.rand(8, 56) < 0.2).float()

    def train_step():
        opt.zero_grad()
        B = x8.shape[0]
        xx = x8.view(B, 96, 16, 256).permute(0, 2, 1, 3)
        f = m.cnn(xx.reshape(B * 16, 1, 96, 256)).view(B, 16, 256)
        h = f + m.position
        for layer in m.encoder:
            h = layer(h)
        att = torch.sigmoid(m.att_head(torch.tanh(m.pooler(h[:, 0]))))
        clf = torch.sigmoid(m.chunk_head(f)).mean(1)
        bce = torch.nn.functional.binary_cross_entropy
        loss = 0.5 * (bce(att, y) + bce(clf, y))
        loss.backward()
        opt.step()

    train_step()
    t_torch_train = median(train_step, repeats)
    with open("/proc/self/status") as st:
        rss_torch = [int(line.split()[1]) for line in st if line.startswith("VmHWM:")][0] / 1024.0
    tr = ours(path, "train", 8)[0]
    t_ours_train = float(tr["seconds"])
    print("training step batch 8: torch %.3f s (%d thread(s)), ours %.3f s: %.2f× torch"
          % (t_torch_train, best_n, t_ours_train, t_torch_train / t_ours_train))
    print("peak RSS: ours (training process) %.0f MiB; torch (this process, inference + training) %.0f MiB"
          % (float(tr["peak_rss_mib"]), rss_torch))
