"""Flax NNX oracle for the layers of stdlib/nn.nnx, normalization.nnx, attention.nnx and conv.nnx
and the convolution and pooling built-ins: the same weights and inputs in nnx and in Flax NNX
0.12.8 (and jax.lax).

For each case nnxrun creates the variables (`params --seed 3 --save`); Flax's model must have
exactly nnx's Param and BatchStat paths and shapes; for most cases the biases, scales and batch
statistics are then replaced by random values (so that they are exercised), the weights are
loaded into Flax, and both run the same input (`nnxrun run --backend interp|jit`). Outputs must
agree to a relative error of 1e-5 (max |a - b| / max |b|); NaNs must be at the same places
(Embed's out-of-range rows) and the other elements agree to 1e-5.

  * BatchNorm: eval mode (running statistics) and train mode (`--mode train`, batch
    statistics): the output and the BatchStat mean/var that `--save` writes after one call
    against Flax's after one call (momentum 0.99; momentum 0.9 with axis=1 on a 4-d input and
    no scale/bias); the constructor's and the call's use_running_average.
  * LayerNorm (epsilon/use_bias/use_scale/reduction_axes/feature_axes variants, a list of
    feature_axes as Flax allows), RMSNorm, GroupNorm (num_groups on [B, H, W, C] and [B, C];
    group_size with num_groups=None).
  * LinearGeneral (16 -> [4, 4]; [4, 16] -> 8 over axes [-2, -1]; 3 -> 5 over axis 1 of
    [2, 3, 7]); the init statistics of LinearGeneral and MultiHeadAttention kernels (lecun
    normal of the flattened [prod(in), prod(out)] matrix) and of Embed (normal, 1/sqrt(features)).
  * Embed: lookup with negative and out-of-range indices (NaN rows, jnp.take's fill mode),
    num_embeddings=1, attend().
  * MultiHeadAttention (Flax with decode=False): self-attention, is_causal, masks from
    make_causal_mask/make_attention_mask of padding tokens (fully masked rows), an explicit mask
    with a fully masked row, cross-attention (inputs_k, in_kv_features with inputs_v),
    num_kv_heads (GQA), normalize_qk, qkv_features/out_features, use_bias=false, unbatched and
    two batch axes.
  * dot_product_attention (mask, bias, is_causal, GQA, two batch axes; a fully masked row is
    the mean of the values), make_causal_mask, make_attention_mask, combine_masks against
    flax.nnx's; the built-in einsum against jnp.einsum; Sequential against nnx.Sequential.
  * Module.sow: `run --capture intermediates` against Flax's sow and nnx.pop(model,
    nnx.Intermediate): paths and values.
  * The seed's section-4 Block (examples/seed/collections.nnx: Linear, BatchNorm(momentum=0.99)
    and a Counter): two train-mode calls in both; outputs, count and batch_stats agree.
  * Conv (conv.nnx) against nnx.Conv: SAME (odd and even kernels), VALID with strides, explicit
    (low, high) pairs, an int and a list of ints as padding, kernel_dilation, input_dilation
    (with explicit padding: lax rejects a string), feature_group_count 2 and depthwise (groups
    == in_features, x1 and x2 features), use_bias=false, a constant mask, 1-d (kernel_size an
    int; "CAUSAL" with kernel_dilation 2), 3-d, unbatched and two batch axes.
  * ConvTranspose against nnx.ConvTranspose: strides 2 SAME/VALID (kernel below, equal to and
    above the stride), kernel_dilation, explicit and int padding, transpose_kernel=True, 1-d,
    unbatched and two batch axes.
  * max_pool, min_pool, avg_pool (layers.nnx's Pool) against flax.nnx's: SAME/VALID/pairs,
    strides, count_include_pad=False, 1-d and 3-d, unbatched and two batch axes.
  * The built-in conv_general_dilated (layers.nnx's Lax) against jax.lax.conv_general_dilated
    with channels-last dimension numbers (NWC/WIO, NHWC/HWIO, NDHWC/DHWIO): strides, string,
    int and pair padding, lhs and rhs dilation, feature groups.
  * Edge cases where JAX's behaviour is easy to miss (comments mark them below): a pooling
    window or convolution kernel larger than the input (JAX: an empty output; nnx: E0232 on
    purpose, pinned by EMPTY_IN_JAX), negative padding (lax crops, for convolutions and pools), a string padding with an input
    dilation (lax raises), Conv's mask given as a constant list.
  * Constructions and inputs Flax rejects with ValueError (GroupNorm(6), both num_groups and
    group_size, MultiHeadAttention(3, 16), LinearGeneral([4, 16], 8), Embed with float
    indices), and those Flax or lax reject with the error type they raise (Conv's features not
    divisible by feature_group_count, inputs with the wrong channel count or no feature axis,
    "CAUSAL" in 2-d, an unknown padding, a pool with one stride for two window axes): nnx must
    reject them too.
  * Gradients: `nnxrun grad` of layers.nnx's `loss_fn(model, x, t) = mean((model(x) - t) ** 2)`
    against nnx.value_and_grad for LayerNorm, BatchNorm (train), MultiHeadAttention, Embed,
    LinearGeneral and GroupNorm (the loss and every gradient to 1e-5; a gradient leaf that is
    zero in exact arithmetic, MultiHeadAttention's key.bias, is compared with a floor of 1% of
    the largest gradient element); Conv (strides, dilations, groups, causal), ConvTranspose
    (with transpose_kernel), Sequential(Conv, relu, Conv) (a convolution's input gradient),
    max_pool and avg_pool of a relu'd Conv (layers.nnx's ConvPool), and the pools' input
    gradient on data full of ties (layers.nnx's Tied: a pool of a Param of small integers, relu'd
    or not): each max/min window's gradient goes to one element, the first extremum, as
    jax.grad's.
  * Kernel init statistics of Conv (fan_in = window * in_features / feature_group_count) and
    ConvTranspose (with and without transpose_kernel).

Both nnx backends (interp, jit) for every run. Prints one line per check and "N passed, M
failed"; --verbose prints each check's worst relative error to stderr.

--extra FILE adds .nnx files to every nnxrun command (before the oracle's file): e.g.
`--extra stdlib/attention.nnx` checks a stdlib file that is not yet embedded in the binary.
"""
import argparse
import atexit
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import numpy as np  # noqa: E402
from nnxio import read_safetensors, run, run_checks, write_safetensors  # noqa: E402

os.environ.setdefault("JAX_PLATFORMS", "cpu")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from flax import nnx  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "layers.nnx")
TOL = 1e-5
NNXRUN = None
EXTRA = []
VERBOSE = False
WORK = tempfile.mkdtemp(prefix="layers_oracle_")  # weights and inputs shared by both backends
atexit.register(shutil.rmtree, WORK, ignore_errors=True)

R = lambda: nnx.Rngs(0)  # noqa: E731  (the Flax weights are overwritten by nnx's)


def files():
    return list(EXTRA) + [SOURCE]


def report(err):
    if VERBOSE:
        print(f"  worst relative error {err:.3g}", file=sys.stderr, flush=True)


class Wrap(nnx.Module):
    """A Flax module holding submodules under given names: the counterpart of layers.nnx's
    wrappers (Attn(attn) -> Wrap(attn=...), paths attn.query.kernel, ...)."""

    def __init__(self, **modules):
        for name, module in modules.items():
            setattr(self, name, module)


def var_tree(model):
    """{dotted path: variable} of a Flax model's Params and BatchStats."""
    return {".".join(map(str, path)): node for path, node in nnx.iter_graph(model)
            if isinstance(node, (nnx.Param, nnx.BatchStat))}


def randomise(weights, seed=5):
    """Non-trivial biases, scales and batch statistics (kernels and embeddings stay nnx's)."""
    rng = np.random.default_rng(seed)
    out = {}
    for k, v in sorted(weights.items()):
        leaf = k.split(".")[-1]
        if leaf in ("bias", "mean"):
            v = 0.5 * rng.standard_normal(v.shape)
        elif leaf == "scale":
            v = 1.0 + 0.3 * rng.standard_normal(v.shape)
        elif leaf == "var":
            v = rng.uniform(0.5, 1.5, v.shape)
        out[k] = np.asarray(v, dtype=weights[k].dtype)
    return out


def compare(ours, ref, what, tol=TOL, floor=0.0):
    """None when `ours` matches `ref` (same shape and dtype, NaNs at the same places, the rest to
    a relative error of tol: max |a - b| / max(max |b|, floor)), else what differs."""
    ours, ref = np.asarray(ours), np.asarray(ref)
    if ours.shape != ref.shape or ours.dtype != ref.dtype:
        return f"{what} is {ours.dtype}{list(ours.shape)}, flax's {ref.dtype}{list(ref.shape)}"
    nan_o, nan_r = np.isnan(ours), np.isnan(ref)
    if (nan_o != nan_r).any():
        return (f"{what}: NaN at different places (nnx {int(nan_o.sum())} NaNs, flax "
                f"{int(nan_r.sum())}); nnx {ours.ravel()[:8]} vs flax {ref.ravel()[:8]}")
    diff = np.abs(ours[~nan_o].astype(np.float64) - ref[~nan_r])
    scale = max(float(np.max(np.abs(ref[~nan_r]))) if diff.size else 0.0, floor, 1e-30)
    err = float(np.max(diff)) / scale if diff.size else 0.0
    report(err)
    if err > tol:
        i = np.unravel_index(np.argmax(np.abs(np.where(nan_o, 0, ours - ref))), ours.shape)
        return (f"{what} differs: relative error {err:.3g} (at {list(i)}: nnx {ours[i]!r} vs "
                f"flax {ref[i]!r})")
    return None


def nnxrun(*args):
    """Runs nnxrun; on failure raises with the command's first error lines (not the whole
    diagnostic)."""
    proc = run([NNXRUN, *args], check=False)
    if proc.returncode != 0:
        lines = [l for l in (proc.stderr + proc.stdout).splitlines() if l.startswith("error")]
        cmd = " ".join(a if " " not in a and "(" not in a else repr(a) for a in args)
        raise RuntimeError(f"`nnxrun {cmd}` exited {proc.returncode}: " + " | ".join(lines[:3]))
    return proc


