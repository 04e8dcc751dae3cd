# parlab: `make lab` to start the course, `make test` to run every test (what CI runs).
# Every target sets up what it needs first and is quick when nothing changed.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
# The Rust kernel of notebooks/rust/ (0.21 or newer: older ones lose output when run headless).
EVCXR_VERSION := 0.22.0
PY := $(VENV)/bin/python
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(VIRTUAL_ENV)/bin:$(HOME)/.cargo/bin:$(PATH)

RUST_SOURCES := Cargo.toml Cargo.lock rust_core/Cargo.toml python/Cargo.toml python/pyproject.toml \
	$(shell find rust_core/src python/src -name '*.rs')

.PHONY: help setup lab test test-rust test-python lint format index bench assignments lock clean
.PHONY: hub-install test-hub

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: $(VENV)/.extension $(VENV)/.kernels $(VENV)/.rust-kernel-$(EVCXR_VERSION) $(VENV)/.rust-warm $(VENV)/.kernel-free-threaded ## Create .venv, install pinned packages, build the extension, register kernels

lab: setup ## Set up, then start JupyterLab on notebooks/
	jupyter lab --notebook-dir=notebooks

test: setup lint test-rust test-python test-hub ## Set up, then run every check and test (what CI runs)

test-rust: ## cargo tests of the core, with and without its optional features (plot, net)
	cargo test --workspace --quiet
	cargo test -p parlab_core --all-features --quiet

# python/11's free-threaded CPython (built once from Debian's source: minutes) and its venv.
FT := .free-threaded

# The Python notebooks whose lessons make parallel claims: also run beside a busy CPU.
PARALLEL_NOTEBOOKS := $(wildcard $(addprefix notebooks/python/,00-*.ipynb 02-*.ipynb 04-*.ipynb 05-*.ipynb \
	06-*.ipynb 07-*.ipynb 08-*.ipynb))

test-python: setup ## pytest: the API and every notebook (nbval); the Python notebooks again on 1 CPU and beside a busy CPU
	pytest --nbval-lax --durations=25
	taskset -c 0 pytest --nbval-lax -p no:cacheprovider notebooks/python
	scripts/with_busy_cpu.py pytest --nbval-lax -p no:cacheprovider $(PARALLEL_NOTEBOOKS)
	$(if $(wildcard $(FT)/.interpreter),scripts/with_busy_cpu.py pytest --nbval-lax -p no:cacheprovider notebooks/python/11-*.ipynb)

lint: setup ## rustfmt, clippy, ruff and the .pyi stub check
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --all-features --quiet -- -D warnings
	ruff check .
	ruff format --check .
	$(PY) -m mypy.stubtest parlab._core
	$(PY) scripts/notebook_index.py --check

index: setup ## Rewrite the README's table of notebooks from the notebooks
	$(PY) scripts/notebook_index.py

format: setup ## Apply rustfmt and ruff format
	cargo fmt --all
	ruff format .

bench: setup $(VENV)/.bench ## Criterion benches of the core, the Python benchmark table, the lessons' timing claims
	cargo bench -p parlab_core --bench strategies
	$(PY) -m parlab.bench
	$(PY) -m parlab.bench_trace
	$(PY) -m parlab.bench_claims
	$(PY) scripts/rust_kernel.py bench

assignments: setup ## Student versions of the notebooks with exercises, into release/ (nbgrader)
	$(PY) scripts/assignments.py

lock: ## Re-pin requirements/*.txt from requirements/*.in in a scratch venv
	rm -rf build/lock && $(PYTHON) -m venv build/lock
	build/lock/bin/pip install -q -r requirements/base.in
	build/lock/bin/pip freeze > requirements/lock.txt
	build/lock/bin/pip install -q -r requirements/bench.in
	build/lock/bin/pip freeze | grep -vxFf requirements/lock.txt > requirements/bench.txt
	build/lock/bin/pip install -q -r requirements/hub.in
	build/lock/bin/pip freeze | grep -vxFf requirements/lock.txt | grep -vxFf requirements/bench.txt > requirements/hub.txt
	rm -rf build/lock

