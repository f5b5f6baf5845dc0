"""Resume equivalence: training 1 epoch, saving, and resuming for 1 more epoch gives exactly
the weights (and optimizer state, and rng counters) of training 2 epochs in one run — with
dropout active, so the rng counters must resume too. Both backends. Prints "N passed, M failed".
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import numpy as np  # noqa: E402
from nnxio import read_safetensors, run, run_checks  # noqa: E402


def check(nnxrun, examples, tmp, backend, optimizer):
    src = os.path.join(examples, "seed", "training.nnx")
    data = os.path.join(examples, "data", "digits.csv.gz")
    base = [nnxrun, "train", src, "--model", "Model(64, 48, 10)", "--loss", "loss_fn",
            "--data", data, "--optimizer", optimizer, "--batch", "64", "--holdout", "0.2",
            "--seed", "5", "--backend", backend]
    two, one, resumed = (os.path.join(tmp, f) for f in ("two.st", "one.st", "resumed.st"))
    run(base + ["--epochs", "2", "--save", two])
    run(base + ["--epochs", "1", "--save", one])
    run(base + ["--epochs", "1", "--load", one, "--save", resumed])
    a, b = read_safetensors(two), read_safetensors(resumed)
    if set(a) != set(b):
        return f"variables differ: {sorted(set(a) ^ set(b))}"
    for name in a:
        if not np.array_equal(a[name], b[name]):
            return f"`{name}` differs after resuming"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxrun", required=True)
    ap.add_argument("--examples", required=True)
    args = ap.parse_args()
    return run_checks([(f"resume {opt} [{backend}]",
                        lambda tmp, b=backend, o=opt: check(args.nnxrun, args.examples, tmp, b, o))
                       for backend in ("interp", "jit") for opt in ("sgd", "adam")])


if __name__ == "__main__":
    sys.exit(main())