def save_inputs(directory, inputs):
    specs = []
    for name, value in inputs:
        path = os.path.join(directory, f"in_{name}.npy")
        np.save(path, value)
        specs += ["--input", f"{name}={path}"]
    return specs


# ---- forward cases ------------------------------------------------------------------------------
class Case:
    """One nnx expression and method against a Flax model and call on the same inputs.
    make: () -> Flax model (None: the nnx model has no variables); call(model, *inputs) -> the
    output(s); inputs: [(name, ndarray)] in the method's argument order; state: also compare the
    variables nnxrun --save writes after the call with Flax's after its call; weights: {path:
    ndarray} -> {path: ndarray}, values of the oracle's own for both (after randomise)."""

    def __init__(self, label, expr, make, call, inputs, method="__call__", mode="eval",
                 randomised=True, state=False, weights=None):
        self.label, self.expr, self.make, self.call = label, expr, make, call
        self.inputs, self.method, self.mode = inputs, method, mode
        self.randomised, self.state, self.weights = randomised, state, weights
        self._prepared = None

    def prepare(self):
        """Once per case (both backends share it): nnx's weights, Flax's model with them, its
        outputs and state. Returns a dict, or raises with what differs."""
        if self._prepared is not None:
            if isinstance(self._prepared, Exception):
                raise self._prepared
            return self._prepared
        try:
            self._prepared = self._prepare()
        except Exception as e:  # remembered, so both backends report it
            self._prepared = e
            raise
        return self._prepared

    def _prepare(self):
        d = tempfile.mkdtemp(dir=WORK)
        p = {"dir": d, "load": [], "weights": {}}
        model = None
        if self.make is not None:
            w = os.path.join(d, "w.safetensors")
            nnxrun("params", *files(), "--model", self.expr, "--seed", "3", "--save", w)
            weights = read_safetensors(w)
            if self.randomised:
                weights = randomise(weights)
            if self.weights is not None:
                weights = self.weights(weights)
            if self.randomised or self.weights is not None:
                write_safetensors(w, weights)
            model = nnx.eval_shape(self.make)  # no eager init: every variable is set below
            flax = var_tree(model)
            ours = {k: v.shape for k, v in weights.items()}
            theirs = {k: tuple(v.get_value().shape) for k, v in flax.items()}
            if ours != theirs:
                raise RuntimeError(f"variables differ: flax {sorted(theirs.items())} vs nnx "
                                   f"{sorted(ours.items())}")
            for k, var in flax.items():
                var.set_value(jnp.asarray(weights[k]))
            p["load"], p["weights"] = ["--load", w], weights
        p["inputs"] = save_inputs(d, self.inputs)
        # nnx.jit: one compilation is faster than the eager ops; Flax's state updates still
        # reach `model` (BatchNorm's statistics)
        out = nnx.jit(self.call)(model, *[jnp.asarray(v) for _, v in self.inputs])
        p["reference"] = [np.asarray(leaf) for leaf in jax.tree.leaves(out)]
        if self.state:
            p["state"] = {k: np.asarray(v.get_value()) for k, v in var_tree(model).items()}
        return p

    def check(self, tmp, backend):
        p = self.prepare()
        outs = [os.path.join(tmp, f"y{i}.npy") for i in range(len(p["reference"]))]
        save = ["--save", os.path.join(tmp, "s.safetensors")] if self.state else []
        nnxrun("run", *files(), "--model", self.expr, "--method", self.method, *p["load"],
               *p["inputs"], "--mode", self.mode, "--backend", backend, *save, "--output", *outs)
        for i, (out, ref) in enumerate(zip(outs, p["reference"])):
            problem = compare(np.load(out), ref, f"output {i}")
            if problem:
                return problem
        if self.state:
            saved = read_safetensors(save[1])
            for k, ref in sorted(p["state"].items()):
                if k not in saved:
                    return f"`--save` did not write `{k}`"
                problem = compare(saved[k], ref, f"state `{k}` after the call")
                if problem:
                    return problem
        return None


def rand(shape, seed, scale=1.0, offset=0.0):
    return (offset + scale * np.random.default_rng(seed).standard_normal(shape)).astype(np.float32)


def binary(shape, seed, p=0.7):
    return (np.random.default_rng(seed).uniform(size=shape) < p).astype(np.float32)


def flax_bn(n, **kw):
    return lambda: nnx.BatchNorm(n, rngs=R(), **kw)


X68 = rand((6, 8), 1, 2.0, 1.0)          # offset and scale: the mean and variance matter
X438 = rand((4, 8, 3, 3), 2, 1.5, -0.5)  # NCHW, features on axis 1
X258 = rand((2, 5, 8), 3, 2.0, 1.0)
XHWC = rand((2, 4, 4, 8), 4, 2.0, 1.0)
X16 = rand((2, 5, 16), 5)
K16 = rand((2, 7, 16), 6)
TOKENS = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 0]], dtype=np.int32)  # 0 is padding


def mha(*args, **kw):
    return lambda: nnx.MultiHeadAttention(*args, decode=False, rngs=R(), **kw)


def wrapped_mha(*args, **kw):
    return lambda: Wrap(attn=nnx.MultiHeadAttention(*args, decode=False, rngs=R(), **kw))


def mask_with_empty_row():
    """[2, 1, 5, 5] random 0/1, with query 2 of example 0 masked everywhere."""
    m = binary((2, 1, 5, 5), 7)
    m[..., 0, 0, :] = np.maximum(m[..., 0, 0, :], 1.0)
    m[0, 0, 2, :] = 0.0
    return m


def einsum_case(spec, *shapes):
    inputs = [(n, rand(s, 20 + i)) for i, (n, s) in enumerate(zip("ab", shapes))]
    method = "__call__" if len(shapes) == 2 else "one"
    return Case(f"einsum(\"{spec}\") on {' x '.join(map(str, shapes))}", f'Ein("{spec}")', None,
                lambda m, *xs: jnp.einsum(spec, *xs), inputs, method=method)


QUERY = rand((2, 5, 4, 8), 30)
KEY = rand((2, 7, 4, 8), 31)
VALUE = rand((2, 7, 4, 8), 32)
QKV = [("query", QUERY), ("key", KEY), ("value", VALUE)]
DPA_MASK = binary((2, 1, 5, 7), 33)
DPA_MASK[1, 0, 3, :] = 0.0                # a fully masked query: the mean of the values


def fns(method, call, inputs, label=None):
    return Case(label or f"{method}", "Fns()", None, lambda m, *xs: call(*xs), inputs,
                method=method)


