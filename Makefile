# onnx-workbook: every command sets up what it needs first (scripts/setup.sh is quick when nothing changed).
#   make workbook   run every notebook into build/ (executed copies, HTML, reports) and print a summary
#   make test       lint, unit tests in both kernels, every notebook in quick mode
#   make lab        JupyterLab on http://127.0.0.1:8888 with every kernel, offline (workbook.lab; LAB_PORT=8890 for another port)
#   make doctor     workshop pre-flight: Python, disk, memory, kernels, Chromium, port, local endpoint (no setup)
#   make load       bounded load test of the local endpoint (digits CNN, 2 workers) -> build/reports/load.*
#   make benchmark  ONNX Runtime vs PyTorch, Keras; MiniLM fp32 vs int8; the GFLOP/s ceiling; the MiniLM sweep
#                   -> build/reports/benchmark.*, sweep_*.png, and README's benchmark section (BENCH_ARGS="--quick": no README)
#   make web        the browser page (ONNX Runtime Web: draw a digit, embed sentences) on http://127.0.0.1:8000
#   make wheelhouse every package setup downloads, in build/wheelhouse for an offline room (WHEELHOUSE=DIR)
#   make slides     a reveal.js deck per workshop track -> build/slides (reveal.js from a local copy)
#   make book       the executed notebooks and reports as a static site with offline search -> build/book/html
SHELL := /bin/bash
VENVS ?= .venvs
PY := $(VENVS)/main/bin/python
JOBS ?= 2
LAB_PORT ?= 8888

.PHONY: setup workbook test lint lab clean load benchmark doctor web wheelhouse slides spark-benchmark book

setup:
	@bash scripts/setup.sh

workbook: setup
	$(PY) -m workbook.runner $(NOTEBOOKS)

test: setup
	@rm -rf build/test
	$(PY) -m ruff check helpers workbook exercises tests scripts notebooks deploy
	ONNX_WORKBOOK_BUILD=$(CURDIR)/build/test $(PY) -m pytest -n $(JOBS) --dist loadgroup --durations 15 $(PYTEST_ARGS)

# Lint needs only ruff: a small venv of its own (.venvs/lint), not the multi-GB kernels.
lint:
	@WORKBOOK_VENVS=$(abspath $(VENVS)) bash scripts/setup.sh --lint
	$(VENVS)/lint/bin/ruff check helpers workbook exercises tests scripts notebooks deploy conftest.py

lab: setup
	$(PY) -m workbook.lab --port $(LAB_PORT) --notebook-dir notebooks

# Runs with the system's python3 and the standard library: it works before (and says what) setup needs.
doctor:
	python3 -m workbook.doctor --lab-port $(LAB_PORT)

clean:
	rm -rf build

# Serve the digits CNN on the local inference server and measure it (LOAD_ARGS="--seconds 10 --clients 1,8").
load: setup
	$(PY) -m workbook.load $(LOAD_ARGS)

# BENCH_ARGS: e.g. --quick, --threads 1, --parts digits,keras (default: the full run, which rewrites README's section)
BENCH_ARGS ?= --update-readme
benchmark: setup
	$(PY) -m workbook.benchmark $(BENCH_ARGS)

# The page of notebook 42 with the digits CNN and MiniLM, cross-origin isolated (WEB_ARGS="--port 8001 --threads 2").
web: setup
	$(PY) -m workbook.web $(WEB_ARGS)

# The offline room: pack every kernel's wheels, the Debian packages and build/models into one folder
# (WHEELHOUSE=/media/usb/wheelhouse); on the room's machines: WORKBOOK_WHEELHOUSE=that/folder make setup
WHEELHOUSE ?= build/wheelhouse
wheelhouse: setup
	@bash scripts/wheelhouse.sh $(WHEELHOUSE_ARGS) $(WHEELHOUSE)

# A reveal.js deck per workshop track (3h, full-day) from the notebooks -> build/slides. reveal.js comes from
# workshop/package.json's lock (npm; from the offline bundle's npm-cache when WORKBOOK_WHEELHOUSE is set).
slides: setup
	@[ -f workshop/node_modules/reveal.js/dist/reveal.js ] || ! command -v npm >/dev/null \
	  || npm ci --prefix workshop --ignore-scripts --no-audit --no-fund \
	     $${WORKBOOK_WHEELHOUSE:+--offline --cache $$WORKBOOK_WHEELHOUSE/npm-cache}
	$(PY) -m workbook.slides $(SLIDES_ARGS)

# Spark batch scoring (notebooks/45): rows/s on local[1], local[2] and a standalone 2-worker cluster -> build/reports/spark_benchmark.*
spark-benchmark: setup
	$(PY) -m workbook.spark_benchmark $(SPARK_ARGS)

# The book: what the last `make workbook` left in build/ (executed notebooks, reports) as a static site in
# build/book/html (Sphinx + myst-nb + Furo), then every page opened in headless Chromium: no console error, no
# request outside the site, no broken link or image, search finds a term. It runs no notebook: with none executed
# it says to run `make workbook` first (NOTEBOOKS="--quick 00 01 20" for a quick look). BOOK_ARGS="--no-check".
book: setup
	$(PY) -m workbook.book $(BOOK_ARGS)
