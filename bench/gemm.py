#!/usr/bin/env python3
"""gemm.py — f32 matrix-product speed: nnx's JIT vs numpy (OpenBLAS) vs jax.jit (XLA).

For each shape M x K x N (square 256..2048, and the seed MLP's 128x784x256 forward and
784x128x256 weight-gradient products) every contender computes C = A @ B on the same
standard-normal f32 inputs; the figure is GFLOP/s = 2 M N K / (median time of one call).

  nnx    `nnxrun run gemm.nnx --model 'Gemm()' --backend jit --input a=randn(M,K) b=randn(K,N)
         --repeat R --timings --threads T`; the time is its `run-median` line (one warm call of the
         compiled function, result allocation included).
  numpy  `a @ b` with numpy's own OpenBLAS wheel (it detects the core right; OPENBLAS_CORETYPE
         is unset, DESIGN §6), OPENBLAS_NUM_THREADS = the thread count.
  jax    `jax.jit(jnp.matmul)`, warmed, `block_until_ready`; one thread is
         `--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`.

Every contender runs in its own subprocess pinned with taskset to as many CPUs as threads.
Contenders are interleaved and the whole is repeated --rounds times; the table gives the
median GFLOP/s over rounds and the median over rounds of nnx's per-round ratio to each peer.
nnx gets `--threads T` like the peers get theirs.

Usage: .venv/bin/python bench/gemm.py [--quick] [--threads 1,2] [--rounds 3] [--nnxrun PATH]
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

from common import env_for, pinned

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHAPES = [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048),
          (128, 784, 256), (784, 128, 256)]
GEMM_NNX = "module Gemm() {\n  fn __call__(a, b) = a @ b\n}\n"
MEDIAN_RE = re.compile(r"timing: run-median\s+([\d.]+) ms")


def repeats_for(m, k, n):
  """Enough calls for a stable median, about 0.3 s at 50 GFLOP/s."""
  return max(3, min(200, int(0.3 * 50e9 / (2 * m * n * k))))


def worker(which, m, k, n, repeats):
  """Prints the median seconds of one call of numpy or jax (run in a subprocess)."""
  import time
  import numpy as np
  rng = np.random.default_rng(0)
  a = rng.standard_normal((m, k), dtype=np.float32)
  b = rng.standard_normal((k, n), dtype=np.float32)
  if which == "numpy":
    call = lambda: a @ b
  else:
    import jax
    import jax.numpy as jnp
    f = jax.jit(jnp.matmul)
    ja, jb = jnp.asarray(a), jnp.asarray(b)
    call = lambda: f(ja, jb).block_until_ready()
  call()
  times = []
  for _ in range(repeats):
    t = time.perf_counter()
    call()
    times.append(time.perf_counter() - t)
  print(json.dumps({"s": statistics.median(times)}))


def run_peer(which, shape, threads, repeats):
  m, k, n = shape
  cmd = pinned([sys.executable, os.path.abspath(__file__), "--worker", which,
                "--shape", f"{m},{k},{n}", "--repeats", str(repeats)], threads)
  p = subprocess.run(cmd, env=env_for(threads), capture_output=True, text=True)
  if p.returncode != 0:
    return None, (p.stderr or p.stdout).strip()[-300:]
  return json.loads(p.stdout.strip().splitlines()[-1])["s"], None


def run_nnx(opts, workdir, shape, threads, repeats):
  m, k, n = shape
  path = os.path.join(workdir, "gemm.nnx")
  cmd = pinned([opts.nnxrun, "run", path, "--model", "Gemm()", "--backend", "jit",
                "--input", f"a=randn({m},{k})", f"b=randn({k},{n})",
                "--repeat", str(repeats), "--timings", "--threads", str(threads),
                "--output", os.path.join(workdir, "c.npy")], threads)
  p = subprocess.run(cmd, env=env_for(threads), capture_output=True, text=True)
  found = MEDIAN_RE.search(p.stderr)
  if p.returncode != 0 or not found:
    return None, (p.stderr or p.stdout).strip()[-300:]
  return float(found.group(1)) / 1e3, None


def main():
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("--worker", choices=["numpy", "jax"])
  ap.add_argument("--shape")
  ap.add_argument("--repeats", type=int, default=10)
  ap.add_argument("--quick", action="store_true", help="one round, small shapes only")
  ap.add_argument("--threads", default="1,2")
  ap.add_argument("--rounds", type=int, default=None)
  ap.add_argument("--nnxrun", default=os.path.join(REPO, "build/bin/nnxrun"))
  opts = ap.parse_args()
  if opts.worker:
    m, k, n = (int(v) for v in opts.shape.split(","))
    return worker(opts.worker, m, k, n, opts.repeats)
  rounds = opts.rounds or (1 if opts.quick else 3)
  shapes = [s for s in SHAPES if not opts.quick or max(s) <= 1024]
  contenders = ["nnx", "numpy", "jax"]
  workdir = tempfile.mkdtemp(prefix="nnx-bench-gemm-")
  with open(os.path.join(workdir, "gemm.nnx"), "w") as f:
    f.write(GEMM_NNX)
  for threads in [int(t) for t in opts.threads.split(",")]:
    if threads > (os.cpu_count() or 1):
      print(f"\n{threads} threads: skipped, this machine has {os.cpu_count()} CPUs")
      continue
    note = ""
    print(f"\nf32 GEMM, {threads} thread{'s' if threads > 1 else ''}{note}; GFLOP/s, median of "
          f"{rounds} round{'s' if rounds > 1 else ''}; ratio = nnx / peer (speed)")
    print(f"{'M x K x N':>18} {'nnx':>8} {'numpy':>8} {'jax':>8} {'nnx/numpy':>10} {'nnx/jax':>8}")
    for shape in shapes:
      m, k, n = shape
      flop = 2 * m * n * k
      repeats = repeats_for(m, k, n)
      rates = {c: [] for c in contenders}
      ratios = {"numpy": [], "jax": []}
      for r in range(rounds):
        order = contenders[r % 3:] + contenders[:r % 3]
        secs = {}
        for c in order:
          s, err = (run_nnx(opts, workdir, shape, threads, repeats) if c == "nnx"
                    else run_peer(c, shape, threads, repeats))
          if s is None:
            print(f"  {c} failed on {shape}: {err}", file=sys.stderr)
            continue
          secs[c] = s
          rates[c].append(flop / s / 1e9)
        for peer in ratios:
          if "nnx" in secs and peer in secs:
            ratios[peer].append(secs[peer] / secs["nnx"])
      med = lambda v: f"{statistics.median(v):.1f}" if v else "-"
      rat = lambda v: f"{statistics.median(v):.2f}x" if v else "-"
      print(f"{f'{m}x{k}x{n}':>18} {med(rates['nnx']):>8} {med(rates['numpy']):>8} "
            f"{med(rates['jax']):>8} {rat(ratios['numpy']):>10} {rat(ratios['jax']):>8}",
            flush=True)
  shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
  main()
