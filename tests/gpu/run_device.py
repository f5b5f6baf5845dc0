#!/usr/bin/env python3
"""run_device.py — the examples and train steps on a real CUDA device against the interpreter.

Runs tests/e2e/compare_backends.py with `--backends interp,gpu`: every example's methods
(eval and train mode, scans), train steps and gradients, on device 0 through `--backend gpu`,
must agree with the interpreter to a relative error of 1e-5 with equal states. Where there is
no device (no driver, no GPU: `nnxrun` says E0601), it reports itself skipped with nnxrun's
reason and exits 0; on a machine with a GPU every case must pass. Prints one line per case and
"N passed, M failed" (or "0 passed, 0 failed (skipped: ...)").

Usage: .venv/bin/python tests/gpu/run_device.py --nnxrun build/bin/nnxrun --examples examples
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def device_missing(nnxrun, examples):
    """nnxrun's E0601 message when `--backend gpu` finds no device, else None."""
    p = subprocess.run([nnxrun, "run", os.path.join(examples, "seed", "basics.nnx"),
                        "--model", "Model(4, 8, 2)", "--input", "x=ones(1,4)",
                        "--backend", "gpu"], capture_output=True, text=True)
    if p.returncode == 0:
        return None
    text = (p.stderr + p.stdout).strip()
    if "E0601" in text:
        return text.splitlines()[0]
    sys.exit(f"--backend gpu failed on the smallest model:\n{text}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxrun", required=True)
    ap.add_argument("--examples", required=True)
    args = ap.parse_args()
    missing = device_missing(args.nnxrun, args.examples)
    if missing:
        print(f"skipped: no CUDA device ({missing})")
        print("0 passed, 0 failed (skipped: no CUDA device)")
        return 0
    return subprocess.call([sys.executable, os.path.join(HERE, "..", "e2e", "compare_backends.py"),
                            "--nnxrun", args.nnxrun, "--examples", args.examples,
                            "--backends", "interp,gpu"])


if __name__ == "__main__":
    sys.exit(main())