CASES = [
    # ---- BatchNorm -------------------------------------------------------------------------
    Case("BatchNorm(8) eval on 6x8", "BatchNorm(8)", flax_bn(8, use_running_average=True),
         lambda m, x: m(x), [("x", X68)], state=True),
    Case("BatchNorm(8) train on 6x8", "BatchNorm(8)", flax_bn(8, use_running_average=False),
         lambda m, x: m(x), [("x", X68)], mode="train", state=True),
    Case("BatchNorm(8) train on 6x8 from the init", "BatchNorm(8)",
         flax_bn(8, use_running_average=False), lambda m, x: m(x), [("x", X68)], mode="train",
         randomised=False, state=True),
    Case("BatchNorm(8) train on 2x5x8", "BatchNorm(8)", flax_bn(8, use_running_average=False),
         lambda m, x: m(x), [("x", X258)], mode="train", state=True),
    Case("BatchNorm(8, momentum=0.9, axis=1, use_bias=false, use_scale=false) train on 4x8x3x3",
         "BatchNorm(8, momentum=0.9, axis=1, use_bias=false, use_scale=false)",
         flax_bn(8, momentum=0.9, axis=1, use_bias=False, use_scale=False,
                 use_running_average=False),
         lambda m, x: m(x), [("x", X438)], mode="train", state=True),
    Case("BatchNorm(8, momentum=0.9, axis=1, use_bias=false, use_scale=false) eval on 4x8x3x3",
         "BatchNorm(8, momentum=0.9, axis=1, use_bias=false, use_scale=false)",
         flax_bn(8, momentum=0.9, axis=1, use_bias=False, use_scale=False,
                 use_running_average=True),
         lambda m, x: m(x), [("x", X438)], state=True),
    Case("BatchNorm(8, epsilon=0.1, momentum=0.5) train on 6x8",
         "BatchNorm(8, epsilon=0.1, momentum=0.5)",
         flax_bn(8, epsilon=0.1, momentum=0.5, use_running_average=False),
         lambda m, x: m(x), [("x", X68)], mode="train", state=True),
    Case("BatchNorm(8, use_running_average=true) under --mode train",
         "BatchNorm(8, use_running_average=true)", flax_bn(8, use_running_average=True),
         lambda m, x: m(x), [("x", X68)], mode="train", state=True),
    Case("BatchNorm(8, use_running_average=false) under --mode eval",
         "BatchNorm(8, use_running_average=false)", flax_bn(8, use_running_average=False),
         lambda m, x: m(x), [("x", X68)], state=True),
    Case("BatchNorm call use_running_average=true under --mode train", "BNCall(BatchNorm(8))",
         lambda: Wrap(bn=nnx.BatchNorm(8, rngs=R())),
         lambda m, x: m.bn(x, use_running_average=True), [("x", X68)], method="frozen",
         mode="train", state=True),
    Case("BatchNorm call use_running_average=false under --mode eval", "BNCall(BatchNorm(8))",
         lambda: Wrap(bn=nnx.BatchNorm(8, rngs=R())),
         lambda m, x: m.bn(x, use_running_average=False), [("x", X68)], method="batch",
         state=True),
    # ---- LayerNorm, RMSNorm, GroupNorm -------------------------------------------------------
    Case("LayerNorm(8) on 2x5x8", "LayerNorm(8)", lambda: nnx.LayerNorm(8, rngs=R()),
         lambda m, x: m(x), [("x", X258)]),
    Case("LayerNorm(8, epsilon=0.5, use_bias=false) on 2x5x8",
         "LayerNorm(8, epsilon=0.5, use_bias=false)",
         lambda: nnx.LayerNorm(8, epsilon=0.5, use_bias=False, rngs=R()),
         lambda m, x: m(x), [("x", X258)]),
    Case("LayerNorm(8, use_scale=false) on 6x8", "LayerNorm(8, use_scale=false)",
         lambda: nnx.LayerNorm(8, use_scale=False, rngs=R()), lambda m, x: m(x), [("x", X68)]),
    Case("LayerNorm(8, reduction_axes=[-2, -1]) on 2x5x8", "LayerNorm(8, reduction_axes=[-2, -1])",
         lambda: nnx.LayerNorm(8, reduction_axes=(-2, -1), rngs=R()), lambda m, x: m(x),
         [("x", X258)]),
    Case("LayerNorm(5, feature_axes=-2) on 2x5x8", "LayerNorm(5, feature_axes=-2)",
         lambda: nnx.LayerNorm(5, feature_axes=-2, rngs=R()), lambda m, x: m(x), [("x", X258)]),
    Case("LayerNorm(40, reduction_axes=[-2, -1], feature_axes=[-2, -1]) on 2x5x8",
         "LayerNorm(40, reduction_axes=[-2, -1], feature_axes=[-2, -1])",
         lambda: nnx.LayerNorm(40, reduction_axes=(-2, -1), feature_axes=(-2, -1), rngs=R()),
         lambda m, x: m(x), [("x", X258)]),
    Case("RMSNorm(40, reduction_axes=[-2, -1], feature_axes=[-2, -1]) on 2x5x8",
         "RMSNorm(40, reduction_axes=[-2, -1], feature_axes=[-2, -1])",
         lambda: nnx.RMSNorm(40, reduction_axes=(-2, -1), feature_axes=(-2, -1), rngs=R()),
         lambda m, x: m(x), [("x", X258)]),
    Case("LayerNorm(8) on a constant row", "LayerNorm(8)", lambda: nnx.LayerNorm(8, rngs=R()),
         lambda m, x: m(x), [("x", np.full((2, 8), 3.0, np.float32))]),
    Case("RMSNorm(8) on 2x5x8", "RMSNorm(8)", lambda: nnx.RMSNorm(8, rngs=R()),
         lambda m, x: m(x), [("x", X258)]),
    Case("RMSNorm(8, epsilon=0.1, use_scale=false) on 6x8", "RMSNorm(8, epsilon=0.1, use_scale=false)",
         lambda: nnx.RMSNorm(8, epsilon=0.1, use_scale=False, rngs=R()), lambda m, x: m(x),
         [("x", X68)]),
    Case("GroupNorm(8, num_groups=4) on 2x4x4x8", "GroupNorm(8, num_groups=4)",
         lambda: nnx.GroupNorm(8, num_groups=4, rngs=R()), lambda m, x: m(x), [("x", XHWC)]),
    Case("GroupNorm(8, num_groups=None, group_size=2) on 2x4x4x8",
         "GroupNorm(8, num_groups=None, group_size=2)",
         lambda: nnx.GroupNorm(8, num_groups=None, group_size=2, rngs=R()), lambda m, x: m(x),
         [("x", XHWC)]),
    Case("GroupNorm(8, num_groups=2, epsilon=0.01) on 6x8", "GroupNorm(8, num_groups=2, epsilon=0.01)",
         lambda: nnx.GroupNorm(8, num_groups=2, epsilon=0.01, rngs=R()), lambda m, x: m(x),
         [("x", X68)]),
    Case("GroupNorm(8, num_groups=1) on 2x5x8", "GroupNorm(8, num_groups=1)",
         lambda: nnx.GroupNorm(8, num_groups=1, rngs=R()), lambda m, x: m(x), [("x", X258)]),
    # ---- LinearGeneral, Embed, Sequential ----------------------------------------------------
    Case("LinearGeneral(16, [4, 4]) on 2x3x16", "LinearGeneral(16, [4, 4])",
         lambda: nnx.LinearGeneral(16, (4, 4), rngs=R()), lambda m, x: m(x),
         [("x", rand((2, 3, 16), 10))]),
    Case("LinearGeneral([4, 16], 8, axis=[-2, -1]) on 3x4x16",
         "LinearGeneral([4, 16], 8, axis=[-2, -1])",
         lambda: nnx.LinearGeneral((4, 16), 8, axis=(-2, -1), rngs=R()), lambda m, x: m(x),
         [("x", rand((3, 4, 16), 11))]),
    Case("LinearGeneral(3, 5, axis=1) on 2x3x7", "LinearGeneral(3, 5, axis=1)",
         lambda: nnx.LinearGeneral(3, 5, axis=1, rngs=R()), lambda m, x: m(x),
         [("x", rand((2, 3, 7), 12))]),
    Case("LinearGeneral([2, 3], [4, 5], axis=[0, 2], use_bias=false) on 2x6x3",
         "LinearGeneral([2, 3], [4, 5], axis=[0, 2], use_bias=false)",
         lambda: nnx.LinearGeneral((2, 3), (4, 5), axis=(0, 2), use_bias=False, rngs=R()),
         lambda m, x: m(x), [("x", rand((2, 6, 3), 13))]),
    Case("Embed(10, 8) lookup with -1, 9, 10, -11", "Embed(10, 8)",
         lambda: nnx.Embed(10, 8, rngs=R()), lambda m, x: m(x),
         [("inputs", np.array([[0, 3, -1], [9, 10, -11]], dtype=np.int32))]),
    Case("Embed(10, 8) lookup of valid indices on 2x2x3", "Embed(10, 8)",
         lambda: nnx.Embed(10, 8, rngs=R()), lambda m, x: m(x),
         [("inputs", np.array([[[0, 1, 2], [7, -10, 5]], [[4, 4, 9], [-3, 6, 8]]], np.int32))]),
    Case("Embed(1, 4) broadcasts its row", "Embed(1, 4)", lambda: nnx.Embed(1, 4, rngs=R()),
         lambda m, x: m(x), [("inputs", np.array([0, 5, -3], dtype=np.int32))]),
    Case("Embed(10, 8).attend on 2x3x8", "Embed(10, 8)", lambda: nnx.Embed(10, 8, rngs=R()),
         lambda m, q: m.attend(q), [("query", rand((2, 3, 8), 14))], method="attend"),
    Case("Sequential(Linear(4, 8), relu, Linear(8, 2)) on 3x4",
         "Sequential(Linear(4, 8), relu, Linear(8, 2))",
         lambda: nnx.Sequential(nnx.Linear(4, 8, rngs=R()), nnx.relu, nnx.Linear(8, 2, rngs=R())),
         lambda m, x: m(x), [("x", rand((3, 4), 15))]),
    # ---- MultiHeadAttention ------------------------------------------------------------------
    Case("MultiHeadAttention(4, 16) on 2x5x16", "MultiHeadAttention(4, 16)", mha(4, 16),
         lambda m, x: m(x), [("inputs_q", X16)]),
    Case("MultiHeadAttention(4, 16) is_causal", "Attn(MultiHeadAttention(4, 16))",
         wrapped_mha(4, 16), lambda m, x: m.attn(x, is_causal=True), [("x", X16)],
         method="causal"),
    Case("MultiHeadAttention(4, 16) causal + padding masks of tokens",
         "Attn(MultiHeadAttention(4, 16))", wrapped_mha(4, 16),
         lambda m, x, t: m.attn(x, mask=nnx.combine_masks(
             nnx.make_causal_mask(t), nnx.make_attention_mask(t > 0, t > 0))),
         [("x", X16), ("tokens", TOKENS)], method="masked"),
    Case("MultiHeadAttention(4, 16) padding mask (padded queries fully masked)",
         "Attn(MultiHeadAttention(4, 16))", wrapped_mha(4, 16),
         lambda m, x, t: m.attn(x, mask=nnx.make_attention_mask(t > 0, t > 0)),
         [("x", X16), ("tokens", TOKENS)], method="padded"),
    Case("MultiHeadAttention(4, 16) mask with a fully masked row", "MultiHeadAttention(4, 16)",
         mha(4, 16), lambda m, x, mask: m(x, mask=mask),
         [("inputs_q", X16), ("mask", mask_with_empty_row())]),
    Case("MultiHeadAttention(4, 16) mask and is_causal", "Attn(MultiHeadAttention(4, 16))",
         wrapped_mha(4, 16), lambda m, x, mask: m.attn(x, mask=mask, is_causal=True),
         [("x", X16), ("mask", binary((2, 1, 5, 5), 8))], method="causal_and_mask"),
    Case("MultiHeadAttention(4, 16) cross-attention, inputs_k 2x7x16", "MultiHeadAttention(4, 16)",
         mha(4, 16), lambda m, q, k: m(q, k), [("inputs_q", X16), ("inputs_k", K16)]),
    Case("MultiHeadAttention(4, 16, in_kv_features=10) with inputs_k and inputs_v",
         "MultiHeadAttention(4, 16, in_kv_features=10)", mha(4, 16, in_kv_features=10),
         lambda m, q, k, v: m(q, k, v),
         [("inputs_q", X16), ("inputs_k", rand((2, 7, 10), 16)), ("inputs_v", rand((2, 7, 10), 17))]),
    Case("MultiHeadAttention(4, 16, num_kv_heads=2) (GQA)", "MultiHeadAttention(4, 16, num_kv_heads=2)",
         mha(4, 16, num_kv_heads=2), lambda m, x: m(x), [("inputs_q", X16)]),
    Case("MultiHeadAttention(4, 16, num_kv_heads=1) cross (MQA)",
         "MultiHeadAttention(4, 16, num_kv_heads=1)", mha(4, 16, num_kv_heads=1),
         lambda m, q, k: m(q, k), [("inputs_q", X16), ("inputs_k", K16)]),
    Case("MultiHeadAttention(4, 16, normalize_qk=true)", "MultiHeadAttention(4, 16, normalize_qk=true)",
         mha(4, 16, normalize_qk=True), lambda m, x: m(x), [("inputs_q", X16)]),
    Case("MultiHeadAttention(4, 16, qkv_features=8, out_features=12)",
         "MultiHeadAttention(4, 16, qkv_features=8, out_features=12)",
         mha(4, 16, qkv_features=8, out_features=12), lambda m, x: m(x), [("inputs_q", X16)]),
    Case("MultiHeadAttention(4, 16, use_bias=false)", "MultiHeadAttention(4, 16, use_bias=false)",
         mha(4, 16, use_bias=False), lambda m, x: m(x), [("inputs_q", X16)]),
    Case("MultiHeadAttention(4, 16) unbatched 5x16", "MultiHeadAttention(4, 16)", mha(4, 16),
         lambda m, x: m(x), [("inputs_q", X16[0])]),
    Case("MultiHeadAttention(4, 16) unbatched is_causal", "Attn(MultiHeadAttention(4, 16))",
         wrapped_mha(4, 16), lambda m, x: m.attn(x, is_causal=True), [("x", X16[1])],
         method="causal"),
    Case("MultiHeadAttention(4, 16) on 3x2x5x16 (two batch axes)", "MultiHeadAttention(4, 16)",
         mha(4, 16), lambda m, x: m(x), [("inputs_q", rand((3, 2, 5, 16), 18))]),
    # ---- attention functions, masks, einsum --------------------------------------------------
    fns("dpa", nnx.dot_product_attention, QKV, "dot_product_attention 2x5x4x8, kv 2x7x4x8"),
    fns("dpa_mask", lambda q, k, v, mask: nnx.dot_product_attention(q, k, v, mask=mask),
        QKV + [("mask", DPA_MASK)], "dot_product_attention with a mask (a fully masked row)"),
    fns("dpa_bias", lambda q, k, v, b: nnx.dot_product_attention(q, k, v, bias=b),
        QKV + [("bias", rand((2, 4, 5, 7), 34))], "dot_product_attention with a bias"),
    fns("dpa_causal", lambda q, k, v: nnx.dot_product_attention(q, k, v, is_causal=True),
        [("query", QUERY), ("key", KEY[:, :5]), ("value", VALUE[:, :5])],
        "dot_product_attention is_causal 5x5"),
    fns("dpa_causal", lambda q, k, v: nnx.dot_product_attention(q, k, v, is_causal=True),
        QKV, "dot_product_attention is_causal q 5, kv 7"),
    fns("dpa", nnx.dot_product_attention,
        [("query", QUERY), ("key", KEY[:, :, :2]), ("value", VALUE[:, :, :2])],
        "dot_product_attention GQA 4 heads, 2 kv heads"),
    fns("dpa", nnx.dot_product_attention,
        [("query", rand((3, 2, 5, 4, 8), 35)), ("key", rand((3, 2, 7, 4, 8), 36)),
         ("value", rand((3, 2, 7, 4, 8), 37))], "dot_product_attention two batch axes"),
    fns("causal_mask", nnx.make_causal_mask, [("x", rand((2, 5), 40))], "make_causal_mask 2x5"),
    fns("causal_mask_extra", lambda x: nnx.make_causal_mask(x, extra_batch_dims=2),
        [("x", rand((3, 4), 41))], "make_causal_mask extra_batch_dims=2"),
    fns("attention_mask", nnx.make_attention_mask,
        [("q", binary((2, 5), 42)), ("k", rand((2, 7), 43))], "make_attention_mask 2x5, 2x7"),
    fns("attention_mask", nnx.make_attention_mask,
        [("q", TOKENS > 0), ("k", TOKENS > 0)], "make_attention_mask of bool tokens > 0"),
    fns("attention_mask_ge",
        lambda q, k: nnx.make_attention_mask(q, k, pairwise_fn=jnp.greater_equal,
                                             extra_batch_dims=1),
        [("q", rand((2, 5), 44)), ("k", rand((2, 7), 45))],
        "make_attention_mask pairwise_fn=greater_equal, extra_batch_dims=1"),
    fns("combine", lambda a, b: nnx.combine_masks(a, None, b),
        [("a", binary((2, 1, 5, 5), 46)), ("b", rand((2, 1, 5, 5), 47))],
        "combine_masks(a, None, b)"),
    fns("combine3", nnx.combine_masks,
        [("a", binary((2, 1, 5, 5), 48)), ("b", binary((2, 1, 5, 5), 49)),
         ("c", binary((2, 1, 5, 5), 50, 0.9))], "combine_masks(a, b, c)"),
    einsum_case("bij,bjk->bik", (2, 3, 4), (2, 4, 5)),
    einsum_case("bqhd,bkhd->bhqk", (2, 5, 3, 4), (2, 7, 3, 4)),
    einsum_case("bhqk,bkhd->bqhd", (2, 3, 5, 7), (2, 7, 3, 4)),
    einsum_case("ij->ji", (3, 4)),
    einsum_case("ij->", (3, 4)),
    einsum_case("i,j->ij", (3,), (4,)),
    einsum_case("bij->b", (2, 3, 4)),
]


