"""MoodNet: PyTorch vs libaffect on the same weights, in the same run.

usage: /usr/bin/python3 tests/bench/bench_moodnet.py BUILD/tests/bench/bench-moodnet
           [ROUNDS [REPEATS]]

Writes random MoodNet weights (56 classes, 96 × 16·256 input, BN statistics
calibrated as golden.py does) to a temporary model file, then, ROUNDS times
(2), alternates the two sides (A B A B …) on each case:
  - inference on one input (eval mode);
  - one training step at batch 8 and at batch 16 (train mode: forward, loss
    = mean of the two heads' BCE, backward, Adam update).
Each side runs each case in a process of its own (so its peak RSS is that
case's), with REPEATS (2) measured passes after a warm-up, each pass
preceded by a 1024³ sgemm with the same threads and kernels (ours through
affect_sgemm, torch's torch.mm); the best of each is kept, over the
rounds too. The lines
  moodnet train-step batch 8: 61.2 GFLOP/s = 53 % of sgemm (230.1 GFLOP/s, same run)
give the rate from the FLOPs of the layer shapes (affect_moodnet_flops:
products of the forward, and 3× that for a step) and its share of that
side's sgemm rate.

PyTorch is measured at its best setting: glibc told to keep freed memory
(MALLOC_MMAP_MAX_=0, MALLOC_TRIM_THRESHOLD_=16 GiB, MALLOC_TOP_PAD_=256 MiB;
by default every step page-faults its large tensors in again), at one
thread and at every core (BENCH_TORCH_THREADS="1,2" to choose), the faster
of the two being the reference. Ours runs at AFFECT_THREADS (default: all
cores). BENCH_MOODNET_CASES="infer:1,train:8,train:16" selects cases.
"""
import os
import subprocess
import sys
import tempfile
import time

ref = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared",
                   "reference", "moodnet")
ref = os.environ.get("AFFECT_MOODNET_REFERENCE", ref)
sys.path.insert(0, ref)
import json  # noqa: E402
import torch  # noqa: E402
import moodnet  # noqa: E402
import safetensors_np  # noqa: E402

HEAP = {"MALLOC_MMAP_MAX_": "0",
        "MALLOC_TRIM_THRESHOLD_": str(1 << 34),
        "MALLOC_TOP_PAD_": str(1 << 28)}
SGEMM_N = 1024


def build_model():
    """the same weights in every process: seeded, BN statistics calibrated"""
    torch.manual_seed(0)
    m = moodnet.MoodNet(56)
    x = torch.randn(2, 1, 96, 4096)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.reset_running_stats()
            mod.momentum = None
    m.train()
    with torch.no_grad():
        m(x)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.momentum = 0.1
    return m


def peak_rss_mib():
    with open("/proc/self/status") as st:
        return [int(line.split()[1]) for line in st
                if line.startswith("VmHWM:")][0] / 1024.0


def torch_child(mode, batch, repeats, threads):
    """one case in this process: prints best seconds, best sgemm seconds,
    peak RSS"""
    torch.set_num_threads(threads)
    m = build_model()
    torch.manual_seed(1)
    x = torch.randn(batch, 1, 96, 4096)
    y = (torch.rand(batch, 56) < 0.2).float()
    ga, gb = torch.randn(SGEMM_N, SGEMM_N), torch.randn(SGEMM_N, SGEMM_N)
    if mode == "infer":
        m.eval()

        def step():
            with torch.no_grad():
                m(x)
    else:
        m.train()
        opt = torch.optim.Adam(m.parameters(), lr=1e-4)
        bce = torch.nn.functional.binary_cross_entropy

        def step():
            opt.zero_grad()
            B = x.shape[0]
            xx = x.view(B, 96, 16, 256).permute(0, 2, 1, 3)
            f = m.cnn(xx.reshape(B * 16, 1, 96, 256)).view(B, 16, 256)
            h = f + m.position
            for layer in m.encoder:
                h = layer(h)
            att = torch.sigmoid(m.att_head(torch.tanh(m.pooler(h[:, 0]))))
            clf = torch.sigmoid(m.chunk_head(f)).mean(1)
            loss = 0.5 * (bce(att, y) + bce(clf, y))
            loss.backward()
            opt.step()
    step()  # warm-up
    best, best_sgemm = 1e30, 1e30
    for _ in range(repeats):
        for _ in range(3):
            t0 = time.perf_counter()
            torch.mm(ga, gb)
            best_sgemm = min(best_sgemm, time.perf_counter() - t0)
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
    print(best, best_sgemm, peak_rss_mib())


