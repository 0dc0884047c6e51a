# sgd-escape — quick start: `make demo`, `make test`.
SWIFT ?= swift
RELEASE = -c release
PYTHON ?= python3

.PHONY: deps build demo test bench clean

# GSL (the numerical backbone) and pkg-config, installed when missing.
deps:
	@if ! pkg-config --exists gsl 2>/dev/null; then \
		echo "installing libgsl-dev and pkg-config"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libgsl-dev pkg-config; \
	fi

build: deps
	$(SWIFT) build $(RELEASE) --product sgd-escape

demo: build
	rm -rf out/demo
	$$($(SWIFT) build $(RELEASE) --show-bin-path)/sgd-escape demo --out out/demo

# Statistical tests simulate millions of path-steps: they run in release mode.
test: deps
	$(SWIFT) test $(RELEASE) -Xswiftc -enable-testing

bench: deps
	$(SWIFT) build $(RELEASE) --product sgd-escape-bench
	@$(PYTHON) -c "import numpy" 2>/dev/null || $(PYTHON) -m pip install -q numpy
	$(PYTHON) Benchmarks/run.py --binary $$($(SWIFT) build $(RELEASE) --show-bin-path)/sgd-escape-bench

clean:
	rm -rf .build out

# Not in CI. test-slurm: the `slurm` subcommand's submit script on a real one-node Slurm
# (installs slurm-wlm and munge with apt-get when missing; needs root). test-scale: peak
# RSS of a 10⁷-path cell within 2× of a 10⁵-path one (~1 min, 0.6 GB of temporary disk).
.PHONY: test-slurm test-scale
test-slurm: build
	Tests/slurm/test-slurm.sh $$($(SWIFT) build $(RELEASE) --show-bin-path)/sgd-escape

test-scale: build
	Tests/scale/test-scale.sh $$($(SWIFT) build $(RELEASE) --show-bin-path)/sgd-escape
