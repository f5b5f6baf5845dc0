"""Flax NNX oracle for the recurrent layers of stdlib/recurrent.nnx: the same weights and inputs
in nnx and in Flax NNX 0.12.8.

For each model (SimpleCell, LSTMCell, GRUCell and OptimizedLSTMCell wrapped in RNN; RNN with
reverse, keep_order, time_major, return_carry, unbatched and two batch axes; Bidirectional),
nnxrun creates the weights (`params --seed 3 --save`), and Flax's model (`nnx.RNN(nnx.LSTMCell(3,
5, rngs=...), ...)`) must have exactly the same Param paths and shapes; the weights are loaded
into it and both run on the same random input (batch 2, time 7, features 3): every output (the
carry's leaves too, with return_carry) must agree to a relative error of 1e-4. Gradients:
`nnxrun grad` of `loss_fn(model, x) = mean(model(x) ** 2.0)` (tests/oracle/recurrent.nnx)
against `nnx.grad` of the same loss, every gradient and the loss to 1e-4. Both nnx backends
(interp, jit). Prints "N passed, M failed".

--extra FILE adds .nnx files to every nnxrun command (before the oracle's file): e.g.
`--extra stdlib/recurrent.nnx` checks a stdlib file that is not yet embedded in the binary
(a user definition replaces the stdlib one).
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

sys.path.insert(0, os.path.dirname(__file__))
from seed_oracle import load_params, param_tree  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "recurrent.nnx")
WORST = {"output": 0.0, "gradient": 0.0}  # the largest relative errors seen, for the summary

R = lambda: nnx.Rngs(0)  # noqa: E731  (the Flax weights are overwritten by nnx's)

# (nnx model, Flax constructor, input shape, check gradients)
BATCH_MAJOR = (2, 7, 3)
TIME_MAJOR = (7, 2, 3)
CASES = [
    ("RNN(SimpleCell(3, 5))", lambda: nnx.RNN(nnx.SimpleCell(3, 5, rngs=R())), BATCH_MAJOR, True),
    ("RNN(LSTMCell(3, 5))", lambda: nnx.RNN(nnx.LSTMCell(3, 5, rngs=R())), BATCH_MAJOR, True),
    ("RNN(GRUCell(3, 5))", lambda: nnx.RNN(nnx.GRUCell(3, 5, rngs=R())), BATCH_MAJOR, True),
    ("RNN(OptimizedLSTMCell(3, 5))", lambda: nnx.RNN(nnx.OptimizedLSTMCell(3, 5, rngs=R())),
     BATCH_MAJOR, True),
    # reverse: outputs in processing order; with keep_order flipped back; keep_order alone: no-op
    ("RNN(LSTMCell(3, 5), reverse=true)",
     lambda: nnx.RNN(nnx.LSTMCell(3, 5, rngs=R()), reverse=True), BATCH_MAJOR, True),
    ("RNN(LSTMCell(3, 5), reverse=true, keep_order=true)",
     lambda: nnx.RNN(nnx.LSTMCell(3, 5, rngs=R()), reverse=True, keep_order=True),
     BATCH_MAJOR, True),
    ("RNN(GRUCell(3, 5), reverse=true)",
     lambda: nnx.RNN(nnx.GRUCell(3, 5, rngs=R()), reverse=True), BATCH_MAJOR, False),
    ("RNN(GRUCell(3, 5), reverse=true, keep_order=true)",
     lambda: nnx.RNN(nnx.GRUCell(3, 5, rngs=R()), reverse=True, keep_order=True),
     BATCH_MAJOR, False),
    ("RNN(SimpleCell(3, 5), reverse=true, keep_order=true)",
     lambda: nnx.RNN(nnx.SimpleCell(3, 5, rngs=R()), reverse=True, keep_order=True),
     BATCH_MAJOR, False),
    ("RNN(SimpleCell(3, 5), keep_order=true)",
     lambda: nnx.RNN(nnx.SimpleCell(3, 5, rngs=R()), keep_order=True), BATCH_MAJOR, False),
    # time-major input [T, B, F]
    ("RNN(LSTMCell(3, 5), time_major=true)",
     lambda: nnx.RNN(nnx.LSTMCell(3, 5, rngs=R()), time_major=True), TIME_MAJOR, True),
    ("RNN(GRUCell(3, 5), time_major=true, reverse=true, keep_order=true)",
     lambda: nnx.RNN(nnx.GRUCell(3, 5, rngs=R()), time_major=True, reverse=True,
                     keep_order=True), TIME_MAJOR, False),
    # no batch axis, and two batch axes
    ("RNN(GRUCell(3, 5))", lambda: nnx.RNN(nnx.GRUCell(3, 5, rngs=R())), (7, 3), False),
    ("RNN(LSTMCell(3, 5))", lambda: nnx.RNN(nnx.LSTMCell(3, 5, rngs=R())), (2, 2, 7, 3), False),
    # return_carry: ((c, h), outputs) for the LSTM, (h, outputs) for the others
    ("RNN(LSTMCell(3, 5), return_carry=true)",
     lambda: nnx.RNN(nnx.LSTMCell(3, 5, rngs=R()), return_carry=True), BATCH_MAJOR, False),
    ("RNN(GRUCell(3, 5), return_carry=true, reverse=true)",
     lambda: nnx.RNN(nnx.GRUCell(3, 5, rngs=R()), return_carry=True, reverse=True),
     BATCH_MAJOR, False),
    # the cells' other arguments
    ("RNN(SimpleCell(3, 5, residual=true))",
     lambda: nnx.RNN(nnx.SimpleCell(3, 5, residual=True, rngs=R())), BATCH_MAJOR, False),
    ("RNN(LSTMCell(3, 5, activation_fn=relu))",
     lambda: nnx.RNN(nnx.LSTMCell(3, 5, activation_fn=nnx.relu, rngs=R())), BATCH_MAJOR, False),
    ("RNN(GRUCell(3, 5, gate_fn=hard_tanh))",
     lambda: nnx.RNN(nnx.GRUCell(3, 5, gate_fn=nnx.hard_tanh, rngs=R())), BATCH_MAJOR, False),
    # Bidirectional: forward + (reverse, keep_order) backward, concatenated features
    ("Bidirectional(RNN(LSTMCell(3, 5)), RNN(GRUCell(3, 4)))",
     lambda: nnx.Bidirectional(nnx.RNN(nnx.LSTMCell(3, 5, rngs=R())),
                               nnx.RNN(nnx.GRUCell(3, 4, rngs=R()))), BATCH_MAJOR, True),
    ("Bidirectional(RNN(SimpleCell(3, 5)), RNN(SimpleCell(3, 5)), return_carry=true)",
     lambda: nnx.Bidirectional(nnx.RNN(nnx.SimpleCell(3, 5, rngs=R())),
                               nnx.RNN(nnx.SimpleCell(3, 5, rngs=R())), return_carry=True),
     BATCH_MAJOR, False),
]


def files(extra):
    return list(extra) + [SOURCE]


def flax_model(case, weights):
    """Flax's model with nnx's weights, or a message when the Params do not map one to one."""
    expr, make, _, _ = case
    model = make()
    flax_params = param_tree(model)
    if set(flax_params) != set(weights):
        return None, f"param paths differ: flax {sorted(flax_params)} vs nnx {sorted(weights)}"
    for k, var in flax_params.items():
        if tuple(var.get_value().shape) != weights[k].shape:
            return None, f"`{k}` has shape {weights[k].shape} in nnx but {var.get_value().shape} in flax"
    load_params(model, weights)
    return model, None


def make_weights_and_input(nnxrun, extra, tmp, case):
    expr, _, shape, _ = case
    w, xf = os.path.join(tmp, "w.safetensors"), os.path.join(tmp, "x.npy")
    run([nnxrun, "params", *files(extra), "--model", expr, "--seed", "3", "--save", w])
    x = np.random.default_rng(11).standard_normal(shape).astype(np.float32)
    np.save(xf, x)
    return w, xf, x


def check_forward(nnxrun, extra, tmp, case, backend):
    """nnxrun run vs the Flax model's __call__: every output leaf to 1e-4."""
    w, xf, x = make_weights_and_input(nnxrun, extra, tmp, case)
    model, problem = flax_model(case, read_safetensors(w))
    if problem:
        return problem
    reference = [np.asarray(leaf) for leaf in jax.tree.leaves(model(jnp.asarray(x)))]
    outs = [os.path.join(tmp, f"y{i}.npy") for i in range(len(reference))]
    run([nnxrun, "run", *files(extra), "--model", case[0], "--load", w,
         "--input", f"inputs={xf}", "--backend", backend, "--output", *outs])
    for i, (out, ref) in enumerate(zip(outs, reference)):
        ours = np.load(out)
        if ours.shape != ref.shape or ours.dtype != np.float32:
            return f"output {i} is {ours.dtype}{list(ours.shape)}, flax's f32{list(ref.shape)}"
        err = rel_error(ours, ref)
        WORST["output"] = max(WORST["output"], err)
        if err > 1e-4:
            return f"output {i} differs: relative error {err:.3g}"
    return None


