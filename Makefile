# Two entry points, each doing all set-up first:
#   make summary   set up, then run the default study (reports/summary.html)
#   make test      set up, then run the whole test suite (slow end-to-end checks included)
PYTHON ?= python3
VENV ?= .venv
CORES ?= 4
BIN := $(VENV)/bin

.PHONY: setup summary test lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

summary: setup
	$(BIN)/snakemake --cores $(CORES) reports/summary.html

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/snakemake --lint

clean:
	rm -rf data results logs reports/*.html reports/figures .snakemake