def run_torch(mode, batch, repeats, threads):
    env = dict(os.environ, **HEAP)
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--torch", mode,
                          str(batch), str(repeats), str(threads)],
                         env=env, check=True, capture_output=True, text=True).stdout
    t, s, rss = (float(v) for v in out.split())
    return {"seconds": t, "sgemm_gflops": 2.0 * SGEMM_N ** 3 / s / 1e9,
            "peak_rss_mib": rss}


def run_ours(bench, model, mode, batch, repeats):
    out = subprocess.run([bench, model, mode, str(batch), str(repeats)], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("affect "):
            d = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            return {k: float(v) for k, v in d.items()}
    raise RuntimeError("bench-moodnet printed no result: " + out)


def keep_best(table, key, res):
    old = table.get(key)
    if old is None:
        table[key] = dict(res)
        return
    # the best step and the best sgemm, each on its own
    old["seconds"] = min(old["seconds"], res["seconds"])
    old["sgemm_gflops"] = max(old["sgemm_gflops"], res["sgemm_gflops"])
    old["peak_rss_mib"] = max(old["peak_rss_mib"], res["peak_rss_mib"])


def main():
    if sys.argv[1] == "--torch":
        torch_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        return
    bench = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    cases = [(c.split(":")[0], int(c.split(":")[1])) for c in
             os.environ.get("BENCH_MOODNET_CASES", "infer:1,train:8,train:16").split(",")]
    torch_threads = [int(t) for t in os.environ.get(
        "BENCH_TORCH_THREADS", "1,%d" % os.cpu_count()).split(",")]
    print("torch %s; cores %d; AFFECT_THREADS=%s; OPENBLAS_CORETYPE=%s; load %.2f"
          % (torch.__version__, os.cpu_count(), os.environ.get("AFFECT_THREADS", "(all)"),
             os.environ.get("OPENBLAS_CORETYPE", "(auto)"), os.getloadavg()[0]), flush=True)
    m = build_model()
    results = {}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "moodnet.safetensors")
        safetensors_np.save(path, {k: v.numpy() for k, v in m.state_dict().items()
                                   if not k.endswith("num_batches_tracked")},
                            {"affect.arch": json.dumps({"name": "moodnet", "classes": 56})})
        del m
        for r in range(rounds):
            for mode, batch in cases:
                res = run_ours(bench, path, mode, batch, repeats)
                keep_best(results, (mode, batch, "affect"), res)
                print("round %d %s %d affect: %.3f s, sgemm %.1f GFLOP/s, load %.2f"
                      % (r + 1, mode, batch, res["seconds"], res["sgemm_gflops"],
                         os.getloadavg()[0]), flush=True)
                gflop = res["gflop"]
                for t in torch_threads:
                    res = run_torch(mode, batch, repeats, t)
                    res["gflop"] = gflop
                    keep_best(results, (mode, batch, "torch-%d" % t), res)
                    print("round %d %s %d torch %d thread(s): %.3f s, sgemm %.1f GFLOP/s, "
                          "load %.2f" % (r + 1, mode, batch, t, res["seconds"],
                                         res["sgemm_gflops"], os.getloadavg()[0]), flush=True)
    print()
    for mode, batch in cases:
        name = "inference" if mode == "infer" else "train-step"
        best_torch = None
        for (m_, b_, who), res in sorted(results.items()):
            if (m_, b_) != (mode, batch):
                continue
            g = res["gflop"] / res["seconds"]
            print("%-6s moodnet %s batch %d: %.1f GFLOP/s = %.0f %% of sgemm "
                  "(%.1f GFLOP/s, same run); %.3f s, %.2f GFLOP, peak RSS %.0f MiB"
                  % (who, name, batch, g, 100 * g / res["sgemm_gflops"],
                     res["sgemm_gflops"], res["seconds"], res["gflop"], res["peak_rss_mib"]))
            if who.startswith("torch") and (best_torch is None
                                            or res["seconds"] < best_torch[1]):
                best_torch = (who, res["seconds"])
        ours = results[(mode, batch, "affect")]["seconds"]
        print("moodnet %s batch %d: torch at its best (%s + heap kept) %.3f s / ours %.3f s "
              "= %.2f×" % (name, batch, best_torch[0], best_torch[1], ours,
                           best_torch[1] / ours))
    print("load average now: %.2f" % os.getloadavg()[0])


if __name__ == "__main__":
    main()
