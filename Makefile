# Every target builds its own virtual environment, so a fresh clone needs nothing but python3.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

LINTED := credential_helper tests fakeaws fuzz $(wildcard benchmarks)

.PHONY: demo test lint bench e2e fuzz clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# compat mode: a plain path in a .pth file. The default editable finder imports re,
	# typing and pathlib into every interpreter start, which would blur what ecrpy costs.
	$(BIN)/python -m pip install --quiet -e '.[test,lint]' --config-settings editable_mode=compat
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m fakeaws.demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

e2e: $(STAMP)
	$(BIN)/python -m pytest -q -m e2e tests/e2e

# ecrpy as users install it (fresh venv + its bundled pip, pipx) against docker-credential-ecr-login
# (apt: amazon-ecr-credential-helper) and the interpreter's floors, side by side in one run; starts
# dockerd and binds loopback:443, so one at a time. Writes benchmarks/results/latest.*
# BENCH_ARGS: e.g. --quick (a smoke run), --baseline main (an older ecrpy beside this one).
BENCH_ARGS ?=
bench: $(STAMP)
	flock /tmp/ecrpy-e2e.lock $(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# Fuzz the readers of untrusted input for FUZZ_SECONDS, on a scratch copy of the seed corpus.
FUZZ_SECONDS ?= 30
fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet atheris
	rm -rf .fuzz-corpus && cp -r fuzz/corpus .fuzz-corpus
	$(BIN)/python fuzz/fuzz_input.py .fuzz-corpus -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .fuzz-corpus
