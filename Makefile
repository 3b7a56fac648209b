# albert-tfx: `make run` (the main job) and `make test` (the suite) set everything up on a fresh machine.
VENV       := .venv
PY         := $(VENV)/bin/python
# The stamp is rewritten after each successful install: pip runs again only when these change.
STAMP      := $(VENV)/.albert-tfx-installed
PYTEST_ARGS ?=
# Tests run in two processes (pytest-xdist), one test file per process at a time: the end-to-end runs wait on
# subprocesses, I/O and TFX orchestration much of the time, so two share a 2-core machine well (the suite took
# 43 minutes in one process). Each file stays in one process so that its module fixtures (a trained model, an
# S3 server) are built once; tests/conftest.py puts the files with slow tests first, and --no-loadscope-reorder
# keeps that order (xdist otherwise sends the files with the most tests first, the one-test slow files last).
TEST_WORKERS ?= 2
XDIST      := -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

.PHONY: run test test-fast lint bench install clean-venv

$(STAMP): setup.py constraints.txt tools/bootstrap_venv.sh
	bash tools/bootstrap_venv.sh "$(VENV)"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/albert-tfx run

test: lint
	$(PY) -m pytest tests $(XDIST) $(PYTEST_ARGS)

# The fast tests alone (no end-to-end runs), for the edit-test loop.
test-fast: lint
	$(PY) -m pytest tests -m "not slow" $(XDIST) $(PYTEST_ARGS)

# pyflakes' checks (unused and undefined names, shadowed imports), configured in pyproject.toml.
lint: $(STAMP)
	$(VENV)/bin/ruff check --quiet .

bench: $(STAMP)
	$(PY) -m benchmarks.run_all

clean-venv:
	rm -rf $(VENV)
