#!/usr/bin/python3
"""VAT / plain training epoch: libaffect vs PyTorch in the same run.

9000 x 384 features, 384-1200-600-1 ReLU MLP, Adam, batch 64, one epoch
(best of three). PyTorch runs with 1 thread (its fastest here for these
GEMM sizes) and with its default; the ratio is taken against its fastest.
The PyTorch VAT epoch is the standard algorithm (finite-difference power
iteration, xi = 1e-6, one iteration) in float32.

usage: bench_vat.py PATH/TO/bench-vat [AFFECT_THREADS]
"""
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
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = torch.randn(N, DIN)
    y = 1 + 4 * torch.rand(N, 1)
    net = torch.nn.Sequential(torch.nn.Linear(DIN, 1200), torch.nn.ReLU(),
                              torch.nn.Linear(1200, 600), torch.nn.ReLU(),
                              torch.nn.Linear(600, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    best = 1e30
    for _ in range(3):
        t0 = time.perf_counter()
        epoch(net, opt, x, y, vat)
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    helper = sys.argv[1]
    threads = sys.argv[2] if len(sys.argv) > 2 else "2"
    out = subprocess.run([helper, threads], check=True, capture_output=True,
                         text=True).stdout
    ours = {}
    for line in out.splitlines():
        _, case, thr, secs = line.split()
        ours[case] = float(secs)
        print(f"affect  {case:5s} epoch  {thr:10s} {float(secs):7.3f} s")
    default_threads = torch.get_num_threads()
    for case in ("plain", "vat"):
        vat = case == "vat"
        times = {t: torch_time(vat, t) for t in sorted({1, default_threads})}
        for t, s in times.items():
            print(f"torch   {case:5s} epoch  threads={t:<3d} {s:7.3f} s")
        fastest = min(times.values())
        print(f"ratio   {case:5s} torch-fastest / affect = {fastest / ours[case]:.2f}x"
              f"  (target >= 2x)")


if __name__ == "__main__":
    main()
