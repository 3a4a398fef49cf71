# One target per job, used alike by people and by CI.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_DATA ?= $(CURDIR)/var/demo
NPM    ?= npm
# Browser files from npm (web/package-lock.json pins them), copied into the package.
VENDOR := src/signalight/web/static/vendor
VENDOR_STAMP := $(VENDOR)/.installed-stamp
SWAGGER_UI_FILES := swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE

.PHONY: install demo test lint typecheck unit bench clean

# Installs the pinned versions from constraints.txt into ./.venv, once per change of them.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Signalight needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# --ignore-scripts: swagger-ui-dist's one dependency (@scarf/scarf) would report the
# install to its analytics service from a postinstall script; nothing here needs scripts.
# The console's libraries are copied as their packages build them (the map's CSP
# build needs no blob: workers); axe-core stays in node_modules for the tests.
NM := web/node_modules
$(VENDOR_STAMP): web/package.json web/package-lock.json
	@command -v $(NPM) >/dev/null || { echo "npm is needed to install the console's and the API docs' browser files (apt-get install npm)" >&2; exit 1; }
	cd web && $(NPM) ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR)
	mkdir -p $(addprefix $(VENDOR)/,swagger-ui maplibre supercluster uplot topojson pmtiles world-atlas)
	cp $(addprefix $(NM)/swagger-ui-dist/,$(SWAGGER_UI_FILES)) $(VENDOR)/swagger-ui/
	cp $(addprefix $(NM)/maplibre-gl/dist/,maplibre-gl-csp.js maplibre-gl-csp-worker.js maplibre-gl.css LICENSE.txt) $(VENDOR)/maplibre/
	cp $(NM)/supercluster/dist/supercluster.min.js $(NM)/supercluster/LICENSE $(VENDOR)/supercluster/
	cp $(NM)/uplot/dist/uPlot.iife.min.js $(NM)/uplot/dist/uPlot.min.css $(NM)/uplot/LICENSE $(VENDOR)/uplot/
	cp $(NM)/topojson-client/dist/topojson-client.min.js $(NM)/topojson-client/LICENSE $(VENDOR)/topojson/
	cp $(NM)/pmtiles/dist/pmtiles.js $(NM)/pmtiles/package.json $(VENDOR)/pmtiles/  # BSD-3-Clause, as its package.json says (no LICENSE file in the package)
	cp $(NM)/world-atlas/countries-50m.json $(NM)/world-atlas/LICENSE $(VENDOR)/world-atlas/
	@touch $(VENDOR_STAMP)

install: $(STAMP) $(VENDOR_STAMP)

demo: install
	SIGNALIGHT_DATA_DIR="$${SIGNALIGHT_DATA_DIR:-$(DEMO_DATA)}" $(BIN)/signalight demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest

test: lint typecheck unit

# Every script in bench/ is a benchmark but the helpers the benchmarks import or start.
BENCH_HELPERS := bench/ingest_rig.py bench/ingest_memory.py
BENCHMARKS := $(filter-out $(BENCH_HELPERS),$(sort $(wildcard bench/*.py)))

# A benchmark exits 1 when a figure misses its floor; the others still run, and
# the target fails at the end.
bench: install
	@status=0; for script in $(BENCHMARKS); do \
		echo "== $$script"; $(BIN)/python $$script || { echo "== $$script: FAILED" >&2; status=1; }; \
	done; exit $$status

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache web/node_modules $(VENDOR)
