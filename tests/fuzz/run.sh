#!/bin/sh
# Builds a libFuzzer target of core/io with clang (ASan + UBSan) and runs it.
#   tests/fuzz/run.sh safetensors|npy [seconds]   (default 60 s)
# The seed corpus comes from the unit tests' valid files; crashes land in
# build-fuzz/<target>-crashes/. Not part of `meson test`.
set -e
target=${1:?usage: $0 safetensors|npy [seconds]}
seconds=${2:-60}
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$src/build-fuzz
mkdir -p "$out/$target-corpus" "$out/$target-crashes"
printf '#define VERSION "fuzz"\n' > "$out/config.h"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$out" -I"$src/include" $(pkg-config --cflags glib-2.0 json-glib-1.0) \
  "$src/tests/fuzz/fuzz-$target.c" "$src/core/affect.c" \
  "$src/core/io/atomicfile.c" "$src/core/io/safetensors.c" "$src/core/io/npy.c" \
  $(pkg-config --libs glib-2.0 json-glib-1.0) -lopenblas -lm \
  -o "$out/fuzz-$target"
if [ "$target" = safetensors ]; then
  /usr/bin/python3 - "$out/$target-corpus" <<'PY'
import json, struct, sys
def save(path, tensors, meta):
    header, off, blobs = {}, 0, []
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs.append(raw); off += len(raw)
    header["__metadata__"] = meta
    h = json.dumps(header).encode(); h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
save(sys.argv[1] + "/a", {"w": ("F32", [2, 3], bytes(24)), "h": ("F16", [3], bytes(6)),
     "n": ("I64", [], bytes(8))}, {"arch": "mlp"})
save(sys.argv[1] + "/b", {"x": ("BF16", [1, 1, 2], bytes(4)), "d": ("F64", [1], bytes(8))}, {})
PY
else
  /usr/bin/python3 -c "
import numpy as np, sys
d = sys.argv[1]
np.save(d + '/a.npy', np.arange(6, dtype='<f4').reshape(2, 3))
np.save(d + '/b.npy', np.array([True, False]))
np.save(d + '/c.npy', np.arange(4, dtype='>i8'))
with open(d + '/v2.npy', 'wb') as f:
    np.lib.format.write_array(f, np.zeros((2, 2)), version=(2, 0))
" "$out/$target-corpus"
fi
cd "$out/$target-crashes"
"$out/fuzz-$target" -max_total_time="$seconds" -max_len=4096 "$out/$target-corpus"