def masked_row_is_mean(tmp, backend):
    """dot_product_attention's fully masked query (DPA_MASK[1, 0, 3] is all 0) gives the mean of
    the values over the keys, as jax.nn.dot_product_attention (-0.7 * f32 max logits)."""
    y = os.path.join(tmp, "y.npy")
    nnxrun("run", *files(), "--model", "Fns()", "--method", "dpa_mask",
           *save_inputs(tmp, QKV + [("mask", DPA_MASK)]), "--backend", backend, "--output", y)
    return compare(np.load(y)[1, 3], VALUE[1].mean(axis=0), "the fully masked row")


# Constructions and inputs Flax rejects (ValueError): nnx must reject them too (any error).
REJECTS = [
    ("GroupNorm(6) (num_groups defaults to 32)", ["params", "--model", "GroupNorm(6)"],
     lambda: nnx.GroupNorm(6, rngs=R())),
    ("GroupNorm(8, num_groups=4, group_size=2) (both given)",
     ["params", "--model", "GroupNorm(8, num_groups=4, group_size=2)"],
     lambda: nnx.GroupNorm(8, num_groups=4, group_size=2, rngs=R())),
    ("MultiHeadAttention(3, 16) (16 not divisible by 3 heads)",
     ["params", "--model", "MultiHeadAttention(3, 16)"],
     lambda: nnx.MultiHeadAttention(3, 16, decode=False, rngs=R())),
    ("LinearGeneral([4, 16], 8) (one axis for two in_features)",
     ["params", "--model", "LinearGeneral([4, 16], 8)"],
     lambda: nnx.LinearGeneral((4, 16), 8, rngs=R())),
    ("Embed(10, 8) with float indices",
     ["run", "--model", "Embed(10, 8)", "--input", "inputs=randn(2, 3)"],
     lambda: nnx.Embed(10, 8, rngs=R())(jnp.zeros((2, 3)))),
]


def rejects(tmp, args, flax, errors=(ValueError,)):
    try:
        flax()
        return "flax accepts it (the check's premise is wrong)"
    except errors:
        pass
    proc = run([NNXRUN, args[0], *files(), *args[1:]], check=False)
    names = " or ".join(e.__name__ for e in errors)
    return None if proc.returncode != 0 else f"nnx accepts it; flax raises {names}"


# ---- gradients ----------------------------------------------------------------------------------
class GradCase:
    """nnxrun grad of layers.nnx's loss_fn(model, x, t) = mean((model(x) - t) ** 2) against
    nnx.value_and_grad of the same loss (Flax's model built by `make`, nnx's weights loaded;
    call(m, x): Flax's counterpart of nnx's model(x), default m(x); weights: as Case's)."""

    def __init__(self, label, expr, make, x, mode="eval", call=None, weights=None):
        self.call = call or (lambda m, x: m(x))
        self.case = Case(label, expr, make, self.call, [("x", x)], mode=mode, weights=weights)
        self.label, self.expr, self.x, self.mode = label, expr, x, mode
        self._flax = None

    def reference(self):
        if self._flax is None:
            p = self.case.prepare()  # the forward reference gives the target's shape
            t = rand(p["reference"][0].shape, 60)
            tf = os.path.join(p["dir"], "t.npy")
            np.save(tf, t)
            model = nnx.eval_shape(self.case.make)
            for k, var in var_tree(model).items():
                var.set_value(jnp.asarray(p["weights"][k]))
            x = jnp.asarray(self.x)
            call = self.call
            loss, grads = nnx.jit(nnx.value_and_grad(
                lambda m: jnp.mean((call(m, x) - t) ** 2)))(model)
            flat = {".".join(map(str, path)): np.asarray(v.get_value())
                    for path, v in nnx.to_flat_state(grads)}
            self._flax = (p, tf, float(loss), flat)
        return self._flax

    def check(self, tmp, backend):
        p, tf, loss, flat = self.reference()
        g = os.path.join(tmp, "g.safetensors")
        out = nnxrun("grad", *files(), "--model", self.expr, "--loss", "loss_fn", *p["load"],
                     *p["inputs"], "--input", f"t={tf}", "--mode", self.mode,
                     "--backend", backend, "--output", g).stdout
        ours_loss = float(out.split()[1].rstrip(";"))
        ours = read_safetensors(g)
        if set(flat) != set(ours):
            return f"gradient names differ: flax {sorted(flat)} vs nnx {sorted(ours)}"
        problem = compare(np.float32(ours_loss), np.float32(loss), "loss")
        # A leaf whose gradient is much smaller than the others' is compared to 1e-5 of a
        # hundredth of the largest gradient element: MultiHeadAttention's key.bias has a zero
        # gradient in exact arithmetic (it adds the same logit to every key), so both sides
        # hold rounding noise of ~1e-8.
        floor = 0.01 * max(float(np.max(np.abs(v))) for v in flat.values())
        for k in sorted(flat):
            problem = problem or compare(ours[k], flat[k], f"gradient `{k}`", floor=floor)
        return problem


