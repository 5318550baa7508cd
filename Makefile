# The README's commands. `make demo` and `make test` set up everything they need themselves:
# uv in .venv/tools, then three virtual environments from uv.lock (apache-airflow and prefect
# cannot share one): .venv/core, .venv/airflow and .venv/prefect, each with every store extra.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
UV := $(VENV)/tools/bin/uv
UV_VERSION := 0.13.9
PYTEST_ARGS ?=

# Never let uv download a Python: the machine's python3 is the one we use.
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(shell command -v $(PYTHON))
# gcsfs probes a gRPC API the GCS emulator lacks and stalls 60 s per bucket without this.
export GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT := false

.PHONY: demo test test-core test-airflow test-prefect lint system-deps venvs clean bench

# The core round trips and the CLI, then one example DAG under `airflow dags test` and the
# example Prefect flows, each against local servers it starts and stops.
demo: $(VENV)/core/.synced $(VENV)/airflow/.synced $(VENV)/prefect/.synced
	$(VENV)/core/bin/python examples/demo.py
	$(VENV)/airflow/bin/python examples/airflow/run_demo.py
	$(VENV)/prefect/bin/python examples/prefect/run_demo.py

test: lint test-core test-airflow test-prefect

# Side-by-side benchmarks against the raw SDKs and rclone (~20 min; BENCH_SCALE=quick: ~4 min);
# the airflow and prefect venvs give the import-time and Airflow-hook rows; two venvs of the
# peers (Airflow's amazon provider, prefect-aws) give their rows on the same jobs.
bench: $(VENV)/core/.synced $(VENV)/airflow/.synced $(VENV)/prefect/.synced $(VENV)/bench-airflow/.synced $(VENV)/bench-prefect/.synced
	$(VENV)/core/bin/python -m benchmarks.run --output benchmarks/RESULTS.md

test-core: $(VENV)/core/.synced
	$(VENV)/core/bin/python -m pytest tests --ignore=tests/airflow --ignore=tests/prefect $(PYTEST_ARGS)

test-airflow: $(VENV)/airflow/.synced
	$(VENV)/airflow/bin/python -m pytest tests/airflow $(PYTEST_ARGS)

test-prefect: $(VENV)/prefect/.synced
	$(VENV)/prefect/bin/python -m pytest tests/prefect $(PYTEST_ARGS)

LINTED := $(wildcard providers prefect_blocks tests examples benchmarks)

lint: $(VENV)/core/.synced
	$(VENV)/core/bin/ruff check $(LINTED)
	$(VENV)/core/bin/ruff format --check $(LINTED)

venvs: $(VENV)/core/.synced $(VENV)/airflow/.synced $(VENV)/prefect/.synced

# System packages some tests need (run as root; CI runs it before `make test`).
# Debian's chromium drives the Airflow UI browser test (no browser is ever downloaded).
SYSTEM_PACKAGES := openssl chromium chromium-driver

system-deps:
	dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q --no-install-recommends $(SYSTEM_PACKAGES); }

$(UV):
	$(PYTHON) -m venv $(VENV)/tools
	$(VENV)/tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/core/.synced: pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV)/core $(UV) sync --locked --quiet --extra all-stores --extra pandas --group test --group bench
	touch $@

$(VENV)/airflow/.synced: pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV)/airflow $(UV) sync --locked --quiet --extra airflow --extra all-stores --extra pandas --group test --group airflow-test
	touch $@

$(VENV)/prefect/.synced: pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV)/prefect $(UV) sync --locked --quiet --extra prefect --extra all-stores --extra pandas --group test
	touch $@

$(VENV)/bench-airflow/.synced: pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV)/bench-airflow $(UV) sync --locked --quiet --extra airflow --extra all-stores --group test --group bench-airflow
	touch $@

$(VENV)/bench-prefect/.synced: pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV)/bench-prefect $(UV) sync --locked --quiet --extra prefect --extra all-stores --group test --group bench-prefect
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
