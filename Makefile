# fastpod: `make run` and `make test` work on a fresh Debian machine as root.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test engine lint typecheck unit pytest-all other-pythons bench chaos clean

# Runs the example pods on Docker until Ctrl-C; `.venv/bin/fastpod pods` (or `docker ps
# --filter label=io.fastpod.managed`) in another terminal shows them.
run: $(STAMP) engine
	$(BIN)/fastpod validate examples/manifests
	$(BIN)/fastpod run --runtime docker --pod-manifest-path examples/manifests

# The suite on 3.11 (engines included) with the other Pythons' run beside it: the engine
# tests mostly wait on Docker and containerd, which leaves a core for them. Their output,
# kept in .other-pythons.log, follows the 3.11 run's.
test: $(STAMP) engine lint typecheck
	@scripts/test-other-pythons > .other-pythons.log 2>&1 & others=$$!; \
	$(BIN)/pytest; tests=$$?; \
	wait $$others; others=$$?; \
	cat .other-pythons.log; \
	exit $$(( tests || others ))

# A Docker Engine and fastpod's private containerd (installed and started if missing), with
# the locally built images in both.
engine:
	scripts/docker-up
	scripts/build-images
	scripts/containerd-up

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check fastpod tests bench
	$(BIN)/ruff format --check fastpod tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The tests that need neither root nor an engine nor whole daemons: a minute, as any user.
unit: $(STAMP)
	$(BIN)/pytest -m "not docker and not containerd and not e2e and not root"

# Every test, the engine and end-to-end ones included (make test starts the engines first).
pytest-all: $(STAMP)
	$(BIN)/pytest

# Every test but the engine ones (the engines do not change with Python) on each other
# supported Python found here.
other-pythons:
	scripts/test-other-pythons

# The project's benchmarks, then `fastpod bench` reports for fake, Docker and containerd
# (bench-reports/<time>/: records, reports, plots), with podman installed as their peer.
bench: $(STAMP) engine
	scripts/podman-up
	$(BIN)/pytest bench --benchmark-only --benchmark-columns=min,median,mean,ops -p no:randomly
	$(BIN)/python -m bench.macro.pipeline
	$(BIN)/python -m bench.macro.api
	FASTPOD=$(BIN)/fastpod scripts/bench-reports

# The fault scenarios at their full sizes (bench/chaos; README "Faults"): kill -9 during
# churn, the manifest directory and the manifest URL misbehaving, on Docker then on
# containerd, containerd itself killed and started again; then fuzzed manifests and the API
# under abuse (fake runtime). About an hour and a quarter; each writes
# chaos-results/<scenario>-<runtime>-seed1.json and fastpod's log beside it, and fails if
# an invariant broke.
chaos: $(STAMP) engine
	$(BIN)/python -m bench.chaos kills manifest-dir manifest-url --runtime docker --seed 1
	$(BIN)/python -m bench.chaos kills runtime-restarts manifest-dir manifest-url --runtime cri --seed 1
	$(BIN)/python -m bench.chaos fuzz api-abuse --seed 1

clean:
	rm -rf $(VENV) .venv-3.* build *.egg-info .other-pythons.log
