"""Interpreter vs JIT vs the GPU's kernels on every example: the same IR through every executor
must agree.

For each case, nnxrun runs the method with --backend interp, --backend jit and --backend
gpu-host (the GPU lowering: every op a launch of blocks and threads, run as loops on the CPU)
from the same weights and inputs; each compiled backend against the interpreter: the outputs must agree to a relative error of 1e-5 and the
saved states (rng counters included) must be equal. Train-mode cases check that dropout draws
the same masks on both backends, in scanned layers too. Train steps (forward, backward and optimizer update in one
function, dropout active) and `nnxrun grad` are compared the same way: the weights, optimizer
moments and rng counters after training, and every gradient. Prints one line per case and
"N passed, M failed". `--backends interp,gpu` compares a CUDA device instead
(tests/gpu/run_device.py).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import numpy as np  # noqa: E402
from nnxio import read_safetensors, rel_error, run, run_checks  # noqa: E402

# The interpreter (the reference) first, then the compiled backends compared with it.
BACKENDS = ("interp", "jit", "gpu-host")

# (file under examples/, model, method, inputs, mode)
CASES = [
    ("seed/basics.nnx", "Model(784, 256, 10)", "__call__", ["x=randn(4,784)"], "eval"),
    ("seed/basics.nnx", "Model(784, 256, 10)", "__call__", ["x=randn(4,784)"], "train"),
    # 131 rows: the first product is the GPU's shared-memory tiled kernel, with partial tiles.
    ("seed/basics.nnx", "Model(784, 256, 10)", "__call__", ["x=randn(131,784)"], "eval"),
    ("seed/basics.nnx", "Block(64, 32)", "__call__", ["x=randn(3,64)"], "train"),
    ("seed/autoencoder.nnx", "AutoEncoder(784, 256, 784)", "encode", ["x=randn(2,784)"], "eval"),
    ("seed/autoencoder.nnx", "AutoEncoder(784, 256, 784)", "decode", ["x=randn(2,256)"], "eval"),
    ("seed/autoencoder.nnx", "AutoEncoder(784, 256, 784)", "__call__", ["x=randn(2,784)"], "eval"),
    # Scans: over time (the cell shared by every step) and over stacked layers, whose dropout
    # draws a fresh mask per layer from each layer's own key and counter.
    ("seed/rnn.nnx", "RNN(32, 64)", "__call__", ["x=randn(3,12,32)"], "eval"),
    ("seed/rnn.nnx", "RNN(32, 64)", "short", ["x=randn(3,12,32)"], "eval"),
    ("seed/scan_layers.nnx", "MLP(64, num_layers=5)", "__call__", ["x=randn(4,64)"], "eval"),
    ("seed/scan_layers.nnx", "MLP(64, num_layers=5)", "__call__", ["x=randn(4,64)"], "train"),
    ("seed/scan_layers.nnx", "MLP(64, num_layers=5)", "short", ["x=randn(4,64)"], "train"),
    # Layers: BatchNorm with batch statistics (train) and running averages (eval), a Counter;
    # convolutions, pooling, attention.
    ("seed/collections.nnx", "Block(4, 4)", "__call__", ["x=randn(6,4)"], "train"),
    ("seed/collections.nnx", "Block(4, 4)", "__call__", ["x=randn(6,4)"], "eval"),
    ("digits_cnn.nnx", "DigitsCNN(8)", "__call__", ["x=rand(5,64)"], "train"),
    ("digits_cnn.nnx", "DigitsCNN(8)", "__call__", ["x=rand(5,64)"], "eval"),
    ("digits_transformer.nnx", "DigitsTransformer(16, 4, 2)", "__call__", ["x=rand(5,64)"],
     "eval"),
]


def run_case(nnxrun, examples, tmp, case):
    path, model, method, inputs, mode = case
    results = {}
    for backend in BACKENDS:
        out = os.path.join(tmp, f"{backend}.npy")
        state = os.path.join(tmp, f"{backend}.safetensors")
        cmd = [nnxrun, "run", os.path.join(examples, path), "--model", model, "--method", method,
               "--mode", mode, "--seed", "7", "--backend", backend, "--output", out,
               "--save", state]
        for i in inputs:
            cmd += ["--input", i]
        run(cmd)
        results[backend] = (np.load(out), read_safetensors(state))
    y_i, s_i = results["interp"]
    for backend in BACKENDS[1:]:
        y_j, s_j = results[backend]
        err = rel_error(y_j, y_i)
        if err > 1e-5:
            return f"{backend}: outputs differ: relative error {err:.3g}"
        if mode == "train" and not np.array_equal(y_i == 0, y_j == 0):
            return f"{backend}: dropout masks differ"
        for name in s_i:
            if not np.array_equal(s_i[name], s_j[name]) and \
                    rel_error(s_j[name], s_i[name]) > 1e-5:
                return f"{backend}: state `{name}` differs"
    return None


# (file under examples/, model, optimizer) trained for 12 steps on a slice of the digits.
# The JIT's matmuls round differently (fused multiply-adds), so the backends agree to about
# 1e-7, not bit for bit. Adam turns a gradient that is zero in theory (a conv bias before
# BatchNorm, attention's key bias) into +-lr steps whose sign is rounding noise, so the models
# with such parameters train with SGD here, which keeps noise at noise level; Adam is covered
# by the others.
TRAIN_CASES = [
    ("seed/training.nnx", "Model(64, 32, 10)", "sgd"),
    ("seed/training.nnx", "Model(64, 32, 10)", "adam"),
    ("digits.nnx", "Classifier(16)", "adamw"),
    ("digits_lstm.nnx", "DigitsLSTM(16)", "adam"),   # a scan, differentiated through
    ("digits_cnn.nnx", "DigitsCNN(8)", "sgd"),       # conv, BatchNorm statistics, max_pool
    ("digits_transformer.nnx", "DigitsTransformer(16, 4, 1)", "sgd"),  # attention
]


def state_error(a, b):
    """rel_error with the scale floored at 0.1, a weight's size: a parameter that is zero in
    theory (a bias whose gradient cancels) holds rounding noise on both backends, which agrees
    in size only."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    if not a.size:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 0.1))


