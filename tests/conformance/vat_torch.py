#!/usr/bin/python3
"""One full VAT training step of libaffect against PyTorch.

Same initial weights, same batch, same random directions: libaffect's
vat-step dumps them with its results; this script rebuilds the network as a
torch nn.Sequential, computes r_adv with the classic VAT power iteration in
float64 (xi = 1e-6, where nothing cancels), then the loss
MSE + lambda * mean ||f(x + r) - f(x)||^2 / 2 with f(x) detached, backward,
and one Adam step in float32. Loss, r_adv, gradients and updated weights
must agree within 1e-4 relative. A second case checks two SGD steps with
Nesterov momentum and weight decay. Exit 77 (skip) without torch.
"""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
except ImportError as e:  # pragma: no cover
    print(f"SKIP: {e}")
    sys.exit(77)

TOL = 1e-4
EPS, LAM, XI = 1.5, 1.5, 1e-6
torch.set_num_threads(1)
failures = []


def load(dirname, name, shape):
    return torch.from_numpy(np.fromfile(os.path.join(dirname, name),
                                        dtype='<f4').reshape(shape).copy())


def rel(a, b):
    """max |a-b| / max |b| and ||a-b|| / ||b||"""
    a = a.double()
    b = b.double()
    scale = b.abs().max().item() or 1.0
    return ((a - b).abs().max().item() / scale,
            ((a - b).norm() / (b.norm() + 1e-300)).item())


def check(what, ours, ref, tol=TOL, elementwise=True):
    m, n = rel(ours, ref)
    ok = n <= tol and (m <= tol or not elementwise)
    print(f"{'ok' if ok else 'FAIL'}  {what:28s} max-rel {m:.2e}  norm-rel {n:.2e}")
    if not ok:
        failures.append(what)


def build(widths, dirname, suffix):
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(load(dirname, f"net.{name}.{suffix}", p.shape))
    return net


def run_vat(helper, widths, iterations):
    with tempfile.TemporaryDirectory() as dirname:
        subprocess.run([helper, "vat", dirname, ",".join(map(str, widths)),
                        str(iterations)], check=True)
        n, din, k = 64, widths[0], widths[-1]
        x = load(dirname, "x", (n, din))
        y = load(dirname, "y", (n, k))
        d = load(dirname, "d", (n, din))
        net = build(widths, dirname, "init")

        # r_adv: the classic power iteration, in float64
        net64 = build(widths, dirname, "init").double()
        x64 = x.double()
        with torch.no_grad():
            f0 = net64(x64)
        dd = d.double()
        for _ in range(iterations):
            dd = XI * dd / dd.norm(dim=1, keepdim=True)
            dd.requires_grad_(True)
            dist = 0.5 * ((net64(x64 + dd) - f0) ** 2).sum()
            dd, = torch.autograd.grad(dist, dd)
        r64 = EPS * dd / dd.norm(dim=1, keepdim=True)
        r = r64.float()
        nonzero = (r64.norm(dim=1) > 0).all().item()
        print(f"     r_adv non-zero for every sample (float64): {nonzero}")

        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        opt.zero_grad()
        pred = net(x)
        mse = torch.nn.functional.mse_loss(pred, y)
        lds = 0.5 * ((net(x + r) - pred.detach()) ** 2).sum(dim=1).mean()
        loss = mse + LAM * lds
        loss.backward()
        grads = {name: p.grad.clone() for name, p in net.named_parameters()}
        opt.step()

        tag = f"{'-'.join(map(str, widths))} K={iterations}"
        print(f"--- VAT step, {tag}")
        ours = load(dirname, "loss", (3,))
        check("loss", ours[0:1], loss.detach().reshape(1))
        check("mse", ours[1:2], mse.detach().reshape(1))
        check("lds", ours[2:3], lds.detach().reshape(1))
        ours_r = load(dirname, "r", (n, din))
        check("r_adv", ours_r, r64.float())
        if not (ours_r.norm(dim=1) > 0).all():
            failures.append("r_adv has a zero row")
        # torch's Adam applied to our gradients: isolates the optimiser
        net_b = build(widths, dirname, "init")
        for name, p in net_b.named_parameters():
            p.grad = load(dirname, f"net.{name}.grad", tuple(p.shape))
        torch.optim.Adam(net_b.parameters(), lr=1e-3).step()
        params_b = dict(net_b.named_parameters())
        for name, p in net.named_parameters():
            shape = tuple(p.shape)
            final = load(dirname, f"net.{name}.final", shape)
            check(f"grad net.{name}", load(dirname, f"net.{name}.grad", shape),
                  grads[name])
            check(f"adam(our grad) net.{name}", final, params_b[name].detach())
            # end to end: Adam's first step is lr * g / (|g| + 1e-8), so a
            # gradient within float32 rounding of 0 may move its weight by
            # up to lr either way; judged on the norm, element max printed
            check(f"updated net.{name}", final, p.detach(), elementwise=False)


def run_sgd(helper, widths):
    with tempfile.TemporaryDirectory() as dirname:
        subprocess.run([helper, "sgd", dirname, ",".join(map(str, widths)),
                        "1"], check=True)
        n, din, k = 64, widths[0], widths[-1]
        x = load(dirname, "x", (n, din))
        y = load(dirname, "y", (n, k))
        net = build(widths, dirname, "init")
        # libaffect decays weights, not biases (AffectParam.decay)
        decay = [p for name, p in net.named_parameters() if name.endswith("weight")]
        no_decay = [p for name, p in net.named_parameters() if name.endswith("bias")]
        opt = torch.optim.SGD([{"params": decay, "weight_decay": 1e-3},
                               {"params": no_decay, "weight_decay": 0.0}],
                              lr=0.01, momentum=0.9, nesterov=True)
        losses = []
        for _ in range(2):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(net(x), y)
            loss.backward()
            losses.append(loss.item())
            opt.step()
        print(f"--- two SGD (Nesterov, weight decay) steps, {'-'.join(map(str, widths))}")
        ours = load(dirname, "loss", (3,))
        check("losses", ours[0:2], torch.tensor(losses))
        for name, p in net.named_parameters():
            check(f"updated net.{name}",
                  load(dirname, f"net.{name}.final", tuple(p.shape)), p.detach())


def main():
    helper = sys.argv[1]
    run_vat(helper, [384, 1200, 600, 1], 1)
    run_vat(helper, [384, 256, 128, 3], 2)
    run_sgd(helper, [384, 1200, 600, 1])
    if failures:
        print("FAILED:", ", ".join(failures))
        return 1
    print(f"all within {TOL:g} relative")
    return 0


if __name__ == "__main__":
    sys.exit(main())
