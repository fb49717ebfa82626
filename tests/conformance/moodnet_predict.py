"""affect-model predict against PyTorch: the golden input of
../shared/reference/moodnet/golden.py through `affect-model predict` (a .npy
in, a .npy out) must give golden.py's eval output within 1e-4.
usage: moodnet_predict.py AFFECT_MODEL GOLDEN_WRITER
exit 77 (skipped) without ../shared or torch."""
import os
import subprocess
import sys
import tempfile

affect_model, writer = sys.argv[1], sys.argv[2]
shared = os.environ.get("AFFECT_SHARED_DIR", "")
ref = os.path.join(shared, "reference", "moodnet")
if not os.path.isdir(ref):
    print("SKIP: no", ref)
    sys.exit(77)
outdir = os.path.join(os.environ["AFFECT_BUILD_DIR"], "tests", "conformance")
r = subprocess.run([sys.executable, writer, ref, outdir, "1:4"])
if r.returncode == 77:
    print("SKIP: the golden writer found no torch")
    sys.exit(77)
r.check_returncode()
sys.path.insert(0, ref)
import numpy as np  # noqa: E402
import safetensors_np  # noqa: E402

golden = os.path.join(outdir, "moodnet-golden-s1-c4.safetensors")
loaded = safetensors_np.load(golden)
t = loaded[0] if isinstance(loaded, tuple) else loaded
with tempfile.TemporaryDirectory() as d:
    x = os.path.join(d, "x.npy")
    y = os.path.join(d, "y.npy")
    np.save(x, np.asarray(t["golden.input"], np.float32))
    subprocess.run([affect_model, "predict", "--batch", "1", golden, x, y], check=True)
    out = np.load(y)
    info = subprocess.run([affect_model, "info", golden], check=True,
                          capture_output=True, text=True).stdout
want = np.asarray(t["golden.output"])
err = float(np.abs(out - want).max())
print("affect-model predict: shape %s, max abs error %.3e vs PyTorch (tolerance 1e-4)" % (out.shape, err))
assert out.shape == want.shape, (out.shape, want.shape)
assert err <= 1e-4, err
assert "parameters: 9967167" in info, info
assert "input per item: 1 × 96 × 4096" in info, info
print("ok")
