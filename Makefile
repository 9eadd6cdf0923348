# One task runner for the project. Every target creates .venv and installs what is missing.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install system-deps test install-check lint format docs demo bench eval clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the browser tests need (Chromium, driven by Playwright); installed
# when missing and we may (root), else those tests skip with a reason.
system-deps:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

test: install system-deps
	$(PY) -m pytest -q

# The production install, as the container does it: the wheel alone in a fresh venv,
# then `digest --version`, `config` and `demo` from outside the checkout.
install-check:
	deploy/wheel.sh check

lint: install
	$(VENV)/bin/ruff check pipeline tests benchmarks tools
	$(VENV)/bin/ruff format --check pipeline tests benchmarks tools
	$(VENV)/bin/mypy
	$(VENV)/bin/cog --check README.md deploy/digest.env.example

docs: install
	$(VENV)/bin/cog -r README.md deploy/digest.env.example

format: install
	$(VENV)/bin/ruff check --fix pipeline tests benchmarks tools
	$(VENV)/bin/ruff format pipeline tests benchmarks tools

demo: install
	$(VENV)/bin/digest demo

bench: install
	$(PY) benchmarks/fetch.py
	$(PY) benchmarks/cluster.py --scale 100000
	$(PY) benchmarks/summarize.py
	$(PY) benchmarks/build.py
	$(PY) benchmarks/stream.py
	$(PY) benchmarks/review.py

eval: install
	$(PY) benchmarks/eval_gate.py

clean:
	rm -rf demo-output .pytest_cache .mypy_cache .ruff_cache