def compare_states(a, b):
    for name in a:
        if name not in b:
            return f"`{name}` missing"
        if not np.array_equal(a[name], b[name]) and state_error(b[name], a[name]) > 1e-5:
            return f"`{name}` differs: relative error {state_error(b[name], a[name]):.3g}"
    return None


def first_difference(by_backend):
    """compare_states of each compiled backend's tensors against the interpreter's."""
    for backend in BACKENDS[1:]:
        error = compare_states(by_backend["interp"], by_backend[backend])
        if error:
            return f"{backend}: {error}"
    return None


def run_train_case(nnxrun, examples, tmp, case):
    path, model, optimizer = case
    data = os.path.join(examples, "data", "digits.csv.gz")
    states = {}
    for backend in BACKENDS:
        state = os.path.join(tmp, f"train-{backend}.safetensors")
        run([nnxrun, "train", os.path.join(examples, path), "--model", model, "--loss", "loss_fn",
             "--data", data, "--optimizer", optimizer, "--steps", "12", "--batch", "16",
             "--seed", "3", "--backend", backend, "--save", state])
        states[backend] = read_safetensors(state)
    return first_difference(states)


ORACLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracle")

# (file, model, loss, inputs, mode): every gradient, through dropout and through scans (the
# scan's VJP replays each step's dropout mask from its saved counter).
GRAD_CASES = [
    ("{examples}/seed/training.nnx", "Model(784, 256, 10)", "loss_fn",
     ["x=randn(8,784)", "y=arange(8,dtype=i32)"], "train"),
    (f"{ORACLE}/transforms.nnx", "RNN(32, 64)", "mean_square", ["x=randn(3,12,32)"], "eval"),
    (f"{ORACLE}/transforms.nnx", "MLP(64, num_layers=5)", "mean_square", ["x=randn(4,64)"],
     "train"),
    (f"{ORACLE}/transforms.nnx", "VmapNet(5)", "mean_square", ["x=randn(6,5)"], "eval"),
    # The hidden layer's weight gradient x^T g is 16 x 16 over 5 rows: the GPU's tiled kernel
    # of a transposed operand, whose host code once stopped LLVM's instcombine at its fixpoint
    # check (an abort, exit 1).
    ("{examples}/seed/training.nnx", "Model(64, 16, 16)", "loss_fn",
     ["x=randn(5,64)", "y=arange(5,dtype=i32)"], "eval"),
]


def run_grad_case(nnxrun, examples, tmp, case):
    path, model, loss, inputs, mode = case
    grads = {}
    for backend in BACKENDS:
        out = os.path.join(tmp, f"grad-{backend}.safetensors")
        cmd = [nnxrun, "grad", path.format(examples=examples), "--model", model, "--loss", loss,
               "--mode", mode, "--backend", backend, "--output", out]
        for i in inputs:
            cmd += ["--input", i]
        run(cmd)
        grads[backend] = read_safetensors(out)
    return first_difference(grads)


def main():
    global BACKENDS
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxrun", required=True)
    ap.add_argument("--examples", required=True)
    ap.add_argument("--backends", default=",".join(BACKENDS),
                    help="comma-separated, the interpreter first (tests/gpu/run_device.py: "
                         "interp,gpu)")
    args = ap.parse_args()
    BACKENDS = tuple(args.backends.split(","))
    if BACKENDS[0] != "interp" or len(BACKENDS) < 2:
        ap.error("--backends: interp first, then at least one compiled backend")
    checks = [(f"{c[0]} {c[1]}.{c[2]} ({c[4]})",
               lambda tmp, c=c: run_case(args.nnxrun, args.examples, tmp, c)) for c in CASES]
    checks += [(f"train {c[0]} {c[1]} {c[2]}",
                lambda tmp, c=c: run_train_case(args.nnxrun, args.examples, tmp, c))
               for c in TRAIN_CASES]
    checks += [(f"grad {os.path.basename(c[0])} {c[1]} {c[2]} ({c[4]} mode)",
                lambda tmp, c=c: run_grad_case(args.nnxrun, args.examples, tmp, c))
               for c in GRAD_CASES]
    return run_checks(checks)


if __name__ == "__main__":
    sys.exit(main())
