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


def torch_time(vat, threads):
    """best (wall, cpu) seconds of three epochs"""
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
    wall, cpu = 1e30, 1e30
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        epoch(net, opt, x, y, vat)
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


HEAP = {"MALLOC_MMAP_THRESHOLD_": str(1 << 25),
        "MALLOC_TRIM_THRESHOLD_": str(1 << 32),
        "MALLOC_TOP_PAD_": str(1 << 28)}
TORCH_SETTINGS = {
    "default": {},
    "default+heap": HEAP,
    "blas1+heap": dict(HEAP, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1"),
}


def ours(helper, threads):
    out = subprocess.run([helper, str(threads)], check=True,
                         capture_output=True, text=True).stdout
    times = {}
    for line in out.splitlines():
        _, case, thr, wall, cpu = line.split()
        times[case] = (float(wall), float(cpu))
    return times


def torch_subprocess(case, setting):
    """(wall, cpu) of torch_time in a process with the setting's variables"""
    env = dict(os.environ, **TORCH_SETTINGS[setting])
    threads = int(env.get("OMP_NUM_THREADS", "0") or 0) or \
        torch.get_num_threads()
    out = subprocess.run([sys.executable, __file__, "--torch", case,
                          str(threads)], env=env, check=True,
                         capture_output=True, text=True).stdout
    wall, cpu = out.split()
    return float(wall), float(cpu)


def best(a, b):
    return (min(a[0], b[0]), min(a[1], b[1])) if a else b


def main():
    if sys.argv[1] == "--torch":
        wall, cpu = torch_time(sys.argv[2] == "vat", int(sys.argv[3]))
        print(wall, cpu)
        return
    helper = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    print(f"machine load (1 min): {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} cores; {rounds} rounds; OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', '(auto)')}", flush=True)
    times = {}
    for r in range(rounds):
        for threads in (1, 2):
            res = ours(helper, threads)
            for case in res:
                key = (case, f"affect threads={threads}")
                times[key] = best(times.get(key), res[case])
        for case in ("plain", "vat"):
            for setting in TORCH_SETTINGS:
                key = (case, f"torch {setting}")
                times[key] = best(times.get(key),
                                  torch_subprocess(case, setting))
        print(f"round {r + 1} done", flush=True)
    for case in ("plain", "vat"):
        for (c, who), (wall, cpu) in times.items():
            if c == case:
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
              f"  (target >= 2x)")


if __name__ == "__main__":
    main()
