# mdiag: `make demo` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test system-deps venv bench pcaps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip >/dev/null
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	bash .ci/install-system-deps.sh

## demo: the main job on bundled defaults; every command is printed as it runs.
## PREFIX names the demo's lab (default mddemo), so two demos can run on one machine.
PREFIX ?= mddemo
demo: system-deps venv
	@bash docs/examples/demo.sh $(BIN)/mdiag $(PREFIX)

## test: install everything the tests need, then run them
test: system-deps venv
	$(BIN)/python -m pytest -q

## bench: the benchmarks (long; run by hand, not in CI)
bench: system-deps venv
	@for b in tests/benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

## pcaps: regenerate the reference captures (byte-identical)
pcaps: venv
	$(BIN)/python -m mdiag.testing.pcapgen pcaps

clean:
	rm -rf $(VENV) build *.egg-info .hypothesis
