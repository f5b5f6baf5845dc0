#!/usr/bin/env python3
"""forward.py — forward latency of the seed's Model(784, 256, 10): nnx vs Flax NNX (jax.jit).

One eval-mode forward call (Linear(784, 256) -> Dropout (off) -> relu -> Linear(256, 10)) at
batch 1 and 128, warm, at 1 and 2 threads:

  nnx    `nnxrun run examples/seed/basics.nnx --model 'Model(784, 256, 10)' --backend jit
         --input x=randn(B,784) --repeat R --timings --threads T`; the `run-median` line (one
         call of the compiled function: argument binding, result allocation and the kernels).
  Flax   the seed's Model (model.eval()) two ways, each `block_until_ready`, median of R calls
         after a warm-up: under `nnx.jit`, the seed's own API, which walks the module graph on
         every call; and JAX's fastest form, `jax.jit` of `nnx.merge(graphdef, state)(x)` on
         the state from `nnx.split` (Flax's documented way to cut that overhead).

Each contender runs in its own subprocess pinned (taskset) to T CPUs, with T threads (XLA's
Eigen pool single-threaded at T = 1); rounds interleave the contenders; the table gives the
median over rounds and the median per-round ratios of nnx's time to each (below 1 is nnx
faster).

Usage: .venv/bin/python bench/forward.py [--rounds 3] [--threads 1,2] [--nnxrun PATH]
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys

from common import env_for, pinned, seed_flax_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCHES = [1, 128]
MEDIAN_RE = re.compile(r"timing: run-median\s+([\d.]+) ms")


def worker_flax(batch, repeats):
  """Prints the median seconds of one jitted eval forward of the seed's Model."""
  import time
  import numpy as np
  import jax
  from flax import nnx

  model = seed_flax_model(784, 256, 10)
  model.eval()
  x = jax.numpy.asarray(np.random.default_rng(0).standard_normal((batch, 784), np.float32))
  graphdef, state = nnx.split(model)
  calls = {"nnx_jit": (nnx.jit(lambda m, x: m(x)), model),
           "jax_jit": (jax.jit(lambda s, x: nnx.merge(graphdef, s)(x)), state)}
  result = {}
  for name, (fn, first) in calls.items():
    fn(first, x).block_until_ready()
    times = []
    for _ in range(repeats):
      t = time.perf_counter()
      fn(first, x).block_until_ready()
      times.append(time.perf_counter() - t)
    result[name] = statistics.median(times)
  print(json.dumps(result))


def run_flax(batch, threads, repeats):
  cmd = pinned([sys.executable, os.path.abspath(__file__), "--worker", "--batch", str(batch),
                "--repeats", str(repeats)], threads)
  p = subprocess.run(cmd, env=env_for(threads), capture_output=True, text=True)
  if p.returncode != 0:
    return None, (p.stderr or p.stdout).strip()[-300:]
  return json.loads(p.stdout.strip().splitlines()[-1]), None


def run_nnx(opts, batch, threads, repeats):
  cmd = pinned([opts.nnxrun, "run", os.path.join(REPO, "examples/seed/basics.nnx"), "--model",
                "Model(784, 256, 10)", "--backend", "jit", "--input", f"x=randn({batch},784)",
                "--repeat", str(repeats), "--timings", "--threads", str(threads), "--json"],
               threads)
  p = subprocess.run(cmd, env=env_for(threads), capture_output=True, text=True, cwd=REPO)
  found = MEDIAN_RE.search(p.stderr)
  if p.returncode != 0 or not found:
    return None, (p.stderr or p.stdout).strip()[-300:]
  return float(found.group(1)) / 1e3, None


def main():
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
  ap.add_argument("--batch", type=int, default=1)
  ap.add_argument("--repeats", type=int, default=200)
  ap.add_argument("--rounds", type=int, default=3)
  ap.add_argument("--threads", default="1,2")
  ap.add_argument("--nnxrun", default=os.path.join(REPO, "build/bin/nnxrun"))
  opts = ap.parse_args()
  if opts.worker:
    return worker_flax(opts.batch, opts.repeats)
  for threads in [int(t) for t in opts.threads.split(",")]:
    if threads > (os.cpu_count() or 1):
      print(f"\n{threads} threads: skipped, this machine has {os.cpu_count()} CPUs")
      continue
    print(f"\nseed Model(784, 256, 10) eval forward, {threads} thread"
          f"{'s' if threads > 1 else ''}; µs per call, median of {opts.rounds} rounds")
    print(f"{'batch':>5} {'nnx':>9} {'nnx.jit':>9} {'jax.jit':>9} {'nnx/nnx.jit':>12} "
          f"{'nnx/jax.jit':>12}")
    for batch in BATCHES:
      secs = {"nnx": [], "nnx_jit": [], "jax_jit": []}
      ratios = {"nnx_jit": [], "jax_jit": []}
      for r in range(opts.rounds):
        order = ["nnx", "flax"] if r % 2 == 0 else ["flax", "nnx"]
        got = {}
        for c in order:
          s, err = (run_nnx(opts, batch, threads, opts.repeats) if c == "nnx"
                    else run_flax(batch, threads, opts.repeats))
          if s is None:
            print(f"  {c} failed at batch {batch}: {err}", file=sys.stderr)
            continue
          if c == "nnx":
            got["nnx"] = s
          else:
            got.update(s)
        for k in got:
          secs[k].append(got[k])
        for peer in ratios:
          if "nnx" in got and peer in got:
            ratios[peer].append(got["nnx"] / got[peer])
      med = lambda v: f"{statistics.median(v) * 1e6:.1f}" if v else "-"
      rat = lambda v: f"{statistics.median(v):.2f}x" if v else "-"
      print(f"{batch:>5} {med(secs['nnx']):>9} {med(secs['nnx_jit']):>9} "
            f"{med(secs['jax_jit']):>9} {rat(ratios['nnx_jit']):>12} "
            f"{rat(ratios['jax_jit']):>12}", flush=True)


if __name__ == "__main__":
  main()
