#!/usr/bin/env python3
"""gpu.py — nnx on a CUDA device: GEMM GFLOP/s against the FP32 peak, the seed train step.

Runs only where `nnxrun --backend gpu` finds a device; elsewhere it prints why it is skipped
and exits 0 (no figure is made up). On a device:

  GEMM     `nnxrun run gemm.nnx --model 'Gemm()' --backend gpu --input a=randn(N,N)
           b=randn(N,N) --repeat R --timings` for N = 1024, 2048, 4096, 8192; the figure is
           2 N^3 / (the `run-median` time of one call), as a share of --peak-tflops (the
           device's FP32 peak without tensor cores; 67 for an H100/H200 SXM). The call
           includes copying the arguments into managed memory and the result back.
  step     `nnxrun train examples/seed/training.nnx --model 'Model(784, 256, 10)'
           --backend gpu --optimizer sgd` at batch 128 and 4096 on synthetic data (as
           bench/train_step.py); the figure is the median steps/s of the epochs after the
           first, and the compile time.
  kernels  the launches in one train step's host code (`--stage gpu`, gpu.launch ops).

Usage: .venv/bin/python bench/gpu.py [--nnxrun PATH] [--peak-tflops 67] [--quick]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

from gemm import GEMM_NNX, MEDIAN_RE
from train_step import COMPILE_RE, EPOCH_RE, write_data

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def nnx(opts, *args):
  return subprocess.run([opts.nnxrun, *args], capture_output=True, text=True, cwd=REPO)


def missing_device(opts):
  p = nnx(opts, "run", os.path.join(REPO, "examples/seed/basics.nnx"), "--model",
          "Model(4, 8, 2)", "--input", "x=ones(1,4)", "--backend", "gpu")
  return None if p.returncode == 0 else (p.stderr + p.stdout).strip().splitlines()[0]


def gemm(opts, work, n):
  path = os.path.join(work, "gemm.nnx")
  with open(path, "w") as f:
    f.write(GEMM_NNX)
  p = nnx(opts, "run", path, "--model", "Gemm()", "--backend", "gpu", "--input",
          f"a=randn({n},{n})", "--input", f"b=randn({n},{n})", "--repeat", "5" if opts.quick else "20",
          "--timings")
  m = MEDIAN_RE.search(p.stdout + p.stderr)
  if p.returncode or not m:
    return f"failed: {(p.stderr or p.stdout).strip()[-300:]}"
  gflops = 2 * n ** 3 / (float(m.group(1)) * 1e-3) / 1e9
  return f"{gflops:9.1f} GFLOP/s  {100 * gflops / (opts.peak_tflops * 1e3):5.1f}% of peak"


def train_step(opts, work, batch):
  write_data(work, batch * (8 if opts.quick else 32), seed=0)
  p = nnx(opts, "train", os.path.join(REPO, "examples/seed/training.nnx"), "--model",
          "Model(784, 256, 10)", "--loss", "loss_fn", "--data",
          f"{work}/X.npy,{work}/Y.npy", "--optimizer", "sgd", "--lr", "0.1", "--batch",
          str(batch), "--epochs", "3", "--backend", "gpu")
  rates = [float(m.group(5)) for line in p.stdout.splitlines()
           if (m := EPOCH_RE.match(line))][1:]
  compiled = COMPILE_RE.search(p.stdout)
  if p.returncode or not rates or not compiled:
    return f"failed: {(p.stderr or p.stdout).strip()[-300:]}"
  return (f"{1e6 / statistics.median(rates):9.1f} us/step  (compiled in "
          f"{compiled.group(1)} ms)")


def kernel_count(opts, work):
  p = nnx(opts, "train", os.path.join(REPO, "examples/seed/training.nnx"), "--model",
          "Model(784, 256, 10)", "--loss", "loss_fn", "--data", f"{work}/X.npy,{work}/Y.npy",
          "--batch", "128", "--stage", "gpu")
  return p.stdout.count("gpu.launch ") if p.returncode == 0 else "failed"


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("--nnxrun", default=os.path.join(REPO, "build/bin/nnxrun"))
  ap.add_argument("--peak-tflops", type=float, default=67.0,
                  help="the device's FP32 peak without tensor cores (H100/H200 SXM: 67)")
  ap.add_argument("--quick", action="store_true")
  opts = ap.parse_args()
  opts.nnxrun = os.path.abspath(opts.nnxrun)
  missing = missing_device(opts)
  if missing:
    print(f"gpu.py: skipped, no CUDA device ({missing})")
    return 0
  with tempfile.TemporaryDirectory(prefix="nnx-bench-gpu-") as work:
    print(f"f32 GEMM on the device (peak {opts.peak_tflops} TFLOP/s FP32)")
    for n in (1024, 2048) if opts.quick else (1024, 2048, 4096, 8192):
      print(f"  {n:5d}^3  {gemm(opts, work, n)}")
    print("seed train step, Model(784, 256, 10), sgd")
    for batch in (128, 4096):
      print(f"  batch {batch:5d}  {train_step(opts, work, batch)}")
    print(f"kernels per train step (batch 128): {kernel_count(opts, work)}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
