"""Interpreter vs JIT on every example: the same IR through both executors must agree.

For each case, nnxrun runs the method once with --backend interp and once with --backend jit
from the same weights and inputs; the outputs must agree to a relative error of 1e-5 and the
saved states (rng counters included) must be equal. Train-mode cases check that dropout draws
the same masks on both backends. Prints one line per case and "N passed, M failed".
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import numpy as np  # noqa: E402
from nnxio import read_safetensors, rel_error, run  # noqa: E402

# (file under examples/, model, method, inputs, mode)
CASES = [
    ("seed/basics.nnx", "Model(784, 256, 10)", "__call__", ["x=randn(4,784)"], "eval"),
    ("seed/basics.nnx", "Model(784, 256, 10)", "__call__", ["x=randn(4,784)"], "train"),
    ("seed/basics.nnx", "Block(64, 32)", "__call__", ["x=randn(3,64)"], "train"),
    ("seed/autoencoder.nnx", "AutoEncoder(784, 256, 784)", "encode", ["x=randn(2,784)"], "eval"),
    ("seed/autoencoder.nnx", "AutoEncoder(784, 256, 784)", "decode", ["x=randn(2,256)"], "eval"),
    ("seed/autoencoder.nnx", "AutoEncoder(784, 256, 784)", "__call__", ["x=randn(2,784)"], "eval"),
]


def run_case(nnxrun, examples, tmp, case):
    path, model, method, inputs, mode = case
    results = {}
    for backend in ("interp", "jit"):
        out = os.path.join(tmp, f"{backend}.npy")
        state = os.path.join(tmp, f"{backend}.safetensors")
        cmd = [nnxrun, "run", os.path.join(examples, path), "--model", model, "--method", method,
               "--mode", mode, "--seed", "7", "--backend", backend, "--output", out,
               "--save", state]
        for i in inputs:
            cmd += ["--input", i]
        run(cmd)
        results[backend] = (np.load(out), read_safetensors(state))
    (y_i, s_i), (y_j, s_j) = results["interp"], results["jit"]
    err = rel_error(y_j, y_i)
    if err > 1e-5:
        return f"outputs differ: relative error {err:.3g}"
    if mode == "train" and not np.array_equal(y_i == 0, y_j == 0):
        return "dropout masks differ"
    for name in s_i:
        if not np.array_equal(s_i[name], s_j[name]) and rel_error(s_j[name], s_i[name]) > 1e-5:
            return f"state `{name}` differs"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxrun", required=True)
    ap.add_argument("--examples", required=True)
    args = ap.parse_args()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            label = f"{case[0]} {case[1]}.{case[2]} ({case[4]})"
            try:
                problem = run_case(args.nnxrun, args.examples, tmp, case)
            except Exception as e:  # report and go on with the other cases
                problem = str(e)
            print(f"{label}: {'ok' if problem is None else 'FAILED: ' + problem}")
            passed += problem is None
            failed += problem is not None
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