GRADS = [
    GradCase("LayerNorm(8) grads on 2x5x8", "LayerNorm(8)", lambda: nnx.LayerNorm(8, rngs=R()),
             X258),
    GradCase("BatchNorm(8) train grads on 6x8", "BatchNorm(8)",
             flax_bn(8, use_running_average=False), X68, mode="train"),
    GradCase("MultiHeadAttention(4, 16) grads on 2x5x16", "MultiHeadAttention(4, 16)",
             mha(4, 16), X16),
    GradCase("MultiHeadAttention(4, 16, num_kv_heads=2, normalize_qk=true) grads",
             "MultiHeadAttention(4, 16, num_kv_heads=2, normalize_qk=true)",
             mha(4, 16, num_kv_heads=2, normalize_qk=True), X16),
    GradCase("Embed(10, 8) grads (repeated and negative indices)", "Embed(10, 8)",
             lambda: nnx.Embed(10, 8, rngs=R()),
             np.array([[1, 3, 3, -1], [9, 1, 0, 3]], dtype=np.int32)),
    GradCase("LinearGeneral([4, 16], 8, axis=[-2, -1]) grads on 3x4x16",
             "LinearGeneral([4, 16], 8, axis=[-2, -1])",
             lambda: nnx.LinearGeneral((4, 16), 8, axis=(-2, -1), rngs=R()),
             rand((3, 4, 16), 11)),
    GradCase("GroupNorm(8, num_groups=4) grads on 2x4x4x8", "GroupNorm(8, num_groups=4)",
             lambda: nnx.GroupNorm(8, num_groups=4, rngs=R()), XHWC),
]


# ---- convolutions and pooling -------------------------------------------------------------------
def nx(v):
    """A Python value as nnx source: "SAME" -> '"SAME"', (1, 2) -> '[1, 2]', True -> 'true'."""
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(nx(e) for e in v) + "]"
    return repr(v)


def tuples(v):
    """nnx's lists as the tuples Flax and lax want: [[1, 2], [0, 1]] -> ((1, 2), (0, 1))."""
    return tuple(tuples(e) for e in v) if isinstance(v, (list, tuple)) else v


def dims(x):
    return "x".join(map(str, np.shape(x)))


def conv(*args, **kw):
    return lambda: nnx.Conv(*args, rngs=R(), **kw)


def conv_t(*args, **kw):
    return lambda: nnx.ConvTranspose(*args, rngs=R(), **kw)


def layer_case(expr, make, x, label=None):
    """Conv / ConvTranspose `expr` (its __call__(inputs)) on x."""
    return Case(label or f"{expr} on {dims(x)}", expr, make, lambda m, x: m(x), [("inputs", x)])


def pool_case(kind, x, window, strides=None, padding="VALID", count_include_pad=True, note=""):
    """layers.nnx's Pool(...).<kind> against flax.nnx.<kind>_pool."""
    args = [nx(list(window))]
    if strides is not None:
        args.append(f"strides={nx(list(strides))}")
    if padding != "VALID":
        args.append(f"padding={nx(padding)}")
    if not count_include_pad:
        args.append("count_include_pad=false")
    expr = f"Pool({', '.join(args)})"
    kw = {"strides": tuples(strides), "padding": tuples(padding)}
    if kind == "avg":
        kw["count_include_pad"] = count_include_pad
    fn = {"max": nnx.max_pool, "min": nnx.min_pool, "avg": nnx.avg_pool}[kind]
    return Case(f"{kind}_pool(x, {', '.join(args)}) on {dims(x)}{note}", expr, None,
                lambda m, x: fn(x, tuples(window), **kw), [("x", x)], method=kind)


