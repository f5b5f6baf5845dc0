"""Flax NNX oracle for the seed guide: the same weights and inputs in nnx and in Flax.

The Python classes below are the seed's own code ("Linen to NNX", §1 and §5), verbatim. For each
model, nnxrun creates the weights (`params --save`), runs the method on an input, and Flax NNX
runs the same method with those weights loaded into the seed's model: the outputs must agree to
a relative error of 1e-4. Eval mode (dropout off, as `model.eval()`). Also checks that Flax's
Param tree has exactly nnx's paths and shapes. Prints "N passed, M failed".
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import numpy as np  # noqa: E402
from nnxio import read_safetensors, rel_error, run, run_checks  # noqa: E402

os.environ.setdefault("JAX_PLATFORMS", "cpu")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from flax import nnx  # noqa: E402


# ---- the seed's code, verbatim ---------------------------------------------------------------
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

class AutoEncoder(nnx.Module):
  def __init__(self, in_dim: int, embed_dim: int, output_dim: int, rngs):
    self.encoder = nnx.Linear(in_dim, embed_dim, rngs=rngs)
    self.decoder = nnx.Linear(embed_dim, output_dim, rngs=rngs)

  def encode(self, x):
    return self.encoder(x)

  def decode(self, x):
    return self.decoder(x)

  def __call__(self, x):
    x = self.encode(x)
    x = self.decode(x)
    return x
# -----------------------------------------------------------------------------------------------


def param_tree(model):
    """{dotted path: Param variable} of a Flax NNX model."""
    return {".".join(map(str, path)): node for path, node in nnx.iter_graph(model)
            if isinstance(node, nnx.Param)}


def load_params(model, weights):
    """Overwrites every Param of `model` with the tensor of the same path."""
    for path, var in param_tree(model).items():
        var.set_value(jnp.asarray(weights[path]))


# (nnx file, nnx model, Flax constructor, method, input shape)
CASES = [
    ("seed/basics.nnx", "Model(784, 256, 10)", lambda: Model(784, 256, 10, rngs=nnx.Rngs(0)),
     "__call__", (5, 784)),
    ("seed/basics.nnx", "Block(784, 256)", lambda: Block(784, 256, rngs=nnx.Rngs(0)),
     "__call__", (3, 784)),
    ("seed/autoencoder.nnx", "AutoEncoder(784, 256, 784)",
     lambda: AutoEncoder(784, 256, 784, rngs=nnx.Rngs(0)), "encode", (1, 784)),
    ("seed/autoencoder.nnx", "AutoEncoder(784, 256, 784)",
     lambda: AutoEncoder(784, 256, 784, rngs=nnx.Rngs(0)), "decode", (2, 256)),
    ("seed/autoencoder.nnx", "AutoEncoder(784, 256, 784)",
     lambda: AutoEncoder(784, 256, 784, rngs=nnx.Rngs(0)), "__call__", (2, 784)),
]


def run_case(nnxrun, examples, tmp, case, backend):
    path, expr, make, method, shape = case
    src = os.path.join(examples, path)
    weights_file = os.path.join(tmp, "w.safetensors")
    x_file, y_file = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
    run([nnxrun, "params", src, "--model", expr, "--seed", "3", "--save", weights_file])
    x = np.random.default_rng(11).standard_normal(shape).astype(np.float32)
    np.save(x_file, x)
    run([nnxrun, "run", src, "--model", expr, "--method", method, "--load", weights_file,
         "--input", f"x={x_file}", "--output", y_file, "--backend", backend])
    ours = np.load(y_file)

    weights = read_safetensors(weights_file)
    model = make()
    flax_params = param_tree(model)
    ours_params = {k: v for k, v in weights.items() if k in flax_params}
    if set(flax_params) != set(ours_params):
        return f"param paths differ: flax {sorted(flax_params)} vs nnx {sorted(weights)}"
    for k, var in flax_params.items():
        if tuple(var.get_value().shape) != weights[k].shape:
            return f"`{k}` has shape {weights[k].shape} in nnx but {var.get_value().shape} in flax"
    load_params(model, weights)
    model.eval()
    reference = np.asarray(getattr(model, method)(jnp.asarray(x)))
    err = rel_error(ours, reference)
    return None if err <= 1e-4 else f"outputs differ: relative error {err:.3g}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxrun", required=True)
    ap.add_argument("--examples", required=True)
    args = ap.parse_args()
    return run_checks([(f"{c[1]}.{c[3]} [{backend}] vs flax",
                        lambda tmp, c=c, b=backend: run_case(args.nnxrun, args.examples, tmp, c, b))
                       for c in CASES for backend in ("interp", "jit")])


if __name__ == "__main__":
    sys.exit(main())
