# nnx — the two commands a fresh machine needs are `make run` and `make test`.
#
#   make run               install what is missing, build, show the seed model, train on digits
#   make test              install what is missing, build, run every test (ctest)
#   make build             configure (once) and build only
#   make vscode-extension  package the VS Code extension as build/editors/nnx-<version>.vsix
#   make clean             remove the build tree

BUILD   ?= build
JOBS    ?= $(shell nproc)
NNXRUN  := $(BUILD)/bin/nnxrun

.PHONY: all deps build run test clean vscode-extension

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
	    --batch 32 --holdout 0.2 --seed 0

test: deps
	@$(MAKE) --no-print-directory build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

vscode-extension: deps
	sh editors/vscode/package.sh

clean:
	rm -rf $(BUILD)
