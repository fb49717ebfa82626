#!/usr/bin/python3
"""VAT / plain training epoch: libaffect vs PyTorch in the same run.

9000 x 384 features, 384-1200-600-1 ReLU MLP, Adam, batch 64, one epoch
(best of three after one unmeasured epoch, best again over ROUNDS rounds
that alternate the programs, so that a slow spell of a shared machine
does not fall on one side only).

PyTorch is measured in three settings, each in its own process:
  default       the process as it starts: torch's own thread count (1 on
                this machine) and OpenBLAS's (all cores; Debian's torch does
                its GEMMs on OpenBLAS, whose threads torch.set_num_threads
                does not govern);
  default+heap  the same with glibc's allocator told to keep freed memory
                (MALLOC_MMAP_THRESHOLD_=32 MiB, MALLOC_TRIM_THRESHOLD_=4 GiB,
                MALLOC_TOP_PAD_=256 MiB). torch allocates every activation
                and gradient afresh; by default glibc serves blocks over
                128 KiB with mmap (or trims the heap) and returns them on
                free, so each step page-faults its tensors in again. That
                costs torch 2-4x here and is most of its variance from one
                process to the next: glibc's threshold adapts to the sizes a
                process has freed before;
  blas1+heap    OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=1 and the same heap.
The ratio that matters is against torch's fastest of the three.
The PyTorch VAT epoch is the standard algorithm (finite-difference power
iteration, xi = 1e-6, one iteration) in float32.

Ours runs at 1 and 2 threads (libaffect's own; OpenBLAS single-threaded
inside each). Wall and CPU seconds are printed.

Each side also measures, alternated with its epochs in the same process,
the GFLOP/s of a 1024 x 1024 x 1024 sgemm with its own threads and
kernels (ours through affect_sgemm, torch's torch.mm), and the lines
  mlp vat-epoch batch 64: 50.7 GFLOP/s = 77 % of sgemm (65.7 GFLOP/s, same run)
give the rate of each epoch from the FLOPs of the layer shapes (bench-vat.c:
plain 3M - M1 multiply-adds per row, VAT 6M - M1 for ours and 8M - 2 M1
for the classic algorithm torch runs; M = sum of d_in d_out, M1 the first
layer's) and its share of that sgemm rate.

usage: bench_vat.py PATH/TO/bench-vat [ROUNDS]
"""
import os
import subprocess
import sys
import time

import torch

N, DIN = 9000, 384
EPS, LAM, XI = 1.5, 1.5, 1e-6


def epoch(net, opt, x, y, vat, batch=64):
    perm = torch.randperm(N)
    for start in range(0, N, batch):
        idx = perm[start:start + batch]
        xb, yb = x[idx], y[idx]
        opt.zero_grad()
        pred = net(xb)
        loss = torch.nn.functional.mse_loss(pred, yb)
        if vat:
            d = torch.randn_like(xb)
            d = XI * d / d.norm(dim=1, keepdim=True)
            d.requires_grad_(True)
            dist = 0.5 * ((net(xb + d) - pred.detach()) ** 2).sum()
            g, = torch.autograd.grad(dist, d)
            r = EPS * g / (g.norm(dim=1, keepdim=True) + 1e-12)
            lds = 0.5 * ((net(xb + r) - pred.detach()) ** 2).sum(1).mean()
            loss = loss + LAM * lds
        loss.backward()
        opt.step()


WIDTHS = (DIN, 1200, 600, 1)
M = sum(a * b for a, b in zip(WIDTHS, WIDTHS[1:]))
M1 = WIDTHS[0] * WIDTHS[1]
# FLOPs per row of one epoch (2 per multiply-add; products only)
TORCH_FLOPS = {"plain": 2 * (3 * M - M1), "vat": 2 * (8 * M - 2 * M1)}


def torch_sgemm_seconds(a, b):
    best = 1e30
    for _ in range(3):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return best


