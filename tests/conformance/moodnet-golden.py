"""Writes MoodNet golden files with ../shared/reference/moodnet/golden.py,
several cases in one interpreter (torch is imported once), and beside each
(<name>-f64.safetensors) PyTorch's own float64 gradients for the same
weights and input: how far float32 PyTorch is from exact arithmetic, the
yardstick for gradients that pass through max-pooling and ReLU6 clipping.
usage: moodnet-golden.py REFERENCE_DIR OUT_DIR SEED:CLASSES [...]
exit 77 when torch or the reference is missing."""
import os
import runpy
import sys

ref, out = sys.argv[1], sys.argv[2]
script = os.path.join(ref, "golden.py")
if not os.path.exists(script):
    print("SKIP: no", script)
    sys.exit(77)
try:
    import torch  # noqa: F401
except ImportError:
    print("SKIP: torch is not installed")
    sys.exit(77)
torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", "2")))
sys.path.insert(0, ref)
import numpy as np  # noqa: E402
import moodnet  # noqa: E402
import safetensors_np  # noqa: E402


def float64_gradients(golden, out):
    loaded = safetensors_np.load(golden)
    t = loaded[0] if isinstance(loaded, tuple) else loaded
    m = moodnet.MoodNet(t["att_head.1.weight"].shape[0])
    m.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in t.items()
                       if not k.startswith("golden.")}, strict=False)
    m.eval().double()
    x = torch.from_numpy(np.array(t["golden.input"], np.float64)).requires_grad_(True)
    y = torch.from_numpy(np.array(t["golden.target"], np.float64))
    torch.nn.functional.binary_cross_entropy(m(x), y).backward()
    g = {"grad.input": x.grad.numpy()}
    named = dict(m.named_parameters())
    for k in t:
        if k.startswith("golden.grad.") and k != "golden.grad.input":
            g["grad." + k[len("golden.grad."):]] = named[k[len("golden.grad."):]].grad.numpy()
    safetensors_np.save(out, g, {"golden.mode": "float64 gradients of " + os.path.basename(golden)})
for case in sys.argv[3:]:
    seed, classes = case.split(":")
    path = os.path.join(out, "moodnet-golden-s%s-c%s.safetensors" % (seed, classes))
    if os.path.exists(path):
        continue
    sys.argv = [script, path + ".part", "--seed", seed, "--classes", classes, "--batch", "2"]
    runpy.run_path(script, run_name="__main__")
    float64_gradients(path + ".part", path[:-len(".safetensors")] + "-f64.safetensors")
    os.rename(path + ".part", path)
