#!/usr/bin/python3
"""VAT / plain training epoch: libaffect vs PyTorch in the same run.

9000 x 384 features, 384-1200-600-1 ReLU MLP, Adam, batch 64, one epoch
(best of three). PyTorch runs with 1 thread, its fastest setting for these
GEMM sizes on this machine class (two threads are about 3x slower).
Debian's torch runs its GEMMs on OpenBLAS, whose threads torch.set_num_threads
does not govern, so each PyTorch setting runs in its own process with
OPENBLAS_NUM_THREADS and OMP_NUM_THREADS pinned, and the ratio is taken
against the fastest of them.
The PyTorch VAT epoch is the standard algorithm (finite-difference power
iteration, xi = 1e-6, one iteration) in float32.

Ours runs at 1 and 2 OpenBLAS threads. Wall and CPU seconds are printed:
on a machine shared with other work, CPU time at one thread compares the
implementations' efficiency even when wall time is disturbed.

usage: bench_vat.py PATH/TO/bench-vat
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


def ours(helper, threads):
    out = subprocess.run([helper, str(threads)], check=True,
                         capture_output=True, text=True).stdout
    times = {}
    for line in out.splitlines():
        _, case, thr, wall, cpu = line.split()
        times[case] = (float(wall), float(cpu))
    return times


def torch_subprocess(case, threads):
    """(wall, cpu) of torch_time in a process whose BLAS threads are pinned"""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, __file__, "--torch", case,
                          str(threads)], env=env, check=True,
                         capture_output=True, text=True).stdout
    wall, cpu = out.split()
    return float(wall), float(cpu)


def main():
    if sys.argv[1] == "--torch":
        wall, cpu = torch_time(sys.argv[2] == "vat", int(sys.argv[3]))
        print(wall, cpu)
        return
    helper = sys.argv[1]
    print(f"machine load (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    a1 = ours(helper, 1)
    a2 = ours(helper, 2)
    for case in ("plain", "vat"):
        t1 = torch_subprocess(case, 1)
        t2 = torch_subprocess(case, 2)
        print(f"affect  {case:5s} epoch  threads=1  {a1[case][0]:7.3f} s wall  {a1[case][1]:7.3f} s cpu")
        print(f"affect  {case:5s} epoch  threads=2  {a2[case][0]:7.3f} s wall  {a2[case][1]:7.3f} s cpu")
        print(f"torch   {case:5s} epoch  threads=1  {t1[0]:7.3f} s wall  {t1[1]:7.3f} s cpu")
        print(f"torch   {case:5s} epoch  threads=2  {t2[0]:7.3f} s wall  {t2[1]:7.3f} s cpu")
        best = min(a1[case][0], a2[case][0])
        tbest = min(t1[0], t2[0])
        print(f"ratio   {case:5s} torch(fastest) / affect(fastest) wall = {tbest / best:.2f}x"
              f"  (target >= 2x);  cpu at 1 thread = {t1[1] / a1[case][1]:.2f}x")


if __name__ == "__main__":
    main()
