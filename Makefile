# Two entry points, each doing all set-up first:
#   make summary   set up, then run the default study (reports/summary.html) on min(4, CPUs) cores
#   make test      set up, then run the whole test suite (slow end-to-end checks included)
PYTHON ?= python3
VENV ?= .venv
# --cores 4 as the design card says, but no more than this machine's CPUs: cores beyond them only add
# jobs that wait for each other and hold memory. `make summary CORES=8` asks for more.
CPUS := $(shell nproc 2>/dev/null || echo 1)
CORES ?= $(shell if [ $(CPUS) -lt 4 ]; then echo $(CPUS); else echo 4; fi)
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

# Tests on pytest-xdist workers, one more than the CPUs (many tests wait on Snakemake, SLURM's status
# checks or a subprocess). Tests sharing a service or a costly fixture share an xdist_group, which one
# worker runs (--dist loadgroup). JUnit XML goes to $(TEST_RESULTS) (`python -m tests.slowest` reads it).
TEST_WORKERS ?= $(shell echo $$(( $(CPUS) + 1 )))
TEST_RESULTS ?= .test-results

test: setup
	rm -rf $(TEST_RESULTS)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --junitxml=$(TEST_RESULTS)/tests.xml

lint: setup
	$(BIN)/snakemake --lint

clean:
	rm -rf data results logs reports/*.html reports/figures .snakemake .test-results
