# lit configuration for nnx's golden-IR, diagnostics and CLI tests.
#
# Run by ctest as `lit.py --param nnxrun=<binary> --param nnx_opt=<binary>
# --param llvm_bin=<llvm-19 bin> tests/lit`.
# Substitutions:
#   %nnxrun    the nnxrun binary under test
#   %nnx-opt   the nnx-opt binary (IR passes, *.mlir tests); defaults to the one beside nnxrun
#   %examples  the examples/ directory of the source tree
#   %fake_cuda the stand-in CUDA driver library (tests/gpu/FakeCuda.cpp)
#   FileCheck, not: from LLVM 19's tools (llvm-19-tools)
import os
import lit.formats

config.name = "nnx"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".nnx", ".test", ".mlir"]
config.excludes = ["Inputs", "lit.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
# Outputs (%t files, timing caches) go to the build tree, never into the sources.
config.test_exec_root = lit_config.params.get("exec_root", os.path.join("/tmp", "nnx-lit"))

nnxrun = lit_config.params.get("nnxrun")
llvm_bin = lit_config.params.get("llvm_bin", "/usr/lib/llvm-19/bin")
if not nnxrun:
    lit_config.fatal("pass --param nnxrun=<path to nnxrun>")
root = os.path.abspath(os.path.join(config.test_source_root, "..", ".."))

nnx_opt = lit_config.params.get("nnx_opt") or os.path.join(os.path.dirname(nnxrun), "nnx-opt")

config.substitutions.append(("%nnx-opt", nnx_opt))
# The stand-in CUDA driver (tests/gpu/FakeCuda.cpp) for the launcher's tests; defaults to the
# one the build puts beside the tests.
fake_cuda = lit_config.params.get("fake_cuda") or os.path.join(
    os.path.dirname(nnxrun), "..", "tests", "gpu", "libnnx_fake_cuda.so")
config.substitutions.append(("%fake_cuda", os.path.abspath(fake_cuda)))
config.substitutions.append(("%nnxrun", nnxrun))
config.substitutions.append(("%examples", os.path.join(root, "examples")))
config.substitutions.append(("%exitcode", "sh " + os.path.join(config.test_source_root, "Inputs", "exitcode.sh")))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))
config.environment["PATH"] = os.pathsep.join([llvm_bin, config.environment.get("PATH", "")])
config.environment["NO_COLOR"] = "1"
# No test finds a real CUDA driver, so that `--stage ptx`'s default architecture (the device's)
# and `--backend gpu` mean the same on a machine with a GPU; the launcher's tests name the
# stand-in driver themselves.
config.environment["NNX_CUDA_DRIVER"] = "/nonexistent/libcuda.so.1"
# The CPU pipeline verifies the IR after every pass under test (codegen/cpu/Pipeline.cpp).
config.environment["NNX_VERIFY_PASSES"] = "1"
# The JIT's compile cache stays in the build tree, not in the user's ~/.cache/nnx.
config.environment["XDG_CACHE_HOME"] = os.path.join(
    lit_config.params.get("exec_root") or config.test_exec_root or "/tmp", "cache")

# ptxas (PyPI's nvidia-cuda-nvcc, in the project's virtualenv) assembles the emitted PTX: the
# GPU tests that need it say `REQUIRES: ptxas`. No GPU is needed to assemble.
import glob
import shutil
ptxas = (glob.glob(os.path.join(root, ".venv", "lib", "python3*", "site-packages", "nvidia",
                                "*", "bin", "ptxas")) + [shutil.which("ptxas")])[0]
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