def check_grads(nnxrun, extra, tmp, case, backend):
    """nnxrun grad vs nnx.grad of mean(model(x) ** 2): the loss and every gradient to 1e-4."""
    w, xf, x = make_weights_and_input(nnxrun, extra, tmp, case)
    g = os.path.join(tmp, "g.safetensors")
    model, problem = flax_model(case, read_safetensors(w))
    if problem:
        return problem
    out = run([nnxrun, "grad", *files(extra), "--model", case[0], "--loss", "loss_fn",
               "--input", f"x={xf}", "--load", w, "--backend", backend, "--output", g]).stdout
    ours_loss = float(out.split()[1].rstrip(";"))
    ours = read_safetensors(g)
    loss, grads = nnx.value_and_grad(lambda m: jnp.mean(m(jnp.asarray(x)) ** 2))(model)
    flat = {".".join(map(str, p)): np.asarray(v.get_value() if hasattr(v, "get_value") else v.value)
            for p, v in nnx.to_flat_state(grads)}
    if set(flat) != set(ours):
        return f"gradient names differ: flax {sorted(flat)} vs nnx {sorted(ours)}"
    if rel_error(ours_loss, float(loss)) > 1e-4:
        return f"loss {ours_loss} vs flax {float(loss)}"
    for k in flat:
        err = rel_error(ours[k], flat[k])
        WORST["gradient"] = max(WORST["gradient"], err)
        if err > 1e-4:
            return f"gradient `{k}` differs: relative error {err:.3g}"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxrun", required=True)
    ap.add_argument("--examples", help="unused; accepted like the other oracles")
    ap.add_argument("--extra", action="append", default=[],
                    help=".nnx file added to every nnxrun command (a not yet embedded stdlib file)")
    args = ap.parse_args()
    checks = []
    for case in CASES:
        shape = "x".join(map(str, case[2]))
        for backend in ("interp", "jit"):
            checks.append((f"{case[0]} on {shape} [{backend}] vs flax",
                           lambda tmp, c=case, b=backend:
                           check_forward(args.nnxrun, args.extra, tmp, c, b)))
        for backend in ("interp", "jit") if case[3] else ():
            checks.append((f"{case[0]} grads on {shape} [{backend}] vs flax",
                           lambda tmp, c=case, b=backend:
                           check_grads(args.nnxrun, args.extra, tmp, c, b)))
    code = run_checks(checks)
    print(f"largest relative error: outputs {WORST['output']:.3g}, gradients {WORST['gradient']:.3g}")
    return code


if __name__ == "__main__":
    sys.exit(main())
