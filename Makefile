# Every target builds its own virtual environment, so a fresh clone needs nothing but python3.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

LINTED := credential_helper tests fakeaws fuzz tools setup.py $(wildcard benchmarks)

.PHONY: demo test lint bench e2e fuzz regions dist clean FORCE

# The package is installed in setuptools' "strict" editable mode: a tree of links to the sources
# under build/, on sys.path through a plain .pth line. Edits show at once; the default mode's
# import-hook finder would load re, typing and pathlib into every interpreter start and blur what
# ecrpy costs. A link tree does not see new modules, so the install is redone whenever the set of
# the package's files changes (FILES records it).
PACKAGE_FILES := $(sort $(shell find credential_helper -name '*.py' 2>/dev/null))
FILES := $(VENV)/.package-files

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(FILES): FORCE | $(BIN)/python
	@echo '$(PACKAGE_FILES)' | cmp -s - $@ || echo '$(PACKAGE_FILES)' > $@

$(STAMP): pyproject.toml $(FILES) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,lint,dist]' --config-settings editable_mode=strict
	touch $(STAMP)

FORCE:

demo: $(STAMP)
	$(BIN)/python -m fakeaws.demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

e2e: $(STAMP)
	$(BIN)/python -m pytest -q -m e2e tests/e2e

# ecrpy as users install it (fresh venv + its bundled pip, pipx) against docker-credential-ecr-login,
# the newest (0.12.0, Debian sid's, through .ci/sid-tools.sh) and Debian stable's (0.6.0, apt), and
# the interpreter's floors, side by side in one run; starts dockerd and binds loopback:443, so one
# at a time. Writes benchmarks/results/latest.*. As root it installs both Go helpers and GNU time.
# BENCH_ARGS: e.g. --quick (a smoke run), --baseline main (an older ecrpy beside this one).
BENCH_ARGS ?=
bench: $(STAMP)
	@if [ "$$(id -u)" = 0 ]; then \
	  [ -x /usr/bin/docker-credential-ecr-login ] && [ -x /usr/bin/time ] || \
	    apt-get -o DPkg::Lock::Timeout=900 install -y -qq amazon-ecr-credential-helper time >/dev/null; \
	  bash .ci/sid-tools.sh; \
	fi
	flock /tmp/ecrpy-e2e.lock $(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# Fuzz the readers of untrusted input for FUZZ_SECONDS, on a scratch copy of the seed corpus.
FUZZ_SECONDS ?= 30
fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet atheris
	rm -rf .fuzz-corpus && cp -r fuzz/corpus .fuzz-corpus
	PYTHONPATH=$(CURDIR) $(BIN)/python fuzz/fuzz_input.py .fuzz-corpus -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1

# credential_helper/regions.py from the installed botocore's endpoint data (tests/test_regions.py
# fails when botocore knows a region the table lacks).
regions: $(STAMP)
	$(BIN)/python tools/gen_regions.py

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy
	$(BIN)/mypy --platform win32   # the Windows branches (msvcrt, the threaded fallback, ...)
	$(BIN)/mypy --platform darwin  # macOS runs the POSIX code: every API it uses must exist there

# The release artefacts: the sdist, and from it a py3-none-any wheel (the fast script) and
# py3-none-win_amd64/win_arm64 wheels (an entry point: the .exe Docker finds on Windows), checked
# as PyPI checks them (twine) and for what the wheels hold (the package and its metadata, no tests
# or fakes); then the any wheel is installed with pipx, as a user would, and must answer like the
# checkout. (tests/windows installs the Windows wheel under wine.)
dist: $(STAMP)
	rm -rf dist build/lib
	$(BIN)/python tools/build_dist.py dist
	$(BIN)/twine check --strict dist/*
	$(BIN)/python tools/check_dist.py dist

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .fuzz-corpus
