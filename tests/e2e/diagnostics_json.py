"""Machine-readable diagnostics: `check --json` on every diagnostics test file validates
against docs/diagnostics.schema.json (with the jsonschema library), counts its errors, and
locates each `expected-error` line; `--diagnostics json` writes one valid object per line on
stderr, also for errors outside any source file (a bad --data). Prints "N passed, M failed".
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import jsonschema  # noqa: E402
from nnxio import run_checks  # noqa: E402

ARGS = None
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def schema():
    with open(os.path.join(ROOT, "docs", "diagnostics.schema.json")) as f:
        return json.load(f)


def check_files(tmp):
    files = sorted(glob.glob(os.path.join(ROOT, "tests", "lit", "diagnostics", "*.nnx")))
    proc = subprocess.run([ARGS.nnxrun, "check", "--json", *files], capture_output=True, text=True)
    if proc.returncode != 1:
        return f"exit {proc.returncode}, expected 1: {proc.stderr}"
    doc = json.loads(proc.stdout)
    jsonschema.validate(doc, schema())
    errors = [d for d in doc["diagnostics"] if d["severity"] == "error"]
    if doc["error_count"] != len(errors) or not errors:
        return f"error_count {doc['error_count']} for {len(errors)} errors"
    located = {(os.path.realpath(d["file"]), d["range"]["start"]["line"])
               for d in doc["diagnostics"] if "file" in d}
    for path in files:
        for number, line in enumerate(open(path), 1):
            m = re.search(r"expected-error(@([+-]?\d+))?", line)
            if not m:
                continue
            want = number + int(m.group(2)) if m.group(2) and m.group(2)[0] in "+-" else \
                int(m.group(2)) if m.group(2) else number
            if (os.path.realpath(path), want) not in located:
                return f"no diagnostic at {os.path.basename(path)}:{want}"
    return None


def check_stderr_lines(tmp):
    bad = os.path.join(tmp, "bad.csv")
    with open(bad, "w") as f:
        f.write("a,b\n")
    cases = [
        [ARGS.nnxrun, "--diagnostics", "json", "check", os.path.join(ROOT, "tests", "lit",
                                                                    "diagnostics", "names.nnx")],
        [ARGS.nnxrun, "train", os.path.join(ROOT, "tests", "lit", "Inputs", "models.nnx"),
         "--model", "Tiny()", "--loss", "loss_fn", "--data", bad, "--epochs", "1",
         "--diagnostics", "json"],
    ]
    defs = schema()["$defs"]
    for cmd in cases:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        if proc.returncode != 1 or not lines:
            return f"{' '.join(cmd[1:3])}: exit {proc.returncode}, stderr {proc.stderr!r}"
        for line in lines:
            jsonschema.validate(json.loads(line), {"$defs": defs, "$ref": "#/$defs/diagnostic"})
    return None


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxrun", required=True)
    ARGS = ap.parse_args()
    return run_checks([("check --json validates and locates every expected error", check_files),
                       ("--diagnostics json: one object per line", check_stderr_lines)])


if __name__ == "__main__":
    sys.exit(main())
