# onnx-workbook: every command sets up what it needs first (scripts/setup.sh is quick when nothing changed).
#   make workbook   run every notebook into build/ (executed copies, HTML, reports) and print a summary
#   make test       lint, unit tests in both kernels, every notebook in quick mode
#   make lab        JupyterLab on http://127.0.0.1:8888 with both kernels
#   make load       bounded load test of the local endpoint (digits CNN, 2 workers) -> build/reports/load.*
#   make benchmark  ONNX Runtime vs PyTorch, Keras; MiniLM fp32 vs int8 (2 threads) -> build/reports/benchmark.*
SHELL := /bin/bash
VENVS ?= .venvs
PY := $(VENVS)/main/bin/python
JOBS ?= 2

.PHONY: setup workbook test lint lab clean load benchmark

setup:
	@bash scripts/setup.sh

workbook: setup
	$(PY) -m helpers.runner $(NOTEBOOKS)

test: setup
	@rm -rf build/test
	$(PY) -m ruff check helpers tests scripts notebooks deploy
	ONNX_WORKBOOK_BUILD=$(CURDIR)/build/test $(PY) -m pytest -n $(JOBS) --dist loadgroup --durations 15 $(PYTEST_ARGS)

lint: setup
	$(PY) -m ruff check helpers tests scripts notebooks deploy

lab: setup
	$(PY) -m jupyter lab --ip 127.0.0.1 --port 8888 --no-browser $$( [ "$$(id -u)" = 0 ] && echo --allow-root ) --notebook-dir notebooks

clean:
	rm -rf build

# Serve the digits CNN on the local inference server and measure it (LOAD_ARGS="--seconds 10 --clients 1,8").
load: setup
	$(PY) -m helpers.load $(LOAD_ARGS)

# BENCH_ARGS: e.g. --quick, --threads 1, --parts digits,keras
benchmark: setup
	$(PY) -m helpers.benchmark $(BENCH_ARGS)

# Spark batch scoring (notebooks/45): rows/s on local[1], local[2] and a standalone 2-worker cluster -> build/reports/spark_benchmark.*
spark-benchmark: setup
	$(PY) -m helpers.spark $(SPARK_ARGS)
