"""Flax NNX / JAX oracle for the transforms: scan (the seed's §6 RNN and §7 scan-over-layers MLP)
and vmap (the function form, and over a stacked module).

The Python RNNCell/RNN and Block/MLP below are the seed's own code ("Linen to NNX", §6 and §7),
verbatim (the seed's `forward` carries only @nnx.scan; later versions of the guide add
@nnx.split_rngs(splits=self.num_layers) there, which fails in flax 0.12.8). For each model nnxrun creates the weights
(`params --seed 3 --save`) from the example's own file (--examples seed/rnn.nnx,
seed/scan_layers.nnx); Flax's Param tree must have exactly nnx's Param paths and shapes
(`params --json --filter Param`); the weights are loaded into Flax and
  * the outputs of nnxrun run on the example file agree with Flax's on the same random input
    (RNN: __call__ and `short`; MLP: __call__ and `short`, eval mode) to a relative error of 1e-4;
  * every gradient of nnxrun grad with transforms.nnx's loss `mean(model(x) ** 2)` (the file
    imports the examples) agrees with nnx.grad, as does the loss.
The vmap cases (transforms.nnx: VmapNet, Ensemble) apply per-example work that is not the
batched application of the same function (a sum over one example times the example):
  * `vmap(f, in_axes=(0|1, None), out_axes=0|1)(x, linear)` against jax.vmap with the same
    in_axes/out_axes and the same weights;
  * `vmap(g, in_axes=(0, None|0), out_axes=0|1)(members, x)` over a `vmap(3) Linear(4, 4)`
    member against a Python loop over the stacked slices;
  * nnxrun grad through vmap against jax.grad (nnx.grad) of the same function.
Both nnx backends are checked. Prints one line per check and "N passed, M failed";
--verbose also prints each check's worst relative error to stderr.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import numpy as np  # noqa: E402
from nnxio import read_safetensors, rel_error, run, run_checks, write_safetensors  # noqa: E402

os.environ.setdefault("JAX_PLATFORMS", "cpu")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from flax import nnx  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from seed_oracle import load_params, param_tree  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NNX_FILE = os.path.join(HERE, "transforms.nnx")
TOL = 1e-4
VERBOSE = False


# ---- the seed's code, verbatim (§6) ------------------------------------------------------------
class RNNCell(nnx.Module):
  def __init__(self, input_size, hidden_size, rngs):
    self.linear = nnx.Linear(hidden_size + input_size, hidden_size, rngs=rngs)
    self.hidden_size = hidden_size

  def __call__(self, carry, x):
    x = jnp.concatenate([carry, x], axis=-1)
    x = self.linear(x)
    x = jax.nn.relu(x)
    return x, x

  def initial_state(self, batch_size: int):
    return jnp.zeros((batch_size, self.hidden_size))

class RNN(nnx.Module):
  def __init__(self, input_size: int, hidden_size: int, rngs: nnx.Rngs):
    self.hidden_size = hidden_size
    self.cell = RNNCell(input_size, self.hidden_size, rngs=rngs)

  def __call__(self, x):
    scan_fn = lambda carry, cell, x: cell(carry, x)
    carry = self.cell.initial_state(x.shape[0])
    carry, y = nnx.scan(
      scan_fn, in_axes=(nnx.Carry, None, 1), out_axes=(nnx.Carry, 1)
    )(carry, self.cell, x)

    return y
# ---- the seed's code, verbatim (§7) -----------------------------------------------------------
class Block(nnx.Module):
  def __init__(self, input_dim, features, rngs):
    self.linear = nnx.Linear(input_dim, features, rngs=rngs)
    self.dropout = nnx.Dropout(0.5, rngs=rngs)

  def __call__(self, x: jax.Array):  # No need to require a second input!
    x = self.linear(x)
    x = self.dropout(x)
    x = jax.nn.relu(x)
    return x   # No need to return a second output!

class MLP(nnx.Module):
  def __init__(self, features, num_layers, rngs):
    @nnx.split_rngs(splits=num_layers)
    @nnx.vmap(in_axes=(0,), out_axes=0)
    def create_block(rngs: nnx.Rngs):
      return Block(features, features, rngs=rngs)

    self.blocks = create_block(rngs)
    self.num_layers = num_layers

  def __call__(self, x):
    @nnx.scan(in_axes=(nnx.Carry, 0), out_axes=nnx.Carry)
    def forward(x, model):
      x = model(x)
      return x

    return forward(x, self.blocks)
# -----------------------------------------------------------------------------------------------


# ---- Flax counterparts of transforms.nnx's VmapNet and Ensemble ---------------------------------
class VmapNet(nnx.Module):
  def __init__(self, d, rngs):
    self.linear = nnx.Linear(d, d, rngs=rngs)


class Ensemble(nnx.Module):
  def __init__(self, d, n, rngs):
    @nnx.split_rngs(splits=n)
    @nnx.vmap(in_axes=(0,), out_axes=0)
    def create(rngs):
      return nnx.Linear(d, d, rngs=rngs)

    self.members = create(rngs)


def per_example(x, lin):
    """transforms.nnx's per_example(x, lin) = sum(lin(x) ** 2) * x (x: one example)."""
    return jnp.sum(lin(x) ** 2) * x


