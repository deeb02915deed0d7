# Every target creates .venv when it is missing, so a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_CORE := $(VENV)/.installed-core
STAMP_TEST := $(VENV)/.installed-test
STAMP_BENCH := $(VENV)/.installed-bench
MLFLOW_VENV := .bench-venvs/mlflow
STAMP_PEER_MLFLOW := $(MLFLOW_VENV)/.installed
EVIDENTLY_VENV := .bench-venvs/evidently
STAMP_PEER_EVIDENTLY := $(EVIDENTLY_VENV)/.installed
DVC_VENV := .bench-venvs/dvc
STAMP_PEER_DVC := $(DVC_VENV)/.installed
SERVE_VENV := .bench-venvs/modelcycle-serve
STAMP_SERVE := $(SERVE_VENV)/.installed
BENCH_ARGS ?=
PYTEST_ARGS ?=

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP_CORE): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[sklearn,server]'
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(STAMP_CORE)

$(STAMP_BENCH): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[bench]'
	touch $@ $(STAMP_CORE)

demo: $(STAMP_CORE)
	$(BIN)/modelcycle demo

test: $(STAMP_TEST)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# The tracking peer in a venv of its own, so its pins never bend ours. The targets were set against
# MLflow 3.17; when pip can no longer get it, the newest 3.x stands in (the report names the version).
$(STAMP_PEER_MLFLOW):
	rm -rf $(MLFLOW_VENV)
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/python -m pip install -q --upgrade pip
	$(MLFLOW_VENV)/bin/python -m pip install -q 'mlflow==3.17.*' \
		|| $(MLFLOW_VENV)/bin/python -m pip install -q 'mlflow>=3,<4'
	touch $@

# The data peers, each in a venv of its own. The drift targets were set against Evidently 0.7.23
# (0.7 API: evidently.Report, evidently.presets); pandas stays below 3 for it. pyarrow reads the
# shared Parquet frames. DVC is unpinned: `dvc add` has been stable for years.
$(STAMP_PEER_EVIDENTLY):
	rm -rf $(EVIDENTLY_VENV)
	$(PYTHON) -m venv $(EVIDENTLY_VENV)
	$(EVIDENTLY_VENV)/bin/python -m pip install -q --upgrade pip
	$(EVIDENTLY_VENV)/bin/python -m pip install -q 'evidently==0.7.*' 'pandas<3' pyarrow
	touch $@

# What a deployment installs to serve a model (the extras of an exported image, plus onnxruntime
# for --runtime onnx): bench_serving runs `modelcycle serve` from here, as MLflow runs from its own
# venv, so neither server pays for the other's or our test tools' imports. Editable: same code.
$(STAMP_SERVE): pyproject.toml
	rm -rf $(SERVE_VENV)
	$(PYTHON) -m venv $(SERVE_VENV)
	$(SERVE_VENV)/bin/python -m pip install -q --upgrade pip
	$(SERVE_VENV)/bin/python -m pip install -q -e '.[sklearn,server,onnx]'
	touch $@

$(STAMP_PEER_DVC):
	rm -rf $(DVC_VENV)
	$(PYTHON) -m venv $(DVC_VENV)
	$(DVC_VENV)/bin/python -m pip install -q --upgrade pip
	$(DVC_VENV)/bin/python -m pip install -q dvc
	touch $@

# BENCH_ARGS=--quick runs the small smoke version; BENCH_ARGS=tracking picks one benchmark.
bench: $(STAMP_BENCH) $(STAMP_PEER_MLFLOW) $(STAMP_PEER_EVIDENTLY) $(STAMP_PEER_DVC) $(STAMP_SERVE)
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

lint: $(STAMP_TEST)
	$(BIN)/ruff check modelcycle tests benchmarks
	$(BIN)/ruff format --check modelcycle tests benchmarks
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .bench-venvs .modelcycle build *.egg-info