clean: ## Remove .venv and build products
	rm -rf $(VENV) target build python/parlab/*.so

# --- the steps behind `setup` ------------------------------------------------------------

$(VENV)/.tools:
	@scripts/check-tools.sh
	@mkdir -p $(VENV) && touch $@

$(VENV)/.packages: requirements/lock.txt | $(VENV)/.tools
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/lock.txt
	touch $@

$(VENV)/.extension: $(VENV)/.packages $(RUST_SOURCES)
	maturin develop --release --quiet -m python/Cargo.toml
	touch $@

$(VENV)/.kernels: $(VENV)/.packages
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (parlab)"
	touch $@

$(VENV)/.rust-kernel-$(EVCXR_VERSION): scripts/install-rust-kernel.sh scripts/rust-kernel-launch.sh scripts/evcxr-prelude.rs \
		| $(VENV)/.packages
	rm -f $(VENV)/.rust-kernel-*
	scripts/install-rust-kernel.sh $(EVCXR_VERSION) $(VENV)
	touch $@

# Compile the Rust notebooks' first cells once, so that a student's first cell only links.
$(VENV)/.rust-warm: $(VENV)/.rust-kernel-$(EVCXR_VERSION) $(RUST_SOURCES) $(wildcard notebooks/rust/*.ipynb) scripts/rust_kernel.py
	$(PY) scripts/rust_kernel.py warm
	touch $@

$(VENV)/.bench: requirements/bench.txt $(VENV)/.packages
	$(PY) -m pip install --quiet -r requirements/bench.txt
	touch $@

# A free-threaded CPython, built once (~10 min on 2 cores; the stamp skips it after). Where it
# cannot be built, make says why in one line and goes on without python/11's kernel.
$(FT)/.interpreter: | $(VENV)/.tools
	@echo "building a free-threaded CPython into $(FT)/python (once; several minutes)"
	@if scripts/install-free-threaded.sh $(FT)/python $(FT)/build; then touch $@; \
	else echo "make goes on without the free-threaded kernel: python/11 cannot run here"; fi

$(VENV)/.kernel-free-threaded: $(FT)/.interpreter requirements/free-threaded.txt scripts/free-threaded-kernel.sh \
		$(RUST_SOURCES) | $(VENV)/.kernels
	@if test -f $(FT)/.interpreter; then \
		scripts/free-threaded-kernel.sh $(FT)/python/bin/python-free-threaded $(FT)/venv $(VENV) && touch $@; fi

# --- the course hub (deploy/; README: Course JupyterHub) ----------------------------------

# Where `make hub-install` puts the hub's install, which every account reads and runs.
PREFIX ?= /opt/parlab
# The venv's interpreter (lock.txt pins its packages); copied into PREFIX where other accounts cannot run it.
HUB_PYTHON ?= $(PYTHON)
# JupyterHub's proxy, from npm.
CHP_VERSION := 5.3.0
# What `make test-hub` installs and runs: outside any home, so that the test's accounts reach it.
HUB_TEST_PREFIX ?= /var/tmp/parlab-hub-test
HUB_INPUTS := requirements/lock.txt requirements/hub.txt $(wildcard deploy/*.* deploy/*/*.* deploy/*/*/*.*) \
	$(RUST_SOURCES) $(wildcard python/parlab/*.py python/parlab/*/*.py notebooks/*/*.ipynb) \
	nbgrader_config.py scripts/assignments.py scripts/rust-kernel-launch.sh $(wildcard scripts/evcxr-prelude.rs)

hub-install: $(PREFIX)/.parlab-hub ## Install the course hub into PREFIX (default /opt/parlab) for every account
	@true

# What `make setup` built is reused, not built again: the venv (copied), the native module
# (cargo finds it up to date), evcxr_jupyter, the free-threaded interpreter and its venv.
$(PREFIX)/.parlab-hub: $(HUB_INPUTS) | $(VENV)/.extension $(VENV)/.rust-kernel-$(EVCXR_VERSION) $(VENV)/.kernel-free-threaded
	HUB_PYTHON=$(HUB_PYTHON) HUB_DEV_VENV=$(VENV) CHP_VERSION=$(CHP_VERSION) deploy/install.sh $(PREFIX)
	touch $@

test-hub: ## The course hub end to end as root: real accounts, JupyterHub on loopback, nbgrader
	@if [ "$$(id -u)" != 0 ]; then echo "test-hub: skipped: it creates system accounts, so it runs as root (as CI does)"; \
	else $(MAKE) --no-print-directory hub-install PREFIX=$(HUB_TEST_PREFIX) && \
		PARLAB_HUB_PREFIX=$(HUB_TEST_PREFIX) pytest -p no:cacheprovider -v tests/test_hub.py; fi
