# albert-tfx: `make run` (the main job) and `make test` (the suite) set everything up on a fresh machine.
VENV       := .venv
PY         := $(VENV)/bin/python
# The stamp is rewritten after each successful install: pip runs again only when these change.
STAMP      := $(VENV)/.albert-tfx-installed
PYTEST_ARGS ?=

.PHONY: run test test-fast lint bench install clean-venv

$(STAMP): setup.py constraints.txt tools/bootstrap_venv.sh
	bash tools/bootstrap_venv.sh "$(VENV)"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/albert-tfx run

test: lint
	$(PY) -m pytest tests $(PYTEST_ARGS)

# The fast tests alone (no end-to-end runs), for the edit-test loop.
test-fast: lint
	$(PY) -m pytest tests -m "not slow" $(PYTEST_ARGS)

# pyflakes' checks (unused and undefined names, shadowed imports), configured in pyproject.toml.
lint: $(STAMP)
	$(VENV)/bin/ruff check --quiet .

bench: $(STAMP)
	$(PY) -m benchmarks.run_all

clean-venv:
	rm -rf $(VENV)