def torch_time(vat, threads):
    """best (wall, cpu) seconds of three epochs, and the best seconds of a
    1024^3 torch.mm measured between them"""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = torch.randn(N, DIN)
    y = 1 + 4 * torch.rand(N, 1)
    net = torch.nn.Sequential(torch.nn.Linear(DIN, 1200), torch.nn.ReLU(),
                              torch.nn.Linear(1200, 600), torch.nn.ReLU(),
                              torch.nn.Linear(600, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    # one unmeasured epoch: the first epochs of a process are slower
    # (allocator growth, thread-pool start-up), which would favour us
    epoch(net, opt, x, y, vat)
    ga, gb = torch.randn(1024, 1024), torch.randn(1024, 1024)
    torch.mm(ga, gb)
    wall, cpu, sgemm = 1e30, 1e30, 1e30
    for _ in range(3):
        sgemm = min(sgemm, torch_sgemm_seconds(ga, gb))
        t0, c0 = time.perf_counter(), time.process_time()
        epoch(net, opt, x, y, vat)
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu, sgemm


HEAP = {"MALLOC_MMAP_THRESHOLD_": str(1 << 25),
        "MALLOC_TRIM_THRESHOLD_": str(1 << 32),
        "MALLOC_TOP_PAD_": str(1 << 28)}
TORCH_SETTINGS = {
    "default": {},
    "default+heap": HEAP,
    "blas1+heap": dict(HEAP, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1"),
}


def ours(helper, threads):
    """{case: (wall, cpu)} and {case: the bench's "mlp ..." line}"""
    out = subprocess.run([helper, str(threads)], check=True,
                         capture_output=True, text=True).stdout
    times, lines = {}, {}
    for line in out.splitlines():
        if line.startswith("affect "):
            _, case, thr, wall, cpu = line.split()
            times[case] = (float(wall), float(cpu))
        elif line.startswith("mlp "):
            case = {"plain-epoch": "plain", "vat-epoch": "vat",
                    "inference": "infer"}[line.split()[1]]
            lines[case] = line
    return times, lines


def torch_subprocess(case, setting):
    """(wall, cpu, sgemm seconds) of torch_time in a process with the
    setting's variables"""
    env = dict(os.environ, **TORCH_SETTINGS[setting])
    threads = int(env.get("OMP_NUM_THREADS", "0") or 0) or \
        torch.get_num_threads()
    out = subprocess.run([sys.executable, __file__, "--torch", case,
                          str(threads)], env=env, check=True,
                         capture_output=True, text=True).stdout
    wall, cpu, sgemm = out.split()
    return float(wall), float(cpu), float(sgemm)


def best(a, b):
    return tuple(min(p, q) for p, q in zip(a, b)) if a else b


def main():
    if sys.argv[1] == "--torch":
        wall, cpu, sgemm = torch_time(sys.argv[2] == "vat", int(sys.argv[3]))
        print(wall, cpu, sgemm)
        return
    helper = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    print(f"machine load (1 min): {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} cores; {rounds} rounds; OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', '(auto)')}", flush=True)
    times = {}
    counters = {}   # (case, who) -> (gflops, line)
    for r in range(rounds):
        for threads in (1, 2):
            res, lines = ours(helper, threads)
            for case in res:
                key = (case, f"affect threads={threads}")
                times[key] = best(times.get(key), res[case])
            for case, line in lines.items():
                key = (case, f"affect threads={threads}")
                g = float(line.split(":")[1].split()[0])
                if key not in counters or g > counters[key][0]:
                    counters[key] = (g, line)
        for case in ("plain", "vat"):
            for setting in TORCH_SETTINGS:
                key = (case, f"torch {setting}")
                times[key] = best(times.get(key),
                                  torch_subprocess(case, setting))
        print(f"round {r + 1} done", flush=True)
    for case in ("plain", "vat", "infer"):
        for (c, who), (g, line) in sorted(counters.items()):
            if c == case:
                print(f"{line}  [{who}]")
    for case in ("plain", "vat"):
        for (c, who), t in times.items():
            if c != case or not who.startswith("torch"):
                continue
            wall, sgemm = t[0], t[2]
            g = TORCH_FLOPS[case] * N / wall / 1e9
            sg = 2 * 1024 ** 3 / sgemm / 1e9
            print(f"torch {case}-epoch batch 64: {g:.1f} GFLOP/s = "
                  f"{100 * g / sg:.0f} % of sgemm ({sg:.1f} GFLOP/s, same "
                  f"run)  [{who}]")
    print(f"machine load (1 min) now: {os.getloadavg()[0]:.2f}")
    for case in ("plain", "vat"):
        for (c, who), t in times.items():
            if c == case:
                wall, cpu = t[0], t[1]
                print(f"{case:5s} epoch  {who:18s} {wall:7.3f} s wall "
                      f"{cpu:7.3f} s cpu")
        ours_best = min(t[0] for (c, w), t in times.items()
                        if c == case and w.startswith("affect"))
        torch_default = times[(case, "torch default")][0]
        torch_fastest, fastest = min((t[0], w) for (c, w), t in times.items()
                                     if c == case and w.startswith("torch"))
        print(f"ratio {case:5s} torch default / affect = "
              f"{torch_default / ours_best:.2f}x;  torch fastest "
              f"({fastest}) / affect = {torch_fastest / ours_best:.2f}x"
              f"  (target >= 3x)")


if __name__ == "__main__":
    main()
