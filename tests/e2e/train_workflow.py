"""The training workflow from the command line (docs/cli.md): train -> eval -> predict on the
shipped digits, a regression model (float targets, mse) and a sequence-label model, the metrics
logs, --val-data, schedules and gradient clipping against optax, and Ctrl-C/SIGTERM: the
checkpoint written on the signal resumes to exactly the state of the uninterrupted run.
Prints "N passed, M failed".
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import numpy as np  # noqa: E402
from nnxio import read_safetensors, run, run_checks  # noqa: E402

ARGS = None


def nnx(*cmd):
    return run([ARGS.nnxrun, *cmd]).stdout


def seed_model(*extra):
    return [os.path.join(ARGS.examples, "seed", "training.nnx"), "--model", "Model(64, 48, 10)",
            *extra]


def digits():
    return os.path.join(ARGS.examples, "data", "digits.csv.gz")


def check_digits_round_trip(tmp):
    """train -> eval -> predict: predict --argmax agrees with eval's accuracy."""
    ckpt, log, csv = (os.path.join(tmp, f) for f in ("m.st", "run.jsonl", "run.csv"))
    out = nnx("train", *seed_model("--loss", "loss_fn", "--data", digits(), "--epochs", "3",
                                   "--holdout", "0.2", "--optimizer", "adam", "--lr", "0.01", "--batch", "64",
                                   "--log", log, "--log", csv, "--save", ckpt,
                                   "--checkpoint-dir", os.path.join(tmp, "ck"),
                                   "--best", "accuracy"))
    if f"saved the model to {ckpt}" not in out:
        return f"no 'saved to' line:\n{out}"
    # --best accuracy keeps the epochs whose holdout accuracy is a new maximum.
    best, seen = [], None
    for line in out.splitlines():
        if line.startswith("saved the best model"):
            best.append(float(line.split("accuracy ")[1].split(")")[0]))
        if line.startswith("epoch ") and "accuracy" in line:
            acc_epoch = float(line.split("accuracy ")[1].split("%")[0]) / 100
            seen = acc_epoch if seen is None else max(seen, acc_epoch)
    if not best or abs(best[-1] - seen) > 1e-4 or best != sorted(best):
        return f"--best accuracy kept {best}, the best epoch had {seen}:\n{out}"
    ev = nnx("eval", *seed_model("--loss", "loss_fn", "--data", digits(), "--load", ckpt))
    acc = float(ev.split("accuracy ")[1].split("%")[0]) / 100
    pred = os.path.join(tmp, "classes.npy")
    nnx("predict", *seed_model("--load", ckpt, "--data", digits(), "--label-cols", "-1",
                               "--argmax", "--output", pred, "--batch", "500"))
    labels = np.loadtxt(digits(), delimiter=",")[:, -1]
    classes = np.load(pred)
    if classes.shape != (1797,) or classes.dtype != np.int32:
        return f"predict wrote {classes.dtype}{classes.shape}"
    mine = float((classes == labels).mean())
    if abs(mine - acc) > 1e-4 or acc < 0.85:
        return f"eval accuracy {acc} vs predict's {mine}"
    records = [json.loads(line) for line in open(log)]
    steps = [r for r in records if r["kind"] == "step"]
    epochs = [r for r in records if r["kind"] == "epoch"]
    per_epoch = int(round(1797 * 0.8)) // 64
    if len(steps) != 3 * per_epoch or len(epochs) != 3:
        return f"log has {len(steps)} step and {len(epochs)} epoch records"
    if not {"val_loss", "val_accuracy", "lr", "steps_per_s"} <= set(epochs[-1]):
        return f"epoch record lacks fields: {epochs[-1]}"
    png = os.path.join(tmp, "curves.png")
    out = nnx("plot", log, "-o", png, "--size", "640x480")
    with open(png, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return f"plot did not write a PNG: {head!r}"
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if (width, height) != (640, 480) or os.path.getsize(png) < 10000:
        return f"plot wrote {width}x{height}, {os.path.getsize(png)} bytes: {out}"
    rows = open(csv).read().splitlines()
    if rows[0] != "kind,step,epoch,loss,lr,steps_per_s,val_loss,val_accuracy" or len(rows) != 1 + len(records):
        return f"csv log: {rows[0]!r}, {len(rows)} lines"
    return None


def check_regression(tmp):
    """Float targets and the mse loss; eval's loss equals the mse of predict's outputs."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8))
    y = x @ rng.normal(size=8) + 0.3 * np.sin(x[:, 0])
    xp, yp, ckpt, pred = (os.path.join(tmp, f) for f in ("x.npy", "y.npy", "r.st", "p.npy"))
    np.save(xp, x)  # f64: converted with a note
    np.save(yp, y)
    src = os.path.join(ARGS.examples, "workflow", "regression.nnx")
    model = ["--model", "Regressor(8, 32)"]
    proc = run([ARGS.nnxrun, "train", src, *model, "--loss", "mse_loss", "--metric", "mae",
                "--data", f"{xp},{yp}", "--optimizer", "adam", "--lr", "0.01", "--epochs", "40",
                "--holdout", "0.2", "--save", ckpt])
    if "holds f64: converted to f32" not in proc.stderr:
        return f"no conversion note: {proc.stderr}"
    ev = nnx("eval", src, *model, "--loss", "mse_loss", "--metric", "mae",
             "--data", f"x={xp}", "--data", f"y={yp}", "--load", ckpt)
    loss = float(ev.split("loss ")[1].split()[0])
    mae = float(ev.split("mae ")[1].split()[0])
    nnx("predict", src, *model, "--load", ckpt, "--data", xp, "--output", pred)
    p = np.load(pred).astype(np.float64)
    want_loss = float(np.mean((p - y.astype(np.float32)) ** 2))
    want_mae = float(np.mean(np.abs(p - y.astype(np.float32))))
    if abs(loss - want_loss) > 1e-4 + 1e-3 * want_loss or abs(mae - want_mae) > 1e-3:
        return f"eval says loss {loss} mae {mae}, predict gives {want_loss} {want_mae}"
    if loss > 0.1 * np.var(y):
        return f"the regression did not fit: mse {loss}, var(y) {np.var(y)}"
    return None


def check_sequence_labels(tmp):
    """Labels [N, T] pair with tokens [N, T]; --val-data evaluates a separate file."""
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, 50, size=(480, 12)).astype(np.int32)
    tags = (tokens % 3).astype(np.int64)
    paths = [os.path.join(tmp, f) for f in ("t.npy", "g.npy", "vt.npy", "vg.npy")]
    np.save(paths[0], tokens[:400])
    np.save(paths[1], tags[:400])
    np.save(paths[2], tokens[400:])
    np.save(paths[3], tags[400:])
    src = os.path.join(ARGS.examples, "workflow", "tagging.nnx")
    out = nnx("train", src, "--model", "Tagger(50, 16, 32, 3)", "--loss", "tagging_loss",
              "--data", f"{paths[0]},{paths[1]}", "--val-data", f"{paths[2]},{paths[3]}",
              "--optimizer", "adam", "--lr", "0.01", "--epochs", "8")
    acc = float(out.split("validation accuracy: ")[1].split("%")[0])
    return None if acc > 95 else f"validation accuracy {acc}%:\n{out}"


def check_schedules_and_clipping(tmp):
    """Every schedule at chosen steps, clip_by_global_norm and adamw's mask, against optax."""
    import jax
    import optax
    import jax.numpy as jnp
    cases = {
        "constant_schedule(0.3)": optax.constant_schedule(0.3),
        "cosine_decay_schedule(0.1, 100)": optax.cosine_decay_schedule(0.1, 100),
        "cosine_decay_schedule(0.1, 100, alpha=0.2, exponent=2.0)":
            optax.cosine_decay_schedule(0.1, 100, alpha=0.2, exponent=2.0),
        "warmup_cosine_decay_schedule(0.0, 0.01, 10, 200, end_value=0.001)":
            optax.warmup_cosine_decay_schedule(0.0, 0.01, 10, 200, end_value=0.001),
        "exponential_decay(0.1, 10, 0.5)": optax.exponential_decay(0.1, 10, 0.5),
        "exponential_decay(0.1, 10, 0.5, transition_begin=5, staircase=true, end_value=0.01)":
            optax.exponential_decay(0.1, 10, 0.5, transition_begin=5, staircase=True,
                                    end_value=0.01),
        "linear_schedule(1.0, 0.1, 50)": optax.linear_schedule(1.0, 0.1, 50),
        "linear_schedule(1.0, 0.1, 50, transition_begin=20)":
            optax.linear_schedule(1.0, 0.1, 50, transition_begin=20),
    }
    steps = [0, 1, 5, 9, 10, 11, 37, 99, 100, 150, 300]
    lines = []
    for i, (expr, fn) in enumerate(cases.items()):
        lines.append(f'test "schedule {i}: {expr.replace(chr(34), "")}" {{\n  s = {expr}')
        for c in steps:
            lines.append(f"  assert allclose(s({c}), {float(fn(c))!r}, rtol=1e-5, atol=1e-7)")
        lines.append("}")
    grads = {"w": np.array([3.0, -4.0, 0.5], np.float32), "b": np.array([12.0, 0.25], np.float32)}
    for max_norm in (1.0, 100.0):
        clipped, _ = optax.clip_by_global_norm(max_norm).update(grads, None)
        norm = float(optax.global_norm(grads))
        lines.append(f"""
module P{int(max_norm)}() {{
  Param w: f32[3] = zeros()
  Param b: f32[2] = zeros()
}}
fn lin{int(max_norm)}(m) = sum(m.w * array({grads['w'].tolist()})) + sum(m.b * array({grads['b'].tolist()}))
test "clip_by_global_norm({max_norm})" {{
  m = P{int(max_norm)}()
  opt = Optimizer(m, chain(clip_by_global_norm({max_norm}), sgd(1.0)))
  g = grad(lin{int(max_norm)})(m)
  assert allclose(global_norm(g), {norm!r})
  opt.update(m, g)
  assert allclose(m.w, array({(-np.asarray(clipped['w'])).tolist()}), rtol=1e-6, atol=1e-7)
  assert allclose(m.b, array({(-np.asarray(clipped['b'])).tolist()}), rtol=1e-6, atol=1e-7)
}}""")
    # adamw with a weight-decay mask (kernels only), two steps, against optax.
    params = {"w": np.array([[0.5, -1.0], [2.0, 0.25]], np.float32),
              "b": np.array([0.75, -0.5], np.float32)}
    coef = {"w": np.array([[3.0, -4.0], [0.5, 1.0]], np.float32),
            "b": np.array([2.0, -0.25], np.float32)}
    tx = optax.adamw(0.1, weight_decay=0.5,
                     mask=lambda p: jax.tree.map(lambda x: x.ndim > 1, p))
    state = tx.init(params)
    p = {k: jnp.asarray(v) for k, v in params.items()}
    for _ in range(2):
        g = {k: jnp.asarray(coef[k]) * p[k] for k in p}  # grad of sum(coef * p ** 2 / 2)
        updates, state = tx.update(g, state, p)
        p = optax.apply_updates(p, updates)
    lines.append(f"""
module Q() {{
  Param w: f32[2, 2] = zeros()
  Param b: f32[2] = zeros()
}}
fn quad(m) = sum(array({coef['w'].tolist()}) * m.w ** 2.0 / 2.0) + sum(array({coef['b'].tolist()}) * m.b ** 2.0 / 2.0)
test "adamw(mask=weight_decay_mask), two steps" {{
  m = Q()
  m.w = array({params['w'].tolist()})
  m.b = array({params['b'].tolist()})
  opt = Optimizer(m, adamw(0.1, weight_decay=0.5, mask=weight_decay_mask))
  opt.update(m, grad(quad)(m))
  opt.update(m, grad(quad)(m))
  assert allclose(m.w, array({np.asarray(p['w']).tolist()}), rtol=1e-5, atol=1e-6)
  assert allclose(m.b, array({np.asarray(p['b']).tolist()}), rtol=1e-5, atol=1e-6)
}}""")
    path = os.path.join(tmp, "optax_cases.nnx")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    for backend in ("interp", "jit"):
        out = run([ARGS.nnxrun, "test", "--backend", backend, path], check=False)
        if out.returncode != 0:
            return f"[{backend}]\n{out.stdout}{out.stderr}"
    return None


def check_sigterm_resume(tmp):
    """SIGTERM mid-run writes a checkpoint; --resume finishes at the uninterrupted state."""
    base = [ARGS.nnxrun, "train", *seed_model("--loss", "loss_fn", "--data", digits(),
                                              "--steps", "1500", "--batch", "16",
                                              "--optimizer", "adam", "--seed", "3",
                                              "--backend", "interp")]
    whole, cut, resumed = (os.path.join(tmp, f) for f in ("whole.st", "cut.st", "resumed.st"))
    log, ck = os.path.join(tmp, "run.jsonl"), os.path.join(tmp, "ck")
    extra = ["--log", log, "--checkpoint-dir", ck, "--checkpoint-every", "100", "--keep", "2"]
    proc = subprocess.Popen(base + extra + ["--save", cut], stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("compiled the train step"):
            break
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    rest = proc.stdout.read()
    code = proc.wait()
    if code != 128 + signal.SIGTERM or f"saved the state to {cut}" not in rest:
        return f"exit {code} after SIGTERM:\n{rest}"
    stopped = int(read_safetensors(cut)["opt.count"])
    if not 0 < stopped < 1500:
        return f"the checkpoint is at step {stopped}: the signal came too late or too early"
    run(base + ["--save", whole])
    run(base + extra + ["--resume", cut, "--save", resumed])
    steps = [json.loads(line)["step"] for line in open(log) if '"kind":"step"' in line]
    if steps != list(range(1, 1501)):
        return f"the log of the interrupted and resumed run holds steps {steps[:3]}..{steps[-3:]} ({len(steps)})"
    kept = sorted(os.listdir(ck))
    if kept != ["step-00001400.safetensors", "step-00001500.safetensors"]:
        return f"--keep 2 across the resume left {kept}"
    a, b = read_safetensors(whole), read_safetensors(resumed)
    for name in a:
        if not np.array_equal(a[name], b[name]):
            return f"`{name}` differs after resuming from step {stopped}"
    return None


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxrun", required=True)
    ap.add_argument("--examples", required=True)
    ARGS = ap.parse_args()
    return run_checks([
        ("digits: train -> eval -> predict, logs", check_digits_round_trip),
        ("regression: float targets, mse, eval = predict", check_regression),
        ("sequence labels [N, T] with --val-data", check_sequence_labels),
        ("schedules, clip_by_global_norm, adamw mask vs optax", check_schedules_and_clipping),
        ("SIGTERM checkpoint resumes exactly", check_sigterm_resume),
    ])


if __name__ == "__main__":
    sys.exit(main())
