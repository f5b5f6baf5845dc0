#!/usr/bin/env python3
"""compile_scaling.py — nnx's parse and JIT-lowering time against program size.

Issue 13 found two ways a program's size made compile time explode: 10,000 nested parentheses
took 25 s to parse (two grammar alternatives for `(`, decided by scanning to the closing
parenthesis at every level), and a chain of 2,000 elementwise statements took 9 s to lower
(4,000: 37 s) because elementwise fusion copied the ever-growing fused body at each step. This
prints the curves, so that a quadratic stage shows as a per-unit time that grows:

  1. a method of N statements `y = y * 1.0001 + 0.5` (2N elementwise ops), N = 500 .. 8000:
     parse, trace, jit-lower and jit-llvm (nnxrun run --backend jit --no-cache --timings), and
     each stage's time per statement;
  2. a file of 200 expressions nested D parentheses deep, D = 32 .. 256 (the nesting limit),
     and a file of N one-line functions: parse time per unit (one level of one expression, one
     function) above the smallest size (nnxrun check, wall time).

Each figure is the median of --reps runs, one thread, pinned to CPU 0 when taskset exists.
Read the per-unit columns: flat is linear.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import env_for, pinned  # noqa: E402


def chain_source(n):
  body = "\n".join("    y = y * 1.0001 + 0.5" for _ in range(n))
  return f"module M() {{\n  fn __call__(x: f32[8]) {{\n    y = x\n{body}\n    return y\n  }}\n}}\n"


def timings(nnxrun, path, reps):
  """Median of each --timings stage over `reps` runs of the chain model on the JIT."""
  stages = {}
  for _ in range(reps):
    out = subprocess.run(pinned([nnxrun, "run", path, "--model", "M()", "--input", "x=ones(8)",
                                 "--backend", "jit", "--no-cache", "--timings"], 1),
                         capture_output=True, text=True, env=env_for(1), check=True)
    for line in out.stdout.splitlines() + out.stderr.splitlines():
      if line.startswith("timing:"):
        _, stage, ms, _unit = line.split()
        stages.setdefault(stage, []).append(float(ms))
  return {k: statistics.median(v) for k, v in stages.items()}


def wall(cmd, reps):
  times = []
  for _ in range(reps):
    start = time.perf_counter()
    subprocess.run(pinned(cmd, 1), capture_output=True, env=env_for(1))
    times.append(time.perf_counter() - start)
  return statistics.median(times) * 1e3


def main():
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("--nnxrun", required=True)
  ap.add_argument("--reps", type=int, default=3)
  ap.add_argument("--sizes", default="500,1000,2000,4000,8000")
  args = ap.parse_args()
  tmp = tempfile.mkdtemp(prefix="nnx-scaling-")

  print("Elementwise chain of N statements, JIT (ms; per statement in us)")
  print(f"{'N':>6} {'parse':>9} {'trace':>9} {'jit-lower':>10} {'jit-llvm':>9} "
        f"{'lower/stmt':>11} {'llvm/stmt':>10}")
  for n in [int(s) for s in args.sizes.split(",")]:
    path = os.path.join(tmp, f"chain{n}.nnx")
    with open(path, "w") as f:
      f.write(chain_source(n))
    t = timings(args.nnxrun, path, args.reps)
    print(f"{n:>6} {t['parse']:>9.1f} {t['trace']:>9.1f} {t['jit-lower']:>10.1f} "
          f"{t['jit-llvm']:>9.1f} {1e3 * t['jit-lower'] / n:>11.1f} "
          f"{1e3 * t['jit-llvm'] / n:>10.1f}")

  print("\nParsing (nnxrun check, wall ms incl. start-up; per unit in us above a 32-unit base)")
  print(f"{'what':>28} {'ms':>9} {'per unit':>9}")
  for kind, sizes, make in [
      ("200 x nested parens, depth", [32, 64, 128, 256],
       lambda d: "".join(f"fn f{i}(x) = " + "(" * d + "x" + ")" * d + "\n"
                         for i in range(200))),
      ("one-line functions, count", [32, 1000, 4000, 16000],
       lambda n: "".join(f"fn f{i}(x) = x * {i} + 1\n" for i in range(n)))]:
    base = None
    for size in sizes:
      path = os.path.join(tmp, f"parse{size}.nnx")
      with open(path, "w") as f:
        f.write(make(size))
      ms = wall([args.nnxrun, "check", path], args.reps)
      base = base if base is not None else ms
      units = (size - sizes[0]) * (200 if "parens" in kind else 1)
      per = "" if size == sizes[0] else f"{1e3 * (ms - base) / units:9.1f}"
      print(f"{kind + ' ' + str(size):>28} {ms:>9.1f} {per:>9}")


if __name__ == "__main__":
  main()
