"""Flax NNX + optax oracle for training: gradients and optimizer steps.

From the same weights and batch:
  * the loss and every gradient of nnxrun grad match `nnx.grad(loss_fn)(model)` on the seed's
    Model (eval mode, so dropout does not draw), to a relative error of 1e-4;
  * the weights after nnxrun train steps on the full batch match Flax NNX with
    `nnx.Optimizer(model, optax.sgd(0.1) | optax.adam(1e-3) | optax.adamw(1e-3), wrt=nnx.Param)`
    on the seed's TrainState model `nnx.Linear(784, 10)` (1 and 3 steps).
Both nnx backends are checked. Prints "N passed, M failed".
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
import optax  # noqa: E402
from flax import nnx  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from seed_oracle import Model, load_params, param_tree  # noqa: E402  (the seed's classes)

HERE = os.path.dirname(os.path.abspath(__file__))


def loss_fn(model, inputs, labels):
    logits = model(inputs)
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def batch(n, seed):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 784)).astype(np.float32),
            rng.integers(0, 10, size=n).astype(np.int32))


def check_grads(nnxrun, examples, tmp, backend):
    """nnxrun grad vs nnx.grad on the seed's Model(784, 256, 10)."""
    src = os.path.join(examples, "seed", "training.nnx")
    w, g = os.path.join(tmp, "w.safetensors"), os.path.join(tmp, "g.safetensors")
    xf, yf = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
    x, y = batch(16, 5)
    np.save(xf, x)
    np.save(yf, y)
    run([nnxrun, "params", src, "--model", "Model(784, 256, 10)", "--seed", "2", "--save", w])
    out = run([nnxrun, "grad", src, "--model", "Model(784, 256, 10)", "--loss", "loss_fn",
               "--input", f"x={xf}", "--input", f"y={yf}", "--load", w, "--mode", "eval",
               "--backend", backend, "--output", g]).stdout
    ours_loss = float(out.split()[1].rstrip(";"))
    ours = read_safetensors(g)
    model = Model(784, 256, 10, rngs=nnx.Rngs(0))
    load_params(model, read_safetensors(w))
    model.eval()
    loss, grads = nnx.value_and_grad(lambda m: loss_fn(m, jnp.asarray(x), jnp.asarray(y)))(model)
    flat = {".".join(map(str, p)): np.asarray(v.get_value() if hasattr(v, "get_value") else v.value)
            for p, v in nnx.to_flat_state(grads)}
    if set(flat) != set(ours):
        return f"gradient names differ: flax {sorted(flat)} vs nnx {sorted(ours)}"
    if rel_error(ours_loss, float(loss)) > 1e-4:
        return f"loss {ours_loss} vs flax {float(loss)}"
    for k in flat:
        err = rel_error(ours[k], flat[k])
        if err > 1e-4:
            return f"gradient `{k}` differs: relative error {err:.3g}"
    return None


def check_optimizer(nnxrun, tmp, backend, name, steps):
    """Weights after `steps` full-batch steps of nnxrun train vs nnx.Optimizer + optax."""
    src = os.path.join(HERE, "trainstate.nnx")
    w, w1 = os.path.join(tmp, "lin.safetensors"), os.path.join(tmp, "lin1.safetensors")
    xf, yf = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
    x, y = batch(32, 9)
    np.save(xf, x)
    np.save(yf, y)
    lr = {"sgd": 0.1, "adam": 1e-3, "adamw": 1e-3}[name]
    run([nnxrun, "params", src, "--model", "Linear(784, 10)", "--seed", "4", "--save", w])
    run([nnxrun, "train", src, "--model", "Linear(784, 10)", "--loss", "loss_fn",
         "--data", f"{xf},{yf}", "--optimizer", name, "--lr", str(lr), "--batch", "32",
         "--steps", str(steps), "--load", w, "--save", w1, "--backend", backend])
    ours = read_safetensors(w1)
    model = nnx.Linear(784, 10, rngs=nnx.Rngs(0))
    load_params(model, read_safetensors(w))
    tx = {"sgd": optax.sgd(0.1), "adam": optax.adam(1e-3), "adamw": optax.adamw(1e-3)}[name]
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    for _ in range(steps):
        grads = nnx.grad(lambda m: loss_fn(m, jnp.asarray(x), jnp.asarray(y)))(model)
        optimizer.update(model, grads)
    for k, var in param_tree(model).items():
        err = rel_error(ours[k], np.asarray(var.get_value()))
        if err > 1e-4:
            return f"`{k}` after {steps} {name} steps: relative error {err:.3g}"
    if int(ours["opt.count"]) != steps:
        return f"opt.count is {ours['opt.count']} after {steps} steps"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxrun", required=True)
    ap.add_argument("--examples", required=True)
    args = ap.parse_args()
    checks = []
    for backend in ("interp", "jit"):
        checks.append((f"Model grads [{backend}] vs flax",
                       lambda tmp, b=backend: check_grads(args.nnxrun, args.examples, tmp, b)))
        for name in ("sgd", "adam", "adamw"):
            for steps in (1, 3):
                checks.append((f"Linear {name} x{steps} [{backend}] vs flax",
                               lambda tmp, b=backend, n=name, s=steps:
                               check_optimizer(args.nnxrun, tmp, b, n, s)))
    return run_checks(checks)


if __name__ == "__main__":
    sys.exit(main())