def lax_case(lhs, rhs, strides, padding, lhs_dilation=None, rhs_dilation=None, groups=1,
             label=None):
    """layers.nnx's Lax (the built-in conv_general_dilated) against
    jax.lax.conv_general_dilated with channels-last dimension numbers (NHWC, HWIO, NHWC for
    2-d); an int padding p is lax's [(p, p)] per axis."""
    n = np.ndim(lhs) - 2
    args = [nx(list(strides)), nx(padding)]
    if lhs_dilation is not None:
        args.append(f"lhs_dilation={nx(list(lhs_dilation))}")
    if rhs_dilation is not None:
        args.append(f"rhs_dilation={nx(list(rhs_dilation))}")
    if groups != 1:
        args.append(f"feature_group_count={groups}")
    expr = f"Lax({', '.join(args)})"
    spatial = "DHW"[3 - n:]
    dn = (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")
    pads = [(padding, padding)] * n if isinstance(padding, int) else tuples(padding)

    def call(m, a, b):
        return jax.lax.conv_general_dilated(a, b, tuple(strides), pads, lhs_dilation,
                                            rhs_dilation, dimension_numbers=dn,
                                            feature_group_count=groups)

    return Case(label or f"conv_general_dilated(lhs, rhs, {', '.join(args)}) on {dims(lhs)}, "
                         f"{dims(rhs)} vs lax",
                expr, None, call, [("lhs", lhs), ("rhs", rhs)])


class TiedFlax(nnx.Module):
    """layers.nnx's Tied: a pool of the Param `data` (relu'd first) plus x."""

    def __init__(self, shape, pool, relu_first=True):
        self.data = nnx.Param(jnp.zeros(shape))
        self.pool, self.relu_first = pool, relu_first

    def __call__(self, x):
        v = self.data[...]
        if self.relu_first:
            v = jax.nn.relu(v)
        return self.pool(v + x)


def tied_data(shape, seed):
    """Small integers -1..2: most pooling windows hold ties (relu'd: ties at 0, 1 and 2)."""
    return np.random.default_rng(seed).integers(-1, 3, shape).astype(np.float32)


def tied_grad(kind, shape, window, strides=None, padding="VALID", relu_first=True, seed=90):
    """The gradient of a pool with respect to its input (the Param `data` of Tied) on data full
    of ties, against jax.grad: each window's gradient goes to one element (the first extremum)."""
    args = [nx(list(shape)), nx(kind), nx(list(window))]
    if strides is not None:
        args.append(f"strides={nx(list(strides))}")
    if padding != "VALID":
        args.append(f"padding={nx(padding)}")
    if not relu_first:
        args.append("relu_first=false")
    expr = f"Tied({', '.join(args)})"
    fn = {"max": nnx.max_pool, "min": nnx.min_pool, "avg": nnx.avg_pool}[kind]

    def pool(v):
        return fn(v, tuples(window), strides=tuples(strides), padding=tuples(padding))

    data = tied_data(shape, seed)
    what = "relu'd " if relu_first else ""
    return GradCase(f"{kind}_pool grads on {what}tied {dims(data)} data, {expr}", expr,
                    lambda: TiedFlax(shape, pool, relu_first), np.zeros(shape, np.float32),
                    weights=lambda w: {"data": data})


XC = rand((2, 7, 6, 4), 70)        # NHWC, 4 features
XC1 = rand((2, 9, 3), 71)          # 1-d: NWC
XC3 = rand((2, 4, 5, 3, 2), 72)    # 3-d: NDHWC
XCT = rand((2, 4, 5, 4), 73)       # ConvTranspose inputs
XP = rand((2, 7, 6, 3), 74)        # pools
MASK = (np.random.default_rng(75).uniform(size=(2, 2, 2, 3)) < 0.6).astype(np.float32)


class MaskedConv(nnx.Conv):
    """nnx.Conv with its mask kept out of the graph (nnx.eval_shape makes an array attribute
    abstract): the constant MASK."""
    mask = property(lambda self: MASK, lambda self, value: None)

CONV_CASES = [
    # ---- Conv ------------------------------------------------------------------------------
    layer_case("Conv(4, 6, kernel_size=[3, 3])", conv(4, 6, kernel_size=(3, 3)), XC),
    layer_case("Conv(4, 6, kernel_size=[3, 3], strides=2, padding=\"VALID\")",
               conv(4, 6, kernel_size=(3, 3), strides=2, padding="VALID"), XC),
    layer_case("Conv(4, 6, kernel_size=[4, 4], strides=2)",
               conv(4, 6, kernel_size=(4, 4), strides=2), XC),
    layer_case("Conv(4, 6, kernel_size=[3, 2], padding=[[1, 2], [0, 1]])",
               conv(4, 6, kernel_size=(3, 2), padding=((1, 2), (0, 1))), XC),
    layer_case("Conv(4, 6, kernel_size=[3, 3], padding=1)",
               conv(4, 6, kernel_size=(3, 3), padding=1), XC),
    layer_case("Conv(4, 6, kernel_size=[3, 3], padding=[2, 0])",
               conv(4, 6, kernel_size=(3, 3), padding=[2, 0]), XC),
    layer_case("Conv(4, 6, kernel_size=[3, 3], kernel_dilation=2)",
               conv(4, 6, kernel_size=(3, 3), kernel_dilation=2), XC),
    # lax takes an input dilation with explicit padding only (a string is a ValueError)
    layer_case("Conv(4, 6, kernel_size=[3, 3], input_dilation=2, padding=1)",
               conv(4, 6, kernel_size=(3, 3), input_dilation=2, padding=1), XC),
    layer_case("Conv(4, 6, kernel_size=[2, 3], strides=[2, 1], input_dilation=[2, 1], "
               "kernel_dilation=[1, 2], padding=[[1, 0], [0, 2]])",
               conv(4, 6, kernel_size=(2, 3), strides=(2, 1), input_dilation=(2, 1),
                    kernel_dilation=(1, 2), padding=((1, 0), (0, 2))), XC),
    layer_case("Conv(4, 6, kernel_size=[3, 3], feature_group_count=2)",
               conv(4, 6, kernel_size=(3, 3), feature_group_count=2), XC),
    layer_case("Conv(4, 4, kernel_size=[3, 3], feature_group_count=4)",
               conv(4, 4, kernel_size=(3, 3), feature_group_count=4), XC,
               "Conv(4, 4, kernel_size=[3, 3], feature_group_count=4) (depthwise) on 2x7x6x4"),
    layer_case("Conv(4, 8, kernel_size=[3, 3], strides=2, feature_group_count=4)",
               conv(4, 8, kernel_size=(3, 3), strides=2, feature_group_count=4), XC,
               "Conv(4, 8, kernel_size=[3, 3], strides=2, feature_group_count=4) (depthwise x2)"),
    layer_case("Conv(4, 6, kernel_size=[3, 3], use_bias=false)",
               conv(4, 6, kernel_size=(3, 3), use_bias=False), XC),
    # Flax's mask is a constant array; nnx's module bodies cannot make one (see the report)
    layer_case(f"Conv(2, 3, kernel_size=[2, 2], mask={nx(MASK.tolist())})",
               lambda: MaskedConv(2, 3, kernel_size=(2, 2), mask=MASK, rngs=R()), XC[..., :2],
               "Conv(2, 3, kernel_size=[2, 2], mask=<constant 2x2x2x3 0/1>) on 2x7x6x2"),
    layer_case("Conv(3, 5, kernel_size=3, padding=\"CAUSAL\", kernel_dilation=2)",
               conv(3, 5, kernel_size=3, padding="CAUSAL", kernel_dilation=2), XC1),
    layer_case("Conv(3, 5, kernel_size=4, strides=2)", conv(3, 5, kernel_size=4, strides=2), XC1),
    layer_case("Conv(2, 3, kernel_size=[2, 3, 2], strides=[1, 2, 1])",
               conv(2, 3, kernel_size=(2, 3, 2), strides=(1, 2, 1)), XC3),
    layer_case("Conv(4, 6, kernel_size=[3, 3])", conv(4, 6, kernel_size=(3, 3)), XC[0],
               "Conv(4, 6, kernel_size=[3, 3]) unbatched 7x6x4"),
    layer_case("Conv(4, 6, kernel_size=[3, 3], strides=2)",
               conv(4, 6, kernel_size=(3, 3), strides=2), rand((3, 2, 5, 5, 4), 76),
               "Conv(4, 6, kernel_size=[3, 3], strides=2) on 3x2x5x5x4 (two batch axes)"),
    layer_case("Conv(3, 5, kernel_size=3, padding=\"CAUSAL\")",
               conv(3, 5, kernel_size=3, padding="CAUSAL"), XC1[0],
               "Conv(3, 5, kernel_size=3, padding=\"CAUSAL\") unbatched 9x3"),
    # ---- ConvTranspose ---------------------------------------------------------------------
    layer_case("ConvTranspose(4, 3, kernel_size=[3, 3], strides=2)",
               conv_t(4, 3, kernel_size=(3, 3), strides=2), XCT),
    layer_case("ConvTranspose(4, 3, kernel_size=[3, 3], strides=2, padding=\"VALID\")",
               conv_t(4, 3, kernel_size=(3, 3), strides=2, padding="VALID"), XCT),
    layer_case("ConvTranspose(4, 3, kernel_size=[4, 4], strides=2)",
               conv_t(4, 3, kernel_size=(4, 4), strides=2), XCT),
    layer_case("ConvTranspose(4, 3, kernel_size=[2, 2], strides=3)",
               conv_t(4, 3, kernel_size=(2, 2), strides=3), XCT),
    layer_case("ConvTranspose(4, 3, kernel_size=[3, 3], kernel_dilation=2)",
               conv_t(4, 3, kernel_size=(3, 3), kernel_dilation=2), XCT),
    layer_case("ConvTranspose(4, 3, kernel_size=[3, 3], strides=2, kernel_dilation=[1, 2], "
               "padding=\"VALID\")",
               conv_t(4, 3, kernel_size=(3, 3), strides=2, kernel_dilation=(1, 2),
                      padding="VALID"), XCT),
    layer_case("ConvTranspose(4, 3, kernel_size=[3, 3], strides=[2, 1], padding=[[1, 2], [0, 1]])",
               conv_t(4, 3, kernel_size=(3, 3), strides=(2, 1), padding=((1, 2), (0, 1))), XCT),
    layer_case("ConvTranspose(4, 3, kernel_size=[3, 3], strides=2, padding=1, use_bias=false)",
               conv_t(4, 3, kernel_size=(3, 3), strides=2, padding=1, use_bias=False), XCT),
    layer_case("ConvTranspose(4, 3, kernel_size=[3, 3], strides=2, transpose_kernel=true)",
               conv_t(4, 3, kernel_size=(3, 3), strides=2, transpose_kernel=True), XCT),
    layer_case("ConvTranspose(4, 3, kernel_size=[3, 2], strides=2, padding=\"VALID\", "
               "transpose_kernel=true)",
               conv_t(4, 3, kernel_size=(3, 2), strides=2, padding="VALID",
                      transpose_kernel=True), XCT),
    layer_case("ConvTranspose(3, 2, kernel_size=5, strides=2)",
               conv_t(3, 2, kernel_size=5, strides=2), XC1),
    layer_case("ConvTranspose(3, 2, kernel_size=3, strides=3, padding=\"VALID\")",
               conv_t(3, 2, kernel_size=3, strides=3, padding="VALID"), XC1),
    layer_case("ConvTranspose(4, 3, kernel_size=[3, 3], strides=2)",
               conv_t(4, 3, kernel_size=(3, 3), strides=2), XCT[1],
               "ConvTranspose(4, 3, kernel_size=[3, 3], strides=2) unbatched 4x5x4"),
    layer_case("ConvTranspose(4, 3, kernel_size=[3, 3], strides=2)",
               conv_t(4, 3, kernel_size=(3, 3), strides=2), rand((3, 2, 3, 4, 4), 77),
               "ConvTranspose(4, 3, kernel_size=[3, 3], strides=2) on 3x2x3x4x4 (two batch axes)"),
    # ---- pools -----------------------------------------------------------------------------
    pool_case("max", XP, [2, 2], [2, 2]),
    pool_case("max", XP, [3, 3], [2, 2], "SAME"),
    pool_case("max", XP, [3, 2], [1, 2], [[1, 1], [0, 1]]),
    pool_case("max", XP, [2, 3]),
    pool_case("min", XP, [3, 3], padding="SAME"),
    pool_case("min", XP, [2, 2], [2, 2]),
    pool_case("avg", XP, [3, 3], [2, 2], "SAME"),
    pool_case("avg", XP, [3, 3], [2, 2], "SAME", count_include_pad=False),
    pool_case("avg", XP, [2, 2]),
    pool_case("avg", XP, [3, 2], [2, 1], [[2, 1], [1, 0]], count_include_pad=False),
    pool_case("max", XP[0], [3, 3], [2, 2], "SAME", note=" (unbatched)"),
    pool_case("avg", XP[1], [3, 3], [2, 2], "SAME", count_include_pad=False,
              note=" (unbatched)"),
    pool_case("max", XC1, [3], [2], "SAME"),
    pool_case("avg", XC3, [2, 2, 2], [1, 2, 1], "SAME", count_include_pad=False),
    pool_case("max", rand((3, 2, 5, 5, 3), 78), [2, 2], [2, 2], "SAME",
              note=" (two batch axes)"),
    pool_case("avg", rand((3, 2, 5, 5, 3), 79), [3, 3], None, "SAME", count_include_pad=False,
              note=" (two batch axes)"),
    pool_case("max", np.maximum(tied_data((2, 6, 6, 3), 80), 0), [3, 3], [2, 2], "SAME",
              note=" (relu'd tied data)"),
    # lax.reduce_window crops a negative padding, as lax.conv_general_dilated does
    pool_case("max", XP, [2, 2], [2, 2], [[-1, 0], [0, -1]], note=" (negative padding crops)"),
    # ---- conv_general_dilated against lax --------------------------------------------------
    lax_case(XC, rand((3, 3, 4, 5), 82), [1, 1], "SAME"),
    lax_case(XC, rand((3, 2, 4, 5), 83), [2, 1], "VALID"),
    lax_case(XC, rand((3, 3, 4, 5), 84), [2, 1], [[1, 2], [0, 1]], [1, 2], [2, 1]),
    lax_case(XC, rand((2, 3, 4, 5), 85), [1, 2], [[2, 0], [1, 1]], [2, 2], [1, 3]),
    lax_case(XC, rand((3, 3, 2, 6), 86), [1, 1], 2, groups=2),
    lax_case(XC, rand((3, 3, 1, 8), 87), [2, 2], "SAME", groups=4),
    lax_case(XC1, rand((4, 3, 5), 88), [3], [[3, 2]], [2], [3]),
    lax_case(XC3, rand((2, 2, 2, 2, 3), 89), [2, 1, 1], [[0, 1], [1, 1], [0, 0]], None,
             [1, 2, 1]),
    # lax pads a negative amount by cropping
    lax_case(XC, rand((3, 3, 4, 5), 91), [1, 1], [[-1, 0], [0, -2]],
             label="conv_general_dilated negative padding [[-1, 0], [0, -2]] (lax crops) vs lax"),
]

CONV_GRADS = [
    GradCase("Conv(4, 6, kernel_size=[3, 3]) grads on 2x7x6x4", "Conv(4, 6, kernel_size=[3, 3])",
             conv(4, 6, kernel_size=(3, 3)), XC),
    GradCase("Conv(4, 6, kernel_size=[3, 3], strides=2, padding=\"VALID\") grads",
             "Conv(4, 6, kernel_size=[3, 3], strides=2, padding=\"VALID\")",
             conv(4, 6, kernel_size=(3, 3), strides=2, padding="VALID"), XC),
    GradCase("Conv(4, 6, kernel_size=[3, 3], strides=[1, 2], padding=[[1, 1], [2, 0]], "
             "input_dilation=2, kernel_dilation=[1, 2]) grads",
             "Conv(4, 6, kernel_size=[3, 3], strides=[1, 2], padding=[[1, 1], [2, 0]], "
             "input_dilation=2, kernel_dilation=[1, 2])",
             conv(4, 6, kernel_size=(3, 3), strides=(1, 2), padding=((1, 1), (2, 0)),
                  input_dilation=2, kernel_dilation=(1, 2)), XC),
    GradCase("Conv(4, 6, kernel_size=[3, 3], feature_group_count=2) grads",
             "Conv(4, 6, kernel_size=[3, 3], feature_group_count=2)",
             conv(4, 6, kernel_size=(3, 3), feature_group_count=2), XC),
    GradCase("Conv(3, 5, kernel_size=3, padding=\"CAUSAL\", kernel_dilation=2) grads on 2x9x3",
             "Conv(3, 5, kernel_size=3, padding=\"CAUSAL\", kernel_dilation=2)",
             conv(3, 5, kernel_size=3, padding="CAUSAL", kernel_dilation=2), XC1),
    GradCase("ConvTranspose(4, 3, kernel_size=[3, 3], strides=2) grads on 2x4x5x4",
             "ConvTranspose(4, 3, kernel_size=[3, 3], strides=2)",
             conv_t(4, 3, kernel_size=(3, 3), strides=2), XCT),
    GradCase("ConvTranspose(4, 3, kernel_size=[3, 2], strides=2, padding=\"VALID\", "
             "transpose_kernel=true) grads",
             "ConvTranspose(4, 3, kernel_size=[3, 2], strides=2, padding=\"VALID\", "
             "transpose_kernel=true)",
             conv_t(4, 3, kernel_size=(3, 2), strides=2, padding="VALID", transpose_kernel=True),
             XCT),
    GradCase("Sequential(Conv(4, 6, kernel_size=[3, 3], strides=2), relu, Conv(6, 3, "
             "kernel_size=[3, 3], kernel_dilation=2)) grads (a convolution's input gradient)",
             "Sequential(Conv(4, 6, kernel_size=[3, 3], strides=2), relu, "
             "Conv(6, 3, kernel_size=[3, 3], kernel_dilation=2))",
             lambda: nnx.Sequential(nnx.Conv(4, 6, kernel_size=(3, 3), strides=2, rngs=R()),
                                    nnx.relu,
                                    nnx.Conv(6, 3, kernel_size=(3, 3), kernel_dilation=2,
                                             rngs=R())), XC),
    GradCase("max_pool(relu(Conv(4, 6, kernel_size=[3, 3])(x)), [3, 3], strides=[2, 2], "
             "padding=\"SAME\") grads",
             "ConvPool(Conv(4, 6, kernel_size=[3, 3]), \"max\", [3, 3], strides=[2, 2], "
             "padding=\"SAME\")",
             lambda: Wrap(conv=nnx.Conv(4, 6, kernel_size=(3, 3), rngs=R())), XC,
             call=lambda m, x: nnx.max_pool(nnx.relu(m.conv(x)), (3, 3), strides=(2, 2),
                                            padding="SAME")),
    GradCase("avg_pool(relu(Conv(4, 6, kernel_size=[3, 3])(x)), [2, 2], padding=\"SAME\", "
             "count_include_pad=false) grads",
             "ConvPool(Conv(4, 6, kernel_size=[3, 3]), \"avg\", [2, 2], padding=\"SAME\", "
             "count_include_pad=false)",
             lambda: Wrap(conv=nnx.Conv(4, 6, kernel_size=(3, 3), rngs=R())), XC,
             call=lambda m, x: nnx.avg_pool(nnx.relu(m.conv(x)), (2, 2), padding="SAME",
                                            count_include_pad=False)),
    tied_grad("max", (2, 6, 6, 3), [3, 3], [2, 2], "SAME"),
    tied_grad("max", (2, 6, 5, 3), [2, 2], seed=92),
    tied_grad("max", (2, 6, 5, 3), [3, 2], [1, 1], [[1, 1], [1, 0]], relu_first=False, seed=93),
    tied_grad("min", (2, 6, 6, 3), [3, 3], [2, 2], "SAME", relu_first=False, seed=94),
    tied_grad("avg", (2, 6, 6, 3), [3, 3], [2, 2], "SAME", seed=95),
]

# Constructions and inputs Flax or lax reject (the error type each raises): nnx must reject them.
CONV_REJECTS = [
    ("Conv(3, 4, kernel_size=3, feature_group_count=2) (3 features in 2 groups; flax asserts at "
     "the call)", ["run", "--model", "Conv(3, 4, kernel_size=3, feature_group_count=2)",
                   "--input", "inputs=randn(2, 5, 3)"],
     lambda: nnx.Conv(3, 4, kernel_size=3, feature_group_count=2, rngs=R())(jnp.ones((2, 5, 3))),
     (AssertionError,)),
    ("Conv(4, 3, kernel_size=3, feature_group_count=2) (3 out features in 2 groups)",
     ["run", "--model", "Conv(4, 3, kernel_size=3, feature_group_count=2)",
      "--input", "inputs=randn(2, 5, 4)"],
     lambda: nnx.Conv(4, 3, kernel_size=3, feature_group_count=2, rngs=R())(jnp.ones((2, 5, 4))),
     (ValueError,)),
    ("Conv(3, 4, kernel_size=[3, 3]) on 2x5x5x2 (2 channels, 3 expected)",
     ["run", "--model", "Conv(3, 4, kernel_size=[3, 3])", "--input", "inputs=randn(2, 5, 5, 2)"],
     lambda: nnx.Conv(3, 4, kernel_size=(3, 3), rngs=R())(jnp.ones((2, 5, 5, 2))), (ValueError,)),
    ("ConvTranspose(3, 4, kernel_size=[3, 3]) on 2x5x5x2 (2 channels, 3 expected)",
     ["run", "--model", "ConvTranspose(3, 4, kernel_size=[3, 3])",
      "--input", "inputs=randn(2, 5, 5, 2)"],
     lambda: nnx.ConvTranspose(3, 4, kernel_size=(3, 3), rngs=R())(jnp.ones((2, 5, 5, 2))),
     (ValueError, TypeError)),
    ("Conv(1, 2, kernel_size=3) on a vector of 4 (no feature axis)",
     ["run", "--model", "Conv(1, 2, kernel_size=3)", "--input", "inputs=randn(4)"],
     lambda: nnx.Conv(1, 2, kernel_size=3, rngs=R())(jnp.ones((4,))), (ValueError,)),
    ("Conv(2, 3, kernel_size=[3, 3], padding=\"CAUSAL\") (2-d)",
     ["run", "--model", "Conv(2, 3, kernel_size=[3, 3], padding=\"CAUSAL\")",
      "--input", "inputs=randn(1, 4, 4, 2)"],
     lambda: nnx.Conv(2, 3, kernel_size=(3, 3), padding="CAUSAL", rngs=R())(jnp.ones((1, 4, 4, 2))),
     (ValueError,)),
    ("Conv(2, 3, kernel_size=[3, 3], padding=\"FOO\")",
     ["run", "--model", "Conv(2, 3, kernel_size=[3, 3], padding=\"FOO\")",
      "--input", "inputs=randn(1, 4, 4, 2)"],
     lambda: nnx.Conv(2, 3, kernel_size=(3, 3), padding="FOO", rngs=R())(jnp.ones((1, 4, 4, 2))),
     (RuntimeError, ValueError)),
    ("max_pool [2, 2] with strides [2] (one stride for two window axes)",
     ["run", "--model", "Pool([2, 2], strides=[2])", "--method", "max",
      "--input", "x=randn(1, 4, 4, 1)"],
     lambda: nnx.max_pool(jnp.ones((1, 4, 4, 1)), (2, 2), strides=(2,)), (AssertionError,)),
    # lax raises for a string padding with an input (lhs) dilation; so does nnx (E0231)
    ("Conv(4, 6, kernel_size=[3, 3], input_dilation=2) (string padding with an input dilation)",
     ["run", "--model", "Conv(4, 6, kernel_size=[3, 3], input_dilation=2)",
      "--input", "inputs=randn(2, 5, 5, 4)"],
     lambda: nnx.Conv(4, 6, kernel_size=(3, 3), input_dilation=2, rngs=R())(jnp.ones((2, 5, 5, 4))),
     (ValueError,)),
    ("conv_general_dilated(lhs, rhs, [1, 1], \"VALID\", [2, 1]) (string padding with an lhs "
     "dilation)", ["run", "--model", "Lax([1, 1], \"VALID\", lhs_dilation=[2, 1])",
                   "--input", "lhs=randn(1, 4, 4, 3)", "--input", "rhs=randn(3, 3, 3, 4)"],
     lambda: jax.lax.conv_general_dilated(jnp.ones((1, 4, 4, 3)), jnp.ones((3, 3, 3, 4)),
                                          (1, 1), "VALID", (2, 1),
                                          dimension_numbers=("NHWC", "HWIO", "NHWC")),
     (ValueError,)),
    ("conv_general_dilated with 3 input channels and a kernel for 2",
     ["run", "--model", "Lax([1, 1], \"SAME\")", "--input", "lhs=randn(1, 4, 4, 3)",
      "--input", "rhs=randn(3, 3, 2, 4)"],
     lambda: jax.lax.conv_general_dilated(jnp.ones((1, 4, 4, 3)), jnp.ones((3, 3, 2, 4)),
                                          (1, 1), "SAME",
                                          dimension_numbers=("NHWC", "HWIO", "NHWC")),
     (ValueError, TypeError)),
]


# ---- initialisation statistics ------------------------------------------------------------------
def init_stats(tmp, expr, path, make, std, truncated):
    """The std of nnx's initial `path` (--seed 3) within 10% of `std` and of Flax's own init;
    truncated: every |value| <= 2 / 0.8796 * std (lecun_normal's truncated normal), else some
    |value| > 3 std (a plain normal)."""
    w = os.path.join(tmp, "w.safetensors")
    nnxrun("params", *files(), "--model", expr, "--seed", "3", "--save", w)
    ours = read_safetensors(w)[path]
    theirs = np.asarray(var_tree(make())[path].get_value())
    if ours.shape != theirs.shape:
        return f"`{path}` is {list(ours.shape)} in nnx, {list(theirs.shape)} in flax"
    s, fs = float(ours.std()), float(theirs.std())
    if VERBOSE:
        print(f"  std nnx {s:.5g}, flax {fs:.5g}, expected {std:.5g}; mean {ours.mean():.3g}; "
              f"max |x|/std {np.abs(ours).max() / std:.3g}", file=sys.stderr, flush=True)
    if abs(s / std - 1) > 0.1 or abs(s / fs - 1) > 0.1:
        return f"`{path}` std {s:.5g}, expected {std:.5g} (flax's init: {fs:.5g})"
    if abs(float(ours.mean())) > 0.1 * std:
        return f"`{path}` mean {float(ours.mean()):.3g} is not near 0 (std {std:.3g})"
    peak = float(np.abs(ours).max()) / std
    if truncated and peak > 2 / 0.87962566103423978 * 1.0001:
        return f"`{path}` has |x| = {peak:.3g} std: not lecun_normal's truncated normal"
    if not truncated and peak < 3:
        return f"`{path}` has no |x| > 3 std ({peak:.3g}): not a plain normal"
    return None


INIT_CHECKS = [
    ("LinearGeneral([32, 32], 256, axis=[-2, -1]) kernel init std 1/sqrt(1024)",
     "LinearGeneral([32, 32], 256, axis=[-2, -1])",
     "kernel", lambda: nnx.LinearGeneral((32, 32), 256, axis=(-2, -1), rngs=R()), 1 / 32,
     True),
    ("MultiHeadAttention(4, 64, qkv_features=256) query.kernel std 1/sqrt(64)",
     "MultiHeadAttention(4, 64, qkv_features=256)", "query.kernel",
     mha(4, 64, qkv_features=256), 1 / 8, True),
    ("MultiHeadAttention(4, 64, qkv_features=256) out.kernel std 1/sqrt(256)",
     "MultiHeadAttention(4, 64, qkv_features=256)", "out.kernel",
     mha(4, 64, qkv_features=256), 1 / 16, True),
    ("Embed(1000, 64) embedding init std 1/sqrt(64), plain normal", "Embed(1000, 64)",
     "embedding", lambda: nnx.Embed(1000, 64, rngs=R()), 1 / 8, False),
    ("Conv(16, 64, kernel_size=[3, 3], feature_group_count=4) kernel init std 1/sqrt(3 * 3 * 4)",
     "Conv(16, 64, kernel_size=[3, 3], feature_group_count=4)", "kernel",
     conv(16, 64, kernel_size=(3, 3), feature_group_count=4), 1 / 6, True),
    ("ConvTranspose(16, 64, kernel_size=[3, 3]) kernel init std 1/sqrt(3 * 3 * 16)",
     "ConvTranspose(16, 64, kernel_size=[3, 3])", "kernel",
     conv_t(16, 64, kernel_size=(3, 3)), 1 / 12, True),
    ("ConvTranspose(16, 64, kernel_size=[3, 3], transpose_kernel=true) kernel init std "
     "1/sqrt(3 * 3 * 64)", "ConvTranspose(16, 64, kernel_size=[3, 3], transpose_kernel=true)",
     "kernel", conv_t(16, 64, kernel_size=(3, 3), transpose_kernel=True), 1 / 24, True),
]


def seed_block_two_train_calls(tmp, backend):
    """The seed's section-4 Block (examples/seed/collections.nnx): two train-mode calls in nnx
    (`run --mode train --save`, the second from the first's state) and in Flax; the count, the
    batch statistics and the output agree."""
    source = os.path.join(HERE, "..", "..", "examples", "seed", "collections.nnx")
    w0 = os.path.join(tmp, "block0.safetensors")
    nnxrun("params", source, "--model", "Block(4, 4)", "--seed", "3", "--save", w0)
    weights = read_safetensors(w0)

    class Counter(nnx.Variable):
        pass

    class Block(nnx.Module):  # the seed's, verbatim
        def __init__(self, in_features, out_features, rngs):
            self.linear = nnx.Linear(in_features, out_features, rngs=rngs)
            self.batchnorm = nnx.BatchNorm(num_features=out_features, momentum=0.99, rngs=rngs)
            self.count = Counter(jnp.array(0))

        def __call__(self, x):
            x = self.linear(x)
            x = self.batchnorm(x)
            self.count.value += 1
            return jax.nn.relu(x)

    model = Block(4, 4, R())
    for path, node in nnx.iter_graph(model):
        key = ".".join(map(str, path))
        if isinstance(node, nnx.Variable) and key in weights:
            node.value = jnp.asarray(weights[key])
    model.train()
    xs = [rand((6, 4), 11 + i) for i in range(2)]
    state, out = w0, None
    for i, x in enumerate(xs):
        ref = np.asarray(model(jnp.asarray(x)))
        nxt = os.path.join(tmp, f"block{i + 1}.safetensors")
        y = os.path.join(tmp, f"y{i}.npy")
        nnxrun("run", source, "--model", "Block(4, 4)", "--load", state, "--mode", "train",
               "--backend", backend, *save_inputs(tmp, [("x", x)]), "--save", nxt, "--output", y)
        state = nxt
        problem = compare(np.load(y), ref, f"output of call {i + 1}")
        if problem:
            return problem
    after = read_safetensors(state)
    if int(after["count"]) != int(model.count.value) or int(after["count"]) != 2:
        return f"count is {after['count']} after two calls, flax's {model.count.value}"
    for leaf in ("mean", "var"):
        problem = compare(after[f"batchnorm.{leaf}"], np.asarray(getattr(model.batchnorm, leaf).value),
                          f"batchnorm.{leaf} after two train calls")
        if problem:
            return problem
    return None


# A window larger than the (padded) input: JAX returns an empty result; nnx reports E0232 on
# purpose (issue 8: such a model is almost surely wrong, and an empty tensor only fails later).
# The check pins both sides: JAX still gives an empty array, nnx still rejects with E0232.
EMPTY_IN_JAX = [
    ("max_pool [3, 3] on 1x2x2x1",
     ["run", "--model", "Pool([3, 3])", "--method", "max", "--input", "x=randn(1, 2, 2, 1)"],
     lambda: nnx.max_pool(jnp.ones((1, 2, 2, 1)), (3, 3))),
    ("conv_general_dilated 3x3 kernel on 1x2x2x3 VALID",
     ["run", "--model", "Lax([1, 1], \"VALID\")", "--input", "lhs=randn(1, 2, 2, 3)",
      "--input", "rhs=randn(3, 3, 3, 4)"],
     lambda: jax.lax.conv_general_dilated(jnp.ones((1, 2, 2, 3)), jnp.ones((3, 3, 3, 4)),
                                          (1, 1), "VALID",
                                          dimension_numbers=("NHWC", "HWIO", "NHWC"))),
]


def empty_in_jax(tmp, args, jaxfn):
    if np.asarray(jaxfn()).size != 0:
        return "jax no longer returns an empty result (the check's premise is wrong)"
    proc = run([NNXRUN, args[0], *files(), *args[1:]], check=False)
    if proc.returncode == 0 or "E0232" not in proc.stderr + proc.stdout:
        return "nnx does not report E0232 for a window larger than the input"
    return None


def sow_capture(tmp, backend):
    """layers.nnx's Sows: `run --capture intermediates --capture-save` against Flax's
    self.sow(nnx.Intermediate, ...) twice and nnx.pop(model, nnx.Intermediate): the paths
    (hidden.0, hidden.1 for Flax's tuple) and values agree."""
    w = os.path.join(tmp, "w.safetensors")
    nnxrun("params", *files(), "--model", "Sows(4)", "--seed", "3", "--save", w)
    weights = read_safetensors(w)

    class Sows(nnx.Module):
        def __init__(self, n, rngs):
            self.linear = nnx.Linear(n, n, rngs=rngs)

        def __call__(self, x):
            h = self.linear(x)
            self.sow(nnx.Intermediate, "hidden", h)
            y = jax.nn.relu(h)
            self.sow(nnx.Intermediate, "hidden", y)
            return jnp.sum(y)

    model = Sows(4, R())
    model.linear.kernel.value = jnp.asarray(weights["linear.kernel"])
    model.linear.bias.value = jnp.asarray(weights["linear.bias"]) + 0.3
    np_bias = np.asarray(model.linear.bias.value)
    write_safetensors(w, {"linear.kernel": weights["linear.kernel"], "linear.bias": np_bias})
    x = rand((3, 4), 95)
    model(jnp.asarray(x))
    popped = nnx.pop(model, nnx.Intermediate)
    reference = {}
    for path, value in nnx.to_flat_state(popped):
        values = value.get_value() if hasattr(value, "get_value") else value.value
        for i, v in enumerate(values):
            reference[".".join(map(str, path)) + f".{i}"] = np.asarray(v)
    captured = os.path.join(tmp, "captured.safetensors")
    nnxrun("run", *files(), "--model", "Sows(4)", "--load", w, "--backend", backend,
           *save_inputs(tmp, [("x", x)]), "--capture", "intermediates",
           "--capture-save", captured)
    ours = read_safetensors(captured)
    if sorted(ours) != sorted(reference):
        return f"captured paths {sorted(ours)}, flax's {sorted(reference)}"
    for k in reference:
        problem = compare(ours[k], reference[k], f"captured {k}")
        if problem:
            return problem
    return None


def main():
    global NNXRUN, EXTRA, VERBOSE
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxrun", required=True)
    ap.add_argument("--examples", help="unused; accepted like the other oracles")
    ap.add_argument("--extra", action="append", default=[],
                    help=".nnx file added to every nnxrun command (a not yet embedded stdlib file)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    NNXRUN, EXTRA, VERBOSE = args.nnxrun, args.extra, args.verbose
    checks = []
    for case in CASES + CONV_CASES:
        for backend in ("interp", "jit"):
            checks.append((f"{case.label} [{backend}] vs flax",
                           lambda tmp, c=case, b=backend: c.check(tmp, b)))
    for case in GRADS + CONV_GRADS:
        for backend in ("interp", "jit"):
            checks.append((f"{case.label} [{backend}] vs jax.grad",
                           lambda tmp, c=case, b=backend: c.check(tmp, b)))
    for backend in ("interp", "jit"):
        checks.append((f"dot_product_attention fully masked row = mean of values [{backend}]",
                       lambda tmp, b=backend: masked_row_is_mean(tmp, b)))
    for backend in ("interp", "jit"):
        checks.append((f"the seed's Block: count and batch_stats after two train calls [{backend}]",
                       lambda tmp, b=backend: seed_block_two_train_calls(tmp, b)))
    for label, args, flax in REJECTS:
        checks.append((f"{label}: rejected like flax",
                       lambda tmp, a=args, f=flax: rejects(tmp, a, f)))
    for backend in ("interp", "jit"):
        checks.append((f"sow(Intermediate, ...) captured = nnx.pop of Flax's sow [{backend}]",
                       lambda tmp, b=backend: sow_capture(tmp, b)))
    for label, args, jaxfn in EMPTY_IN_JAX:
        checks.append((f"{label}: jax gives an empty result, nnx E0232 (on purpose)",
                       lambda tmp, a=args, f=jaxfn: empty_in_jax(tmp, a, f)))
    for label, args, flax, errors in CONV_REJECTS:
        checks.append((f"{label}: rejected like flax",
                       lambda tmp, a=args, f=flax, e=errors: rejects(tmp, a, f, e)))
    for label, expr, path, make, std, truncated in INIT_CHECKS:
        checks.append((label, lambda tmp, e=expr, p=path, m=make, s=std, t=truncated:
                       init_stats(tmp, e, p, m, s, t)))
    return run_checks(checks)


if __name__ == "__main__":
    sys.exit(main())
