"""nnxio — read and write the files nnxrun exchanges (safetensors, .npy) with numpy only.

Used by the oracle and end-to-end tests so they need no package beyond numpy: a safetensors
file is a u64 little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}
and the raw bytes.
"""
import json
import struct
import subprocess
import tempfile

import numpy as np

_DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64, "BOOL": np.bool_}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


def read_safetensors(path):
    """Returns {name: ndarray} of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        arr = np.frombuffer(body[begin:end], dtype=_DTYPES[info["dtype"]])
        out[name] = arr.reshape(info["shape"]).copy()
    return out


def write_safetensors(path, tensors):
    """Writes {name: ndarray} as safetensors (names sorted)."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        raw = arr.tobytes()
        header[name] = {"dtype": _NAMES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def run(cmd, check=True):
    """Runs a command; on failure raises with its output."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return proc


def rel_error(a, b):
    """max |a - b| / max |b| (0 when both are all zero)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    scale = max(np.max(np.abs(b)) if b.size else 0.0, 1e-30)
    return float(np.max(np.abs(a - b)) / scale) if a.size else 0.0


def run_checks(checks):
    """Runs (label, check) pairs; each check gets a fresh temporary directory and returns None
    when it passes or a message saying what differs. Prints a line per check and the summary
    "N passed, M failed"; returns the process exit code."""
    passed = failed = 0
    for label, check in checks:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                problem = check(tmp)
            except Exception as e:  # a failing command: report it and go on
                problem = str(e)
        print(f"{label}: {'ok' if problem is None else 'FAILED: ' + problem}", flush=True)
        passed += problem is None
        failed += problem is not None
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1
