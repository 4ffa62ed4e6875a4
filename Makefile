# stereodiff — set-up, tests, demo, benchmarks. Everything runs from a local virtualenv (.venv).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# CPU build of torch (a local wheel on our machines). GPU users: see README "GPU install".
TORCH_SPEC ?= torch==2.13.0
# Ray for `stereodiff batch --engine ray` and its tests (the version the tests run with).
RAY_SPEC ?= ray==2.60.0
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: install test test-realsize demo bench bench-quick lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e '.[paper,test,app,ray]' "$(RAY_SPEC)"
	touch $@

test: install
	$(PY) -m pytest -q

# The published architectures at full size with random weights (models cached in ~/.cache/stereodiff/realsize).
test-realsize: install
	$(PY) -m pytest -q -m realsize tests/test_realsize.py

demo: install
	$(VENV)/bin/stereodiff demo

bench: install
	$(PY) benchmarks/run_all.py

bench-quick: install
	$(PY) benchmarks/run_all.py --quick

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache
