"""common.py — what the benchmarks share: thread environments, CPU pinning, the seed's model.

Imported by gemm.py and forward.py (and by train_step.py for the seed's Flax model), which run
as scripts from this directory.
"""

import os
import shutil


def env_for(threads):
  """The environment of a contender with `threads` threads: OMP/OPENBLAS thread counts, JAX on
  the CPU, XLA's Eigen pool single-threaded at one thread, OPENBLAS_CORETYPE unset (numpy's
  wheel detects the core; DESIGN §6)."""
  env = dict(os.environ)
  env.pop("OPENBLAS_CORETYPE", None)
  n = str(threads)
  env.update({"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n,
              "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"})
  env.pop("XLA_FLAGS", None)
  if threads == 1:
    env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
  return env


def pinned(cmd, threads, first_cpu=0):
  """`cmd` under taskset on CPUs first_cpu .. first_cpu + threads - 1, when that is possible."""
  if first_cpu >= 0 and shutil.which("taskset") and (os.cpu_count() or 1) >= first_cpu + threads:
    cpus = ",".join(str(first_cpu + c) for c in range(threads))
    return ["taskset", "-c", cpus] + cmd
  return cmd


def seed_flax_model(din, dmid, dout, seed=0):
  """The seed guide's Model, its Flax NNX code verbatim ("Basic Module definition")."""
  import jax
  from flax import nnx

  class Block(nnx.Module):
    def __init__(self, in_features: int , out_features: int, rngs: nnx.Rngs):
      self.linear = nnx.Linear(in_features, out_features, rngs=rngs)
      self.dropout = nnx.Dropout(0.5, rngs=rngs)

    def __call__(self, x):
      x = self.linear(x)
      x = self.dropout(x)
      x = jax.nn.relu(x)
      return x

  class Model(nnx.Module):
    def __init__(self, din: int, dmid: int, dout: int, rngs: nnx.Rngs):
      self.block = Block(din, dmid, rngs=rngs)
      self.linear = nnx.Linear(dmid, dout, rngs=rngs)

    def __call__(self, x):
      x = self.block(x)
      x = self.linear(x)
      return x

  return Model(din, dmid, dout, rngs=nnx.Rngs(seed))
