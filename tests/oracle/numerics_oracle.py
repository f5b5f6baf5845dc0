"""JAX oracle for values and gradients at kinks: every stdlib activation and numerical built-in.

For each function f and a set of points that includes its kinks (0 for relu, 0 and 6 for
relu6, ±1 for hard_tanh, ±3 for hard_sigmoid, a tie for max, the bounds of clip, ...), the
points are loaded as the Param `x` of tests/oracle/kinks.nnx, `nnxrun grad` differentiates
sum(f(x)) (both backends), and the loss and every gradient element must equal jax.grad's of the
same function (jax 0.10.2) to 1e-6 relative. Ties and kinks are where implementations differ:
relu6'(0) is 0 in JAX (its custom JVP), maximum splits a tie 1/2-1/2, abs'(0) is 1.
Prints "N passed, M failed".
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import numpy as np  # noqa: E402
from nnxio import read_safetensors, run, run_checks, write_safetensors  # noqa: E402

os.environ.setdefault("JAX_PLATFORMS", "cpu")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

KINKS = np.array([-6.0, -3.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 3.0, 6.0, 7.0],
                 dtype=np.float32)

# (loss name in kinks.nnx, jax function of x whose sum... (or scalar) is the loss)
CASES = [
    ("relu_loss", lambda x: jnp.sum(jax.nn.relu(x))),
    ("relu6_loss", lambda x: jnp.sum(jax.nn.relu6(x))),
    ("hard_tanh_loss", lambda x: jnp.sum(jax.nn.hard_tanh(x))),
    ("leaky_relu_loss", lambda x: jnp.sum(jax.nn.leaky_relu(x))),
    ("elu_loss", lambda x: jnp.sum(jax.nn.elu(x, 2.0))),
    ("celu_loss", lambda x: jnp.sum(jax.nn.celu(x, 2.0))),
    ("selu_loss", lambda x: jnp.sum(jax.nn.selu(x))),
    ("softplus_loss", lambda x: jnp.sum(jax.nn.softplus(x))),
    ("silu_loss", lambda x: jnp.sum(jax.nn.silu(x))),
    ("gelu_loss", lambda x: jnp.sum(jax.nn.gelu(x))),
    ("gelu_exact_loss", lambda x: jnp.sum(jax.nn.gelu(x, approximate=False))),
    ("hard_sigmoid_loss", lambda x: jnp.sum(jax.nn.hard_sigmoid(x))),
    ("hard_silu_loss", lambda x: jnp.sum(jax.nn.hard_silu(x))),
    ("log_sigmoid_loss", lambda x: jnp.sum(jax.nn.log_sigmoid(x))),
    ("abs_loss", lambda x: jnp.sum(jnp.abs(x))),
    ("maximum_loss", lambda x: jnp.sum(jnp.maximum(x, 0.0))),
    ("minimum_loss", lambda x: jnp.sum(jnp.minimum(x, 0.0))),
    ("clip_loss", lambda x: jnp.sum(jnp.clip(x, -1.0, 1.0))),
    ("max_loss", lambda x: jnp.max(x)),
    ("max_tie_loss", lambda x: jnp.max(jnp.concatenate([x, x]))),
    ("logsumexp_loss", lambda x: jax.nn.logsumexp(x)),
    ("erf_loss", lambda x: jnp.sum(jax.scipy.special.erf(x))),
    ("square_loss", lambda x: jnp.sum(jnp.square(x))),
    ("var_loss", lambda x: jnp.var(x)),
    ("std_loss", lambda x: jnp.std(x)),
    ("mod_loss", lambda x: jnp.sum(x % 1.5)),
    ("floor_div_loss", lambda x: jnp.sum(x // 1.5 * x)),
    ("cumsum_loss", lambda x: jnp.sum(jnp.cumsum(x) * x)),
    ("take_loss", lambda x: jnp.sum(jnp.take(x, jnp.array([0, 2, 2, 7])) ** 2)),
]


def run_case(nnxrun, tmp, case, backend, points):
    name, fn = case
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kinks.nnx")
    weights = os.path.join(tmp, "x.safetensors")
    grads_file = os.path.join(tmp, "g.safetensors")
    write_safetensors(weights, {"x": points})
    out = run([nnxrun, "grad", src, "--model", f"Point({len(points)})", "--loss", name,
               "--load", weights, "--backend", backend, "--output", grads_file])
    ours = read_safetensors(grads_file)["x"]
    loss = float((out.stdout + out.stderr).split("loss ")[1].split(";")[0])
    want_loss = float(fn(jnp.asarray(points)))
    want = np.asarray(jax.grad(fn)(jnp.asarray(points)))
    if abs(loss - want_loss) > 1e-5 * max(1.0, abs(want_loss)):
        return f"loss {loss} vs jax {want_loss}"
    bad = np.abs(ours - want) > 1e-6 * np.maximum(1.0, np.abs(want))
    if bad.any():
        i = int(np.argmax(bad))
        return (f"gradient at x={points[i]}: nnx {ours[i]} vs jax {want[i]} "
                f"({int(bad.sum())} of {len(points)} points differ)")
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxrun", required=True)
    ap.add_argument("--examples", required=False)
    args = ap.parse_args()
    points = np.concatenate([KINKS, np.linspace(-7.3, 7.1, 9, dtype=np.float32)])
    return run_checks([(f"{c[0]} [{b}] vs jax.grad",
                        lambda tmp, c=c, b=b: run_case(args.nnxrun, tmp, c, b, points))
                       for c in CASES for b in ("interp", "jit")])


if __name__ == "__main__":
    sys.exit(main())
