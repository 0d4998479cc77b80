# Set-up and run targets; README.md's two commands are `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# llama-cpp-python compiles for this CPU (-march=native), AMX included where the CPU lists it; on Intel Xeon
# machines here the first AMX instruction (tilezero) then kills the process with SIGILL ("Illegal instruction",
# seen 2026-12-01): the CPU lists AMX but the machine does not let a process use it. Explicit -mno-amx-* win
# over -march=native in gcc, whatever their order, so the build keeps AVX-512 and leaves AMX out.
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
export CMAKE_ARGS ?= -DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)'

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
