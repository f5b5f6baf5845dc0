#!/usr/bin/env python3
"""train_step.py — train-step time of the seed's Model(784, 256, 10): nnx vs Flax NNX vs PyTorch.

Measures one SGD (lr 0.1) train step of the seed guide's model — Linear(784, 256) -> Dropout(0.5)
-> relu -> Linear(256, 10), in train mode, mean softmax cross-entropy with integer labels — at
batch 1, 32 and 128, for three contenders run in the same invocation:

  nnx    `nnxrun train examples/seed/training.nnx --model 'Model(784, 256, 10)' --optimizer sgd`;
         its per-epoch steps/s line gives the step time, its "compiled the train step" line
         the compile time.
  Flax   the seed's own Flax NNX code verbatim (Block, Model, model.train(), the `@nnx.jit`
         train_step with nnx.grad, nnx.split, jax.tree.map and nnx.update); its first call
         (trace + XLA compile + one run) is timed on its own.
  torch  the same architecture in PyTorch (nn.Linear, nn.Dropout(0.5), relu, nn.Linear),
         train mode, torch.optim.SGD(lr=0.1), cross_entropy; Debian's python3-torch under
         /usr/bin/python3. Skipped (and said so) when torch is not importable.

Every contender runs in its own subprocess with --threads N threads, default one (nnxrun
--threads N, OMP/MKL/OPENBLAS_NUM_THREADS=N, torch.set_num_threads(N), and for N = 1 XLA_FLAGS
single-threaded Eigen), pinned to N CPUs with taskset, and with OPENBLAS_CORETYPE unset (it is
set to Haswell on these machines and halves BLAS speed) — except for PyTorch, which gets the
value its 512^3 sgemm runs fastest with (unset, SkylakeX or Haswell, probed first and printed):
Debian's OpenBLAS 0.3.21 misdetects Intel's AVX-512 cores when it is unset. `make bench` runs it at 1 and 2.
All contenders train on the same data: x f32 [N, 784] standard normal scaled by 1/sqrt(784)
(unscaled inputs make SGD at lr 0.1 diverge to NaN at batch 1 in every framework) and labels
i32 [N] in 0..9, written as .npy files to a temporary directory. Every step of every contender
includes gathering its batch rows from the data set in a per-pass shuffled order, as nnxrun's
step loop does.

A step time is the mean over an epoch of steps (each epoch lasts about --target-s seconds),
the median over the epochs after the first; the contenders are interleaved (the order rotates
each round) and repeated --rounds times; the table reports the median over rounds of each
contender's time and the median over rounds of the per-round ratios. Times on this shared
2-vCPU machine are noisy: read the ratios, not the absolute numbers.

Usage:
  .venv/bin/python bench/train_step.py            # full run (3 rounds), about 2-4 minutes
  .venv/bin/python bench/train_step.py --quick    # one short round, a sanity check
Options: --batches 1,32,128 --rounds N --epochs N --target-s S --cpu N (-1: no pinning)
         --nnxrun PATH --torch-python PATH --json FILE (also write the raw measurements).

Internally the script re-runs itself as a worker (`--worker flax|torch`) for the Python peers.
"""

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from common import env_for, pinned as pin_cpus

DIN, DMID, DOUT = 784, 256, 10
LR = 0.1
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# DESIGN §6: a batch-128 train step (156 MFLOP) takes ~0.4 ms at the FMA peak of this machine,
# i.e. the peak that figure assumes is 156 MFLOP / 0.4 ms ≈ 390 GFLOP/s (both vCPUs); nnx's
# target is within 1.5x of it. One thread peaks at about half of that.
DESIGN_TARGET_MS_AT_128 = 0.4
DESIGN_TARGET_SLACK = 1.5
DESIGN_COMPILE_TARGET_MS = 200.0
MAX_ROWS = 65536  # cap on the data set's rows (65536 x 784 f32 = 205 MB)
RESULT_TAG = "BENCH_RESULT "
CONTENDERS = ("nnx", "flax", "torch")
LABEL = {"nnx": "nnx", "flax": "Flax NNX", "torch": "PyTorch"}


def step_flops(batch):
  """FLOPs of one train step: forward 2·B·W, backward 4·B·W (W = weights of both Linears)."""
  return 6 * batch * (DIN * DMID + DMID * DOUT)


# ----------------------------------------------------------------------------------------------
# Workers (run in a subprocess; they import their framework only here).
# ----------------------------------------------------------------------------------------------

def _batches(np, n_rows, batch, seed):
  """Yields index arrays of `batch` rows, reshuffling the data set on every pass."""
  rng = np.random.default_rng(seed)
  per_pass = n_rows // batch
  while True:
    order = rng.permutation(n_rows)
    for i in range(per_pass):
      yield order[i * batch:(i + 1) * batch]


def _timed_epochs(np, step, gather, batch, n_rows, epochs, target_s):
  """First call, a short warm-up to size the epochs, then `epochs` timed epochs.

  `gather(idx)` returns the step's inputs; `step(inputs)` runs one train step and waits for
  its result. Returns a dict of the measurements (times in µs unless named _ms)."""
  it = _batches(np, n_rows, batch, seed=0)
  t0 = time.perf_counter()
  step(gather(next(it)))
  first_ms = (time.perf_counter() - t0) * 1e3
  warm = []
  for _ in range(10):
    t0 = time.perf_counter()
    step(gather(next(it)))
    warm.append(time.perf_counter() - t0)
  est = statistics.median(warm)
  steps = max(10, int(math.ceil(target_s / max(est, 1e-7))))
  epoch_us, gather_us, calls = [], [], []
  for _ in range(epochs):
    g_total, s_total, per_call = 0.0, 0.0, []
    for _ in range(steps):
      t0 = time.perf_counter()
      inputs = gather(next(it))
      t1 = time.perf_counter()
      step(inputs)
      t2 = time.perf_counter()
      g_total += t1 - t0
      s_total += t2 - t1
      per_call.append(t2 - t0)
    epoch_us.append((g_total + s_total) / steps * 1e6)
    gather_us.append(g_total / steps * 1e6)
    calls.extend(per_call)
  return {"first_call_ms": first_ms, "steps_per_epoch": steps, "epoch_step_us": epoch_us,
          "epoch_gather_us": gather_us,
          "call_median_us": statistics.median(calls[len(calls) // max(epochs, 1):]) * 1e6}


def worker_flax(args):
  """The seed's Flax NNX train step on the data set in args.data."""
  import warnings
  warnings.filterwarnings("ignore", category=DeprecationWarning)
  import numpy as np
  import jax
  import jax.numpy as jnp
  import optax
  import flax
  from flax import nnx

  # --- The seed guide's code, verbatim ("Basic Module definition": common.py; "Training
  # step" below). ---
  from common import seed_flax_model
  model = seed_flax_model(784, 256, 10)

  model.train() # Sets ``deterministic=False` under the hood for nnx.Dropout

  @nnx.jit
  def train_step(model, inputs, labels):
    def loss_fn(model):
      logits = model(inputs)
      return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

    grads = nnx.grad(loss_fn)(model)
    _, params, rest = nnx.split(model, nnx.Param, ...)
    params = jax.tree.map(lambda p, g: p - 0.1 * g, params, grads)
    nnx.update(model, nnx.merge_state(params, rest))
  # --- end of the seed's code ---

  X = np.load(os.path.join(args.data, "X.npy"))
  Y = np.load(os.path.join(args.data, "Y.npy"))

  def gather(idx):
    return X[idx], Y[idx]

  def step(inputs):
    train_step(model, *inputs)
    # All of the step's outputs come from one XLA execution: waiting on one waits on all.
    jax.block_until_ready(model.linear.bias[...])

  r = _timed_epochs(np, step, gather, args.batch, len(X), args.epochs, args.target_s)
  params = jax.tree.leaves(nnx.state(model, nnx.Param))
  r["finite"] = bool(all(bool(jnp.isfinite(p).all()) for p in params))
  r["versions"] = {"jax": jax.__version__, "flax": flax.__version__, "optax": optax.__version__}
  return r


def worker_torch(args):
  """The same model and SGD step in PyTorch (eager, train mode) on the data set in args.data."""
  import numpy as np
  import torch
  import torch.nn as nn
  import torch.nn.functional as F
  torch.set_num_threads(THREADS)
  torch.set_num_interop_threads(1)
  torch.manual_seed(0)

  class Block(nn.Module):
    def __init__(self, in_features, out_features):
      super().__init__()
      self.linear = nn.Linear(in_features, out_features)
      self.dropout = nn.Dropout(0.5)

    def forward(self, x):
      return torch.relu(self.dropout(self.linear(x)))

  class Model(nn.Module):
    def __init__(self, din, dmid, dout):
      super().__init__()
      self.block = Block(din, dmid)
      self.linear = nn.Linear(dmid, dout)

    def forward(self, x):
      return self.linear(self.block(x))

  model = Model(DIN, DMID, DOUT)
  model.train()
  opt = torch.optim.SGD(model.parameters(), lr=LR)
  X = np.load(os.path.join(args.data, "X.npy"))
  Y = np.load(os.path.join(args.data, "Y.npy")).astype(np.int64)  # cross_entropy wants int64
  last = {}

  def gather(idx):
    return torch.from_numpy(X[idx]), torch.from_numpy(Y[idx])

  def step(inputs):
    x, y = inputs
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    last["loss"] = loss

  r = _timed_epochs(np, step, gather, args.batch, len(X), args.epochs, args.target_s)
  r["finite"] = bool(math.isfinite(last["loss"].item()) and
                     all(bool(torch.isfinite(p).all()) for p in model.parameters()))
  r["versions"] = {"torch": torch.__version__, "threads": torch.get_num_threads(),
                   "torch BLAS": _loaded_blas()}
  return r


def _loaded_blas():
  """The BLAS library this process mapped (Debian's torch calls whatever libblas.so.3 is)."""
  try:
    with open("/proc/self/maps") as f:
      libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
  except OSError:
    return "unknown"
  names = sorted({os.path.basename(os.path.realpath(l)) for l in libs})
  return " + ".join(names) or "none"


# ----------------------------------------------------------------------------------------------
# Driver.
# ----------------------------------------------------------------------------------------------

# Threads every contender gets (--threads): nnx's --threads, torch.set_num_threads, XLA's
# Eigen pool (single-threaded only at 1), the BLAS/OpenMP variables; pinned to as many CPUs.
THREADS = 1


def bench_env():
  """The environment every contender runs in: THREADS threads, OPENBLAS_CORETYPE unset."""
  env = env_for(THREADS)
  env["NNX_BENCH_THREADS"] = str(THREADS)  # the workers' --threads default
  return env


def pinned(cmd, cpu):
  return pin_cpus(cmd, THREADS, cpu)


def write_data(directory, rows, seed):
  """The shared data set: x standard normal / sqrt(784), labels uniform in 0..9."""
  import numpy as np
  rng = np.random.default_rng(seed)
  os.makedirs(directory, exist_ok=True)
  x = rng.standard_normal((rows, DIN), dtype=np.float32) / np.float32(math.sqrt(DIN))
  np.save(os.path.join(directory, "X.npy"), x)
  np.save(os.path.join(directory, "Y.npy"), rng.integers(0, DOUT, rows).astype(np.int32))


EPOCH_RE = re.compile(r"^epoch (\d+)/(\d+)\s+loss (\S+).*\(([\d.]+) s, ([\d.]+) steps/s\)")
COMPILE_RE = re.compile(r"compiled the train step .* in ([\d.]+) ms")


def run_nnx(opts, data, batch, epochs):
  """One `nnxrun train` run, compiling cold into a fresh compile cache, then a one-step run
  that loads the step from that cache; returns both compile ms and the per-epoch step times."""
  def command(length):
    return pinned([opts.nnxrun, "train", os.path.join(REPO, "examples/seed/training.nnx"),
                   "--model", f"Model({DIN}, {DMID}, {DOUT})", "--loss", "loss_fn",
                   "--data", f"{data}/X.npy,{data}/Y.npy", "--optimizer", "sgd", "--lr", str(LR),
                   "--batch", str(batch), "--seed", "0", "--threads", str(THREADS)] + length,
                  opts.cpu)
  cache = tempfile.mkdtemp(prefix="nnx-bench-cache-")
  env = bench_env()
  env["XDG_CACHE_HOME"] = cache
  try:
    p = subprocess.run(command(["--epochs", str(epochs)]), env=env, cwd=REPO,
                       capture_output=True, text=True)
    q = subprocess.run(command(["--steps", "1"]), env=env, cwd=REPO, capture_output=True,
                       text=True)
    # --no-cache: the model and the GEMM kernels both compile (neither the user's cache nor
    # the kernels the build shipped beside the binary are read): a first run on a host the
    # build did not ship kernels for.
    other = command(["--steps", "1", "--no-cache"])
    o = subprocess.run(other, env=env, cwd=REPO, capture_output=True, text=True)
  finally:
    shutil.rmtree(cache, ignore_errors=True)
  cached = COMPILE_RE.search(q.stdout)
  uncached = COMPILE_RE.search(o.stdout)
  if p.returncode != 0:
    return {"error": f"nnxrun exited {p.returncode}: {(p.stderr or p.stdout).strip()[-400:]}"}
  compile_ms, epoch_us, losses = None, [], []
  for line in p.stdout.splitlines():
    m = COMPILE_RE.search(line)
    if m:
      compile_ms = float(m.group(1))
    m = EPOCH_RE.search(line)
    if m:
      losses.append(float(m.group(3)))
      epoch_us.append(1e6 / float(m.group(5)))
  if compile_ms is None or len(epoch_us) != epochs:
    return {"error": "could not parse nnxrun's output:\n" + p.stdout[-400:]}
  return {"compile_ms": compile_ms, "epoch_step_us": epoch_us,
          "cached_compile_ms": float(cached.group(1)) if cached else None,
          "no_cache_compile_ms": float(uncached.group(1)) if uncached else None,
          "finite": all(math.isfinite(l) for l in losses)}


def run_worker(opts, which, data, batch):
  """One Flax or torch worker subprocess; returns its result dict."""
  python = sys.executable if which == "flax" else opts.torch_python
  cmd = pinned([python, os.path.abspath(__file__), "--worker", which, "--data", data,
                "--batch", str(batch), "--epochs", str(opts.epochs),
                "--target-s", str(opts.target_s)], opts.cpu)
  env = bench_env()
  if which == "torch" and getattr(opts, "torch_coretype", None):
    env["OPENBLAS_CORETYPE"] = opts.torch_coretype
  p = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
  for line in reversed(p.stdout.splitlines()):
    if line.startswith(RESULT_TAG):
      return json.loads(line[len(RESULT_TAG):])
  return {"error": f"{which} worker exited {p.returncode}: {(p.stderr or p.stdout).strip()[-600:]}"}


def steady_us(result):
  """The step time of a run: the median over its epochs after the first."""
  e = result["epoch_step_us"]
  return statistics.median(e[1:] if len(e) > 1 else e)


# OPENBLAS_CORETYPE values tried for PyTorch (None: unset, OpenBLAS detects the core).
CORETYPES = (None, "SkylakeX", "Haswell")

TORCH_SGEMM_PROBE = """\
import time, torch
torch.set_num_threads({threads})
a, b = torch.randn(512, 512), torch.randn(512, 512)
for _ in range(3):
  a @ b
n, t = 0, time.perf_counter()
while time.perf_counter() - t < 0.3:
  a @ b
  n += 1
print(2 * 512 ** 3 * n / (time.perf_counter() - t) / 1e9)
"""


def torch_coretype(opts):
  """PyTorch's best configuration: the OPENBLAS_CORETYPE (None: unset) under which its 512^3
  sgemm runs fastest here, and the GFLOP/s of each. Debian's OpenBLAS 0.3.21, behind its
  python3-torch, misdetects Intel's AVX-512 cores when the variable is unset (~32 GFLOP/s
  instead of ~150 with SkylakeX); on the AMD machines unset is right (issue 9)."""
  rates = {}
  for coretype in CORETYPES:
    env = bench_env()
    if coretype:
      env["OPENBLAS_CORETYPE"] = coretype
    p = subprocess.run(pinned([opts.torch_python, "-c", TORCH_SGEMM_PROBE.format(threads=THREADS)],
                              opts.cpu), env=env, capture_output=True, text=True)
    try:
      rates[coretype] = float(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
      pass
  best = max(rates, key=rates.get) if rates else None
  return best, rates


def torch_status(opts):
  """None when torch imports under --torch-python, else why not."""
  if not shutil.which(opts.torch_python) and not os.path.exists(opts.torch_python):
    return f"{opts.torch_python} not found"
  p = subprocess.run([opts.torch_python, "-c", "import torch"], env=bench_env(),
                     capture_output=True, text=True)
  if p.returncode != 0:
    tail = (p.stderr.strip().splitlines() or ["?"])[-1]
    return f"torch not importable by {opts.torch_python} ({tail}); apt-get install python3-torch"
  return None


def fmt(v, spec):
  return "—" if v is None else format(v, spec)


def med(xs):
  xs = [x for x in xs if x is not None]
  return statistics.median(xs) if xs else None


def spread(xs):
  xs = [x for x in xs if x is not None]
  if len(xs) < 2:
    return ""
  m = statistics.median(xs)
  return f"±{(max(xs) - min(xs)) / 2 / m * 100:.0f}%"


def main():
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("--quick", action="store_true", help="one short round (sanity check)")
  ap.add_argument("--batches", default="1,32,128")
  ap.add_argument("--rounds", type=int, default=None, help="default 3 (1 with --quick)")
  ap.add_argument("--epochs", type=int, default=None, help="epochs per run, the first is "
                  "discarded (default 5, 3 with --quick)")
  ap.add_argument("--target-s", type=float, default=None,
                  help="seconds per epoch (default 0.5, 0.15 with --quick)")
  ap.add_argument("--cpu", type=int, default=0,
                  help="first CPU to pin every contender to (as many as --threads); -1: none")
  ap.add_argument("--threads", type=int, default=int(os.environ.get("NNX_BENCH_THREADS", "1")),
                  help="threads of every contender (default 1)")
  ap.add_argument("--nnxrun", default=os.path.join(REPO, "build/bin/nnxrun"))
  ap.add_argument("--torch-python", default="/usr/bin/python3")
  ap.add_argument("--json", default=None, help="also write the raw measurements here")
  ap.add_argument("--worker", choices=["flax", "torch"], help=argparse.SUPPRESS)
  ap.add_argument("--data", help=argparse.SUPPRESS)
  ap.add_argument("--batch", type=int, help=argparse.SUPPRESS)
  opts = ap.parse_args()
  global THREADS
  THREADS = max(1, opts.threads)
  if opts.rounds is None:
    opts.rounds = 1 if opts.quick else 3
  if opts.epochs is None:
    opts.epochs = 3 if opts.quick else 5
  if opts.target_s is None:
    opts.target_s = 0.15 if opts.quick else 0.5
  opts.epochs = max(2, opts.epochs)

  if opts.worker:
    fn = worker_flax if opts.worker == "flax" else worker_torch
    print(RESULT_TAG + json.dumps(fn(opts)), flush=True)
    return 0

  batches = [int(b) for b in opts.batches.split(",")]
  opts.nnxrun = os.path.abspath(opts.nnxrun)
  if not os.access(opts.nnxrun, os.X_OK):
    print(f"train_step.py: {opts.nnxrun} is not built (make build)", file=sys.stderr)
    return 1
  no_torch = torch_status(opts)
  contenders = [c for c in CONTENDERS if not (c == "torch" and no_torch)]
  if THREADS > (os.cpu_count() or 1):
    print(f"train_step.py: {THREADS} threads asked, this machine has {os.cpu_count()} CPUs")
    return 0
  pin = (f"pinned to CPU {opts.cpu}..{opts.cpu + THREADS - 1} (taskset)"
         if opts.cpu >= 0 and shutil.which("taskset") else "not pinned")
  print(f"train step of Model({DIN}, {DMID}, {DOUT}), SGD lr {LR}, train mode (dropout on); "
        f"{THREADS} thread{'s' if THREADS > 1 else ''} each, {pin}, OPENBLAS_CORETYPE unset "
        f"(PyTorch: see below)")
  print(f"{opts.rounds} round(s) x {opts.epochs} epochs of ~{opts.target_s} s; step time = "
        f"median over epochs >= 2 of the epoch's mean; table = median over rounds")
  if no_torch:
    print(f"PyTorch: skipped — {no_torch}")
  else:
    opts.torch_coretype, rates = torch_coretype(opts)
    tried = ", ".join(f"{c or 'unset'} {r:.0f}" for c, r in rates.items())
    print(f"PyTorch: OPENBLAS_CORETYPE={opts.torch_coretype or '(unset)'}, its fastest 512^3 "
          f"sgemm here (GFLOP/s: {tried})")
  sys.stdout.flush()

  tmp = tempfile.mkdtemp(prefix="nnx-bench-")
  try:
    # Size the data set per batch so that one nnx epoch lasts about --target-s: a short
    # calibration run of nnxrun (also warms the page cache and the binary).
    data, steps_nnx = {}, {}
    for b in batches:
      d = os.path.join(tmp, f"b{b}")
      calib_steps = max(20, min(400, 4000 // b))
      write_data(d, b * calib_steps, seed=b)
      r = run_nnx(opts, d, b, 2)
      if "error" in r:
        print(f"nnx calibration at batch {b} failed: {r['error']}", file=sys.stderr)
        return 1
      per_step = r["epoch_step_us"][-1] * 1e-6
      steps = max(calib_steps, int(math.ceil(opts.target_s / per_step)))
      steps = min(steps, max(1, MAX_ROWS // b))
      write_data(d, b * steps, seed=b)
      data[b], steps_nnx[b] = d, steps

    results = {c: {b: [] for b in batches} for c in contenders}
    runs = 0
    for rnd in range(opts.rounds):
      for bi, b in enumerate(batches):
        k = (rnd + bi) % len(contenders)
        order = contenders[k:] + contenders[:k]
        for c in order:
          t0 = time.perf_counter()
          r = (run_nnx(opts, data[b], b, opts.epochs) if c == "nnx"
               else run_worker(opts, c, data[b], b))
          r["wall_s"] = time.perf_counter() - t0
          results[c][b].append(r)
          runs += 1
          status = r.get("error", "").splitlines()[0] if "error" in r else \
              f"{steady_us(r):9.1f} µs/step"
          print(f"  round {rnd + 1}/{opts.rounds}  batch {b:4d}  {LABEL[c]:8s} {status}",
                flush=True)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)

  report(opts, batches, contenders, results, steps_nnx, no_torch)
  if opts.json:
    with open(opts.json, "w") as f:
      json.dump({"batches": batches, "steps_per_epoch_nnx": steps_nnx,
                 "results": {c: {str(b): v for b, v in rs.items()} for c, rs in results.items()}},
                f, indent=1)
  return 0


def report(opts, batches, contenders, results, steps_nnx, no_torch):
  """Prints the tables: step times and ratios, compile times, FLOP rates."""
  def times(c, b):
    if c not in results:
      return []
    return [None if "error" in r else steady_us(r) for r in results[c][b]]

  def ratios(c1, c2, b):
    t1, t2 = times(c1, b), times(c2, b)
    return [x / y for x, y in zip(t1, t2) if x is not None and y is not None]

  has_torch = "torch" in contenders
  na = "n/a" if has_torch else "no torch"
  print()
  print("Train step, µs per step (median over rounds, ± half the range over rounds); "
        "ratio < 1: nnx is faster")
  hdr = (f"{'batch':>5} | {'nnx µs/step':>16} | {'Flax µs/step':>16} | {'torch µs/step':>16} | "
         f"{'nnx/Flax':>8} | {'nnx/torch':>9}")
  print(hdr)
  print("-" * len(hdr))
  for b in batches:
    cells = []
    for c in CONTENDERS:
      ts = times(c, b)
      m = med(ts)
      cells.append(f"{fmt(m, '.1f')} {spread(ts):>5}" if m is not None else
                   (na if c == "torch" else "failed"))
    rf, rt = med(ratios("nnx", "flax", b)), med(ratios("nnx", "torch", b))
    print(f"{b:>5} | {cells[0]:>16} | {cells[1]:>16} | {cells[2]:>16} | "
          f"{fmt(rf, '.2f'):>8} | {(fmt(rt, '.2f') if has_torch else na):>9}")

  print()
  print("Compile: nnx's train-step compile (trace + lower + LLVM, before the first step): cold "
        "(an empty compile cache: the model compiles, the GEMM kernels are the ones the build "
        "shipped), --no-cache (the kernels compile too), and the same model from the cache; vs JAX's first call of the @nnx.jit step "
        "(trace + XLA compile + one step); torch (eager) first step for reference")
  hdr = (f"{'batch':>5} | {'nnx cold ms':>11} | {'nnx --no-cache ms':>17} | "
         f"{'nnx cached ms':>13} | {'JAX first call ms':>17} | {'nnx/JAX':>7} | "
         f"{'torch 1st step ms':>17}")
  print(hdr)
  print("-" * len(hdr))
  for b in batches:
    nc = [r.get("compile_ms") for r in results["nnx"][b]]
    jc = [r.get("first_call_ms") for r in results.get("flax", {}).get(b, [])]
    tc = [r.get("first_call_ms") for r in results.get("torch", {}).get(b, [])]
    rr = [x / y for x, y in zip(nc, jc) if x is not None and y is not None]
    cc = [r.get("cached_compile_ms") for r in results["nnx"][b]]
    wc = [r.get("no_cache_compile_ms") for r in results["nnx"][b]]
    print(f"{b:>5} | {fmt(med(nc), '.0f'):>11} | {fmt(med(wc), '.0f'):>17} | "
          f"{fmt(med(cc), '.0f'):>13} | {fmt(med(jc), '.0f'):>17} | "
          f"{fmt(med(rr), '.2f'):>7} | {(fmt(med(tc), '.1f') if has_torch else na):>17}")

  print()
  print(f"FLOP rate: a step is 6·B·({DIN}·{DMID} + {DMID}·{DOUT}) FLOPs. 'x peak' = step time / "
        f"the time at {step_flops(128) / DESIGN_TARGET_MS_AT_128 / 1e6:.0f} GFLOP/s, the peak "
        f"behind DESIGN's {DESIGN_TARGET_MS_AT_128} ms at batch 128 (2 vCPUs; 1 thread peaks "
        f"at about half, so ~2x is the 1-thread floor)")
  peak = step_flops(128) / (DESIGN_TARGET_MS_AT_128 * 1e-3)
  hdr = (f"{'batch':>5} | {'MFLOP':>6} | {'nnx GFLOP/s':>11} | {'Flax GFLOP/s':>12} | "
         f"{'torch GFLOP/s':>13} | {'nnx x peak':>10} | {'Flax x peak':>11} | "
         f"{'torch x peak':>12}")
  print(hdr)
  print("-" * len(hdr))
  for b in batches:
    f = step_flops(b)
    rates, xs = [], []
    for c in CONTENDERS:
      m = med(times(c, b))
      rates.append(None if m is None else f / (m * 1e-6) / 1e9)
      xs.append(None if m is None else (m * 1e-6) / (f / peak))
    print(f"{b:>5} | {f / 1e6:6.2f} | {fmt(rates[0], '.1f'):>11} | {fmt(rates[1], '.1f'):>12} | "
          f"{fmt(rates[2], '.1f'):>13} | {fmt(xs[0], '.1f'):>10} | {fmt(xs[1], '.1f'):>11} | "
          f"{fmt(xs[2], '.1f'):>12}")
  if 128 in batches and med(times("nnx", 128)) is not None:
    t = med(times("nnx", 128)) / 1e3
    nc = med([r.get("compile_ms") for r in results["nnx"][128]])
    print(f"DESIGN target at batch 128: step <= {DESIGN_TARGET_SLACK} x "
          f"{DESIGN_TARGET_MS_AT_128} ms = {DESIGN_TARGET_SLACK * DESIGN_TARGET_MS_AT_128:.2f} ms"
          f", compile < {DESIGN_COMPILE_TARGET_MS:.0f} ms; nnx: {t:.2f} ms "
          f"({t / DESIGN_TARGET_MS_AT_128:.1f} x 0.4 ms), compile {fmt(nc, '.0f')} ms")

  print()
  print("Details (per contender and batch: the step time of each round; steps per epoch; "
        "Flax/torch: the part of the step spent gathering the batch rows, the median single "
        "call (gather + step); wall time of one run including start-up)")
  for b in batches:
    for c in contenders:
      rs = [r for r in results[c][b] if "error" not in r]
      errs = [r["error"] for r in results[c][b] if "error" in r]
      if not rs:
        print(f"  batch {b:4d} {LABEL[c]:8s} failed: {errs[0] if errs else '?'}")
        continue
      per_round = " ".join(f"{steady_us(r):.1f}" for r in rs)
      line = f"  batch {b:4d} {LABEL[c]:8s} rounds [{per_round}] µs"
      if c == "nnx":
        line += f"; {steps_nnx[b]} steps/epoch"
      else:
        g = med([statistics.median(r["epoch_gather_us"][1:]) for r in rs])
        line += (f"; {med([r['steps_per_epoch'] for r in rs]):.0f} steps/epoch, gather "
                 f"{g:.1f} µs/step, median call {med([r['call_median_us'] for r in rs]):.1f} µs")
      line += f"; run {med([r['wall_s'] for r in rs]):.1f} s"
      if not all(r.get("finite", True) for r in rs):
        line += "; WARNING: loss/params not finite"
      if errs:
        line += f"; {len(errs)} run(s) failed: {errs[0].splitlines()[0]}"
      print(line)
  vers = {}
  for c in ("flax", "torch"):
    for r in (x for b in batches for x in results.get(c, {}).get(b, [])):
      vers.update(r.get("versions", {}))
  if vers:
    print("  versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()))
  if no_torch:
    print(f"  PyTorch: {no_torch}")
  blas = vers.get("torch BLAS", "")
  if blas and "openblas" not in blas.lower():
    print("  WARNING: torch runs on the reference BLAS (libblas3), ~10x slower than OpenBLAS: "
          "apt-get install libopenblas0 (make bench does)")


if __name__ == "__main__":
  sys.exit(main())
