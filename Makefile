# sgd-escape — quick start: `make demo`, `make test`.
SWIFT ?= swift
RELEASE = -c release
PYTHON ?= python3

.PHONY: deps py-env build demo reports test bench fuzz clean

# Python used by the notebook tests (nbformat validation, headless execution with nbclient).
PY_ENV = .build-py
PY_PACKAGES = nbformat nbclient ipykernel pandas matplotlib

# GSL (the numerical backbone), OpenBLAS (the network ensembles' matrix products, opened at
# run time: Sources/Diffusion/Networks/OpenBLAS.swift), SuiteSparse (UMFPACK, the 2-D grids'
# sparse LU, opened at run time: Sources/Diffusion/FokkerPlanck/SparseLU.swift; Debian 12's
# SuiteSparse 5 has no pkg-config file, so its header is the test) and pkg-config, installed
# when missing.
deps:
	@if ! pkg-config --exists gsl 2>/dev/null || ! pkg-config --exists openblas 2>/dev/null \
		|| [ ! -f /usr/include/suitesparse/umfpack.h ]; then \
		echo "installing libgsl-dev, libopenblas-dev, libsuitesparse-dev and pkg-config"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libgsl-dev libopenblas-dev libsuitesparse-dev pkg-config; \
	fi

# A virtualenv for the notebook tests, made once: the stamp .ready marks a complete install.
# `python3 -m venv` needs Debian's python3-venv (ensurepip); it is installed when missing.
py-env: $(PY_ENV)/.ready

$(PY_ENV)/.ready:
	@echo "creating $(PY_ENV) with $(PY_PACKAGES)"
	@rm -rf $(PY_ENV)
	@if ! $(PYTHON) -m venv $(PY_ENV) >/dev/null 2>&1; then \
		echo "installing python3-venv"; rm -rf $(PY_ENV); \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-venv; \
		$(PYTHON) -m venv $(PY_ENV); \
	fi
	@$(PY_ENV)/bin/python -m pip install -q --disable-pip-version-check $(PY_PACKAGES)
	@touch $@

build: deps
	$(SWIFT) build $(RELEASE) --product sgd-escape

# The main job: runs the embedded spec into out/demo, writes Reports/demo and Notebooks-export/demo.ipynb.
demo: build
	rm -rf out/demo
	$$($(SWIFT) build $(RELEASE) --show-bin-path)/sgd-escape demo --out out/demo

# Every committed report, rerun from its Reports/NAME/job.toml (results in out/reports/NAME).
REPORTS ?= $(filter-out demo,$(patsubst Reports/%/job.toml,%,$(wildcard Reports/*/job.toml)))
# `make reports REPORTS=NAME` reruns one; SGD_ESCAPE_BIN=path skips the build and uses that binary.
reports:
	@bin="$(SGD_ESCAPE_BIN)"; \
	if [ -z "$$bin" ]; then $(MAKE) --no-print-directory build && bin=$$($(SWIFT) build $(RELEASE) --show-bin-path)/sgd-escape; fi; \
	for r in $(REPORTS); do \
		echo "report $$r"; rm -rf out/reports/$$r; \
		$$bin run Reports/$$r/job.toml --out out/reports/$$r --quiet > /dev/null && \
		$$bin report out/reports/$$r --out Reports/$$r --notebook Notebooks-export/$$r.ipynb || exit 1; \
	done

# Statistical tests simulate millions of path-steps: they run in release mode.
test: deps py-env
	SGD_ESCAPE_PYTHON=$(CURDIR)/$(PY_ENV)/bin/python $(SWIFT) test $(RELEASE) -Xswiftc -enable-testing

# libFuzzer over the spec parsers and the expression compiler: 10⁶ inputs each from seed 1 (Fuzz/run.sh).
fuzz:
	bash Fuzz/run.sh

bench: deps
	$(SWIFT) build $(RELEASE) --product sgd-escape-bench
	$(SWIFT) build $(RELEASE) --product sgd-escape
	@$(PYTHON) -c "import numpy, scipy" 2>/dev/null || $(PYTHON) -m pip install -q numpy scipy
	@$(PYTHON) -c "import jax" 2>/dev/null || $(PYTHON) -m pip install -q jax || echo "JAX did not install: the network benchmark leaves its column out"
	$(PYTHON) Benchmarks/run.py --binary $$($(SWIFT) build $(RELEASE) --show-bin-path)/sgd-escape-bench
	$(PYTHON) Benchmarks/store.py --cli $$($(SWIFT) build $(RELEASE) --show-bin-path)/sgd-escape

clean:
	rm -rf .build $(PY_ENV) out

# Not in CI. test-slurm: the `slurm` subcommand's submit script on a real one-node Slurm
# (installs slurm-wlm and munge with apt-get when missing; needs root). test-scale: peak
# RSS of a 10⁷-path cell within 2× of a 10⁵-path one (~1 min, 0.6 GB of temporary disk).
.PHONY: test-slurm test-scale
test-slurm: build
	Tests/slurm/test-slurm.sh $$($(SWIFT) build $(RELEASE) --show-bin-path)/sgd-escape

test-scale: build
	Tests/scale/test-scale.sh $$($(SWIFT) build $(RELEASE) --show-bin-path)/sgd-escape
