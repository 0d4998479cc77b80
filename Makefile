# Set-up and run targets; README.md's two commands are `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, from the local CPU wheel, so nothing pulls the CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

.PHONY: install run test eval bench bench-scale lint chromium
install: $(STAMP)

run: install
	$(PY) app.py

# The browser test drives Debian's chromium (never a downloaded browser).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

test: install chromium
	$(PY) -m pytest

eval: install
	$(PY) -m eval

bench: install
	$(PY) bench/latency.py
	$(PY) bench/load.py
	$(PY) bench/scale.py --quick

# The full scale run: about 1k, 10k and 100k chunks, qa and the stock pipeline (60-80 min on 2 cores, measured).
bench-scale: install
	$(PY) bench/scale.py --sizes 1000,10000,100000

lint: install
	$(VENV)/bin/ruff check qa eval tests bench app.py