def vmapnet_apply(model, x, in_axes, out_axes):
    return jax.vmap(lambda e: per_example(e, model.linear), in_axes=in_axes,
                    out_axes=out_axes)(x)


def ensemble_apply(model, x, x_axis, out_axis):
    """A Python loop over the stacked slices: member i is Linear(kernel[i], bias[i]); it gets
    x (x_axis None) or x[i] (x_axis 0); the results are stacked on out_axis."""
    kernel, bias = model.members.kernel.get_value(), model.members.bias.get_value()
    ys = []
    for i in range(kernel.shape[0]):
        xi = x if x_axis is None else x[i]
        ys.append(jnp.sum((xi @ kernel[i] + bias[i]) ** 2) * xi)
    return jnp.stack(ys, axis=out_axis)


def mean_square(y):
    return jnp.mean(y ** 2)


# (nnx model, Flax constructor, {nnx method: (input shape, Flax reference(model, x))},
#  [(loss in transforms.nnx, input shape, Flax loss(model, x))], nnx mode, randomise biases,
#  the file the model is run from: an example under --examples, or None for transforms.nnx)
def _vm(i, o):
    return lambda m, x: vmapnet_apply(m, x, i, o)


def _ens(i, o):
    return lambda m, x: ensemble_apply(m, x, i, o)


MODELS = [
    ("RNN(32, 64)", lambda: RNN(32, 64, rngs=nnx.Rngs(0)),
     {"__call__": ((3, 12, 32), lambda m, x: m(x)),
      "short": ((3, 12, 32), lambda m, x: m(x))},
     [("mean_square", (3, 12, 32), lambda m, x: mean_square(m(x)))], "train", False,
     "seed/rnn.nnx"),
    ("MLP(64, num_layers=5)", lambda: MLP(64, num_layers=5, rngs=nnx.Rngs(0)),
     {"__call__": ((4, 64), lambda m, x: m(x)),
      "short": ((4, 64), lambda m, x: m(x))},
     [("mean_square", (4, 64), lambda m, x: mean_square(m(x)))], "eval", False,
     "seed/scan_layers.nnx"),
    ("VmapNet(5)", lambda: VmapNet(5, rngs=nnx.Rngs(0)),
     {"__call__": ((6, 5), _vm(0, 0)), "cols_in": ((5, 6), _vm(1, 0)),
      "cols_out": ((6, 5), _vm(0, 1)), "cols": ((5, 6), _vm(1, 1))},
     [("mean_square", (6, 5), lambda m, x: mean_square(vmapnet_apply(m, x, 0, 0))),
      ("loss_cols", (5, 6), lambda m, x: mean_square(vmapnet_apply(m, x, 1, 1)))],
     "train", True, None),
    ("Ensemble(4, 3)", lambda: Ensemble(4, 3, rngs=nnx.Rngs(0)),
     {"__call__": ((2, 4), _ens(None, 0)), "paired": ((3, 2, 4), _ens(0, 0)),
      "out1": ((2, 4), _ens(None, 1))},
     [("mean_square", (2, 4), lambda m, x: mean_square(ensemble_apply(m, x, None, 0))),
      ("loss_paired", (3, 2, 4), lambda m, x: mean_square(ensemble_apply(m, x, 0, 0)))],
     "train", True, None),
]


def report(err):
    if VERBOSE:
        print(f"  worst relative error {err:.3g}", file=sys.stderr, flush=True)


def source(examples, spec):
    return NNX_FILE if spec[6] is None else os.path.join(examples, spec[6])


def nnx_param_shapes(nnxrun, src, expr):
    out = run([nnxrun, "params", src, "--model", expr, "--json", "--filter", "Param"]).stdout
    return {k: tuple(v["shape"]) for k, v in json.loads(out)["variables"].items()}


def prepare(nnxrun, src, tmp, spec):
    """nnx creates the weights (from src); checks Flax's Param paths/shapes against nnx's;
    loads them. Returns (weights file, Flax model) or raises with what differs."""
    expr, make, _, _, mode, randomise, _ = spec
    w = os.path.join(tmp, "w.safetensors")
    run([nnxrun, "params", src, "--model", expr, "--seed", "3", "--save", w])
    weights = read_safetensors(w)
    if randomise:  # non-zero biases, so that the bias is exercised too
        rng = np.random.default_rng(5)
        for k in weights:
            if k.endswith(".bias"):
                weights[k] = (0.5 * rng.standard_normal(weights[k].shape)).astype(np.float32)
        write_safetensors(w, weights)
    ours = nnx_param_shapes(nnxrun, src, expr)
    model = make()
    flax = {k: tuple(v.get_value().shape) for k, v in param_tree(model).items()}
    if flax != ours:
        raise RuntimeError(f"Param paths/shapes differ: flax {sorted(flax.items())} vs "
                           f"nnx {sorted(ours.items())}")
    load_params(model, weights)
    if mode == "eval":
        model.eval()
    return w, model


def check_forward(nnxrun, examples, tmp, spec, method, backend):
    expr, _, methods, _, mode, _, _ = spec
    shape, reference = methods[method]
    src = source(examples, spec)
    w, model = prepare(nnxrun, src, tmp, spec)
    xf, yf = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
    x = np.random.default_rng(11).standard_normal(shape).astype(np.float32)
    np.save(xf, x)
    run([nnxrun, "run", src, "--model", expr, "--method", method, "--load", w,
         "--input", f"x={xf}", "--output", yf, "--backend", backend, "--mode", mode])
    ours = np.load(yf)
    expected = np.asarray(reference(model, jnp.asarray(x)))
    if ours.shape != expected.shape:
        return f"output shape {ours.shape} vs flax {expected.shape}"
    err = rel_error(ours, expected)
    report(err)
    return None if err <= TOL else f"outputs differ: relative error {err:.3g}"


def check_grad(nnxrun, examples, tmp, spec, loss, backend):
    """nnxrun grad with transforms.nnx's loss (the weights created from the model's own file)
    vs nnx.value_and_grad of the same loss in Flax."""
    expr, _, _, losses, mode, _, _ = spec
    shape, flax_loss = {name: (s, f) for name, s, f in losses}[loss]
    w, model = prepare(nnxrun, source(examples, spec), tmp, spec)
    xf, gf = os.path.join(tmp, "x.npy"), os.path.join(tmp, "g.safetensors")
    x = np.random.default_rng(13).standard_normal(shape).astype(np.float32)
    np.save(xf, x)
    out = run([nnxrun, "grad", NNX_FILE, "--model", expr, "--loss", loss, "--input", f"x={xf}",
               "--load", w, "--mode", mode, "--backend", backend, "--output", gf]).stdout
    ours_loss = float(out.split()[1].rstrip(";"))
    ours = read_safetensors(gf)
    value, grads = nnx.value_and_grad(lambda m: flax_loss(m, jnp.asarray(x)))(model)
    flat = {".".join(map(str, p)): np.asarray(v.get_value() if hasattr(v, "get_value") else v.value)
            for p, v in nnx.to_flat_state(grads)}
    if set(flat) != set(ours):
        return f"gradient names differ: flax {sorted(flat)} vs nnx {sorted(ours)}"
    worst = rel_error(ours_loss, float(value))
    if worst > TOL:
        return f"loss {ours_loss} vs flax {float(value)}"
    for k in sorted(flat):
        if ours[k].shape != flat[k].shape:
            return f"gradient `{k}` has shape {ours[k].shape} vs flax {flat[k].shape}"
        err = rel_error(ours[k], flat[k])
        worst = max(worst, err)
        if err > TOL:
            return f"gradient `{k}` differs: relative error {err:.3g}"
    report(worst)
    return None


def main():
    global VERBOSE
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxrun", required=True)
    ap.add_argument("--examples", required=True)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    VERBOSE = args.verbose
    checks = []
    for backend in ("interp", "jit"):
        for spec in MODELS:
            for method in spec[2]:
                checks.append((f"{spec[0]}.{method} [{backend}] vs flax",
                               lambda tmp, s=spec, m=method, b=backend:
                               check_forward(args.nnxrun, args.examples, tmp, s, m, b)))
            for loss, _, _ in spec[3]:
                checks.append((f"{spec[0]} grads of {loss} [{backend}] vs flax",
                               lambda tmp, s=spec, l=loss, b=backend:
                               check_grad(args.nnxrun, args.examples, tmp, s, l, b)))
    return run_checks(checks)


if __name__ == "__main__":
    sys.exit(main())
