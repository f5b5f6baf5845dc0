# nnx — the two commands a fresh machine needs are `make run` and `make test`.
#
#   make run               install what is missing, build, show the seed model, train on digits
#   make test              install what is missing, build, run every test (ctest)
#   make build             configure (once) and build only
#   make vscode-extension  package the VS Code extension as build/editors/nnx-<version>.vsix
#   make bench             GEMM GFLOP/s vs OpenBLAS and XLA; forward latency and train-step time vs Flax NNX and
#                          PyTorch at 1 and 2 threads; scan compile and run time vs
#                          JAX; parse and lowering time against program size (bench/README.md)
#   make test-sanitize     build with clang-19, ASan + UBSan and libFuzzer instrumentation in
#                          build-sanitize/, run the unit, lit, e2e, oracle and fuzz-replay suites
#   make fuzz              run each fuzz target for FUZZ_SECONDS (default 300) from
#                          tests/fuzz/corpus; findings go to build-sanitize/fuzz-findings/
#   make clean             remove the build trees

SHELL   := /bin/bash
BUILD   ?= build
JOBS    ?= $(shell nproc)
NNXRUN  := $(BUILD)/bin/nnxrun

.PHONY: all deps build run test bench clean vscode-extension test-sanitize build-sanitize fuzz

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -G Ninja -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: deps
	@$(MAKE) --no-print-directory build
	@echo "== The seed's Model(784, 256, 10): its state tree (nnx.split(model, nnx.Param, ...))"
	$(NNXRUN) params examples/seed/basics.nnx --model 'Model(784, 256, 10)' --seed 0
	@echo
	@echo "== A forward pass on the JIT: x = ones(1, 784)"
	$(NNXRUN) run examples/seed/basics.nnx --model 'Model(784, 256, 10)' --seed 0 \
	    --input 'x=ones(1,784)' --backend jit --timings
	@echo
	@echo "== Training a digit classifier on the shipped UCI digits (20% held out)"
	$(NNXRUN) train examples/digits.nnx --model 'Classifier(64)' --loss loss_fn \
	    --data examples/data/digits.csv.gz --optimizer adam --lr 0.01 --epochs 20 \
	    --batch 32 --holdout 0.2 --seed 0 --log $(BUILD)/digits.jsonl --save $(BUILD)/digits.st
	@echo
	@echo "== Evaluating it, predicting classes, drawing its curves"
	$(NNXRUN) eval examples/digits.nnx --model 'Classifier(64)' --loss loss_fn \
	    --data examples/data/digits.csv.gz --load $(BUILD)/digits.st
	$(NNXRUN) predict examples/digits.nnx --model 'Classifier(64)' --load $(BUILD)/digits.st \
	    --data examples/data/digits.csv.gz --label-cols -1 --argmax --output $(BUILD)/classes.csv
	$(NNXRUN) plot $(BUILD)/digits.jsonl -o $(BUILD)/digits.png

test: deps
	@$(MAKE) --no-print-directory build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The sanitizer tree: clang-19, ASan + UBSan, libFuzzer instrumentation (CMakeLists.txt).
SANITIZE_BUILD ?= build-sanitize
FUZZ_SECONDS   ?= 300
FUZZ_TARGETS   := frontend safetensors npy csv jit

$(SANITIZE_BUILD)/build.ninja:
	cmake -G Ninja -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=Release \
	    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 -DNNX_SANITIZE=ON -DNNX_FUZZ=ON

build-sanitize: deps $(SANITIZE_BUILD)/build.ninja
	cmake --build $(SANITIZE_BUILD) -j $(JOBS)

# Leak checking is off: the JIT's kernel library and MLIR's context are kept until exit on
# purpose (codegen/KernelLibrary.cpp). The editor tests run no C++ and are left out.
test-sanitize: build-sanitize
	cd $(SANITIZE_BUILD) && \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -E '^editors$$'

fuzz: build-sanitize
	@mkdir -p $(SANITIZE_BUILD)/fuzz-findings
	@status=0; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(SANITIZE_BUILD)/fuzz-corpus/$$t; \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  ASAN_OPTIONS=detect_leaks=0 $(SANITIZE_BUILD)/bin/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	    -timeout=30 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix=$(SANITIZE_BUILD)/fuzz-findings/$$t- \
	    $(SANITIZE_BUILD)/fuzz-corpus/$$t tests/fuzz/corpus/$$t 2>&1 | \
	    grep -E '^(stat::number_of_executed_units|stat::new_units_added|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written)' ; \
	  [ $${PIPESTATUS[0]} -eq 0 ] || { echo "fuzz_$$t: FINDING (see $(SANITIZE_BUILD)/fuzz-findings)"; status=1; }; \
	done; exit $$status

# PyTorch (Debian's python3-torch) and OpenBLAS for it (without libopenblas0 it runs on the
# reference BLAS, ~10x slower); if they cannot be installed the table says so.
bench: deps
	@$(MAKE) --no-print-directory build
	@/usr/bin/python3 -c 'import torch' 2>/dev/null && [ -e /usr/lib/x86_64-linux-gnu/libopenblas.so.0 ] || \
	  { sudo=$$([ "$$(id -u)" -ne 0 ] && echo sudo); { $$sudo apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq python3-torch libopenblas0; \
	    } >/dev/null 2>&1 || \
	    echo "bench: could not install python3-torch/libopenblas0; PyTorch may be skipped"; }
	.venv/bin/python bench/gemm.py --nnxrun $(NNXRUN)
	.venv/bin/python bench/forward.py --nnxrun $(NNXRUN)
	.venv/bin/python bench/train_step.py --nnxrun $(NNXRUN) --threads 1
	.venv/bin/python bench/train_step.py --nnxrun $(NNXRUN) --threads 2
	.venv/bin/python bench/transforms.py --nnxrun $(NNXRUN)
	.venv/bin/python bench/gpu.py --nnxrun $(NNXRUN)
	.venv/bin/python bench/compile_scaling.py --nnxrun $(NNXRUN)

vscode-extension: deps
	sh editors/vscode/package.sh

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD)
