"""Checkpoints between Flax NNX and nnx with the real `safetensors` package, both directions.

  * Flax -> nnx: the seed's Model trained a few optax steps in Flax NNX; its whole state
    (nnx.state(model): Params, the dropout rng key as uint32 key data and the counter as
    uint32, as Flax holds them) and its Params only (nnx.state(model, nnx.Param)) are written
    with safetensors.numpy.save_file; nnxrun loads each (the uint32 converted, the missing rng
    variables filled, with notes) and gives Flax's logits.
  * nnx -> Flax: a checkpoint of `nnxrun train` read with safetensors.numpy.load_file, its
    Params put into the Flax model with nnx.update: Flax's logits equal nnxrun run's.
  * half precision: BF16 and F16 Params (safetensors' own encoding) load converted to f32.
Prints "N passed, M failed".
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import numpy as np  # noqa: E402
from nnxio import rel_error, run, run_checks  # noqa: E402

os.environ.setdefault("JAX_PLATFORMS", "cpu")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
from flax import nnx  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from seed_oracle import Model, param_tree  # noqa: E402

ARGS = None


def flat_state(model, *filters):
    """{dotted path: ndarray} of nnx.state(model, *filters); rng keys as their uint32 data."""
    out = {}
    for path, var in nnx.to_flat_state(nnx.state(model, *filters)):
        value = var.get_value() if hasattr(var, "get_value") else var.value
        if jnp.issubdtype(value.dtype, jax.dtypes.prng_key):
            value = jax.random.key_data(value)
        out[".".join(map(str, path))] = np.asarray(value)
    return out


def trained_flax_model():
    model = Model(64, 32, 10, rngs=nnx.Rngs(4))
    opt = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((16, 64)).astype(np.float32))
    y = jnp.asarray(rng.integers(0, 10, 16).astype(np.int32))

    def loss_fn(m):
        return optax.softmax_cross_entropy_with_integer_labels(m(x), y).mean()

    model.train()
    for _ in range(3):
        opt.update(model, nnx.grad(loss_fn)(model))
    model.eval()
    return model


def nnx_logits(tmp, ckpt, x, *extra):
    xf, out = os.path.join(tmp, "x.npy"), os.path.join(tmp, "logits.npy")
    np.save(xf, x)
    proc = run([ARGS.nnxrun, "run", os.path.join(ARGS.examples, "seed", "basics.nnx"), "--model",
                "Model(64, 32, 10)", "--load", ckpt, "--input", f"x={xf}", "--output", out,
                *extra])
    return np.load(out), proc.stderr


def check_flax_to_nnx(tmp):
    model = trained_flax_model()
    x = np.random.default_rng(1).standard_normal((5, 64)).astype(np.float32)
    want = np.asarray(model(jnp.asarray(x)))
    whole = flat_state(model)
    if whole["block.dropout.rngs.count"].dtype != np.uint32:
        return f"expected Flax's uint32 counter, got {whole['block.dropout.rngs.count'].dtype}"
    for name, tensors, note in [
            ("whole", whole, "converted"),
            ("params", flat_state(model, nnx.Param), "initial value (from --seed)")]:
        path = os.path.join(tmp, f"{name}.safetensors")
        save_file(tensors, path)
        got, stderr = nnx_logits(tmp, path, x)
        if note not in stderr:
            return f"{name}: no note saying `{note}`: {stderr!r}"
        err = rel_error(got, want)
        if err > 1e-5:
            return f"{name}: logits differ from Flax's: relative error {err:.3g}"
    return None


def check_nnx_to_flax(tmp):
    ckpt = os.path.join(tmp, "trained.safetensors")
    run([ARGS.nnxrun, "train", os.path.join(ARGS.examples, "seed", "training.nnx"), "--model",
         "Model(64, 32, 10)", "--loss", "loss_fn", "--data",
         os.path.join(ARGS.examples, "data", "digits.csv.gz"), "--steps", "20",
         "--optimizer", "adam", "--save", ckpt])
    weights = load_file(ckpt)
    model = Model(64, 32, 10, rngs=nnx.Rngs(0))
    params = param_tree(model)
    for path, var in params.items():
        var.set_value(jnp.asarray(weights[path]))
    model.eval()
    x = np.random.default_rng(2).standard_normal((4, 64)).astype(np.float32)
    got, _ = nnx_logits(tmp, ckpt, x)
    err = rel_error(np.asarray(model(jnp.asarray(x))), got)
    if err > 1e-5:
        return f"Flax with nnx's weights differs: relative error {err:.3g}"
    if not {"opt.count", "block.dropout.rngs.count"} <= set(weights):
        return f"the checkpoint lacks optimizer or rng state: {sorted(weights)[:6]}"
    return None


def check_half_precision(tmp):
    model = trained_flax_model()
    x = np.random.default_rng(3).standard_normal((3, 64)).astype(np.float32)
    import ml_dtypes
    for dtype, name in [(np.float16, "F16"), (ml_dtypes.bfloat16, "BF16")]:
        half = {k: v.astype(dtype) for k, v in flat_state(model, nnx.Param).items()}
        path = os.path.join(tmp, f"{name}.safetensors")
        save_file(half, path)
        for path_name, var in param_tree(model).items():
            var.set_value(jnp.asarray(half[path_name].astype(np.float32)))
        want = np.asarray(model(jnp.asarray(x)))
        got, stderr = nnx_logits(tmp, path, x)
        if f"{name} -> f32" not in stderr:
            return f"{name}: no conversion note: {stderr!r}"
        err = rel_error(got, want)
        if err > 1e-5:
            return f"{name}: logits differ: relative error {err:.3g}"
    return None


def check_strict_by_default(tmp):
    model = trained_flax_model()
    tensors = flat_state(model, nnx.Param)
    del tensors["linear.bias"]
    tensors["head.extra"] = np.zeros(3, np.float32)
    path = os.path.join(tmp, "partial.safetensors")
    save_file(tensors, path)
    x = np.zeros((1, 64), np.float32)
    proc = run([ARGS.nnxrun, "run", os.path.join(ARGS.examples, "seed", "basics.nnx"), "--model",
                "Model(64, 32, 10)", "--load", path, "--input", "x=zeros(1,64)"], check=False)
    if proc.returncode != 1 or "linear.bias" not in proc.stderr or "head.extra" not in proc.stderr:
        return f"a missing Param and an extra tensor are not an error: {proc.stderr}"
    got, stderr = nnx_logits(tmp, path, x, "--allow-missing", "--allow-extra")
    if "ignored" not in stderr or got.shape != (1, 10):
        return f"--allow-missing --allow-extra: {stderr!r}"
    return None


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxrun", required=True)
    ap.add_argument("--examples", required=True)
    ARGS = ap.parse_args()
    return run_checks([
        ("Flax NNX state (uint32 rng) -> nnx: Flax's logits", check_flax_to_nnx),
        ("nnx train checkpoint -> Flax NNX via safetensors.numpy", check_nnx_to_flax),
        ("F16 and BF16 checkpoints load as f32", check_half_precision),
        ("missing Params and extra tensors: errors unless allowed", check_strict_by_default),
    ])


if __name__ == "__main__":
    sys.exit(main())
