# Paydeck's two commands:
#   make run    set up, build and start Paydeck on http://127.0.0.1:3000
#   make test   set up, build and run every test (Rust tests, then the browser suite)
# Each setup step is skipped when what it installs is already there.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO_LEPTOS_VERSION := 0.3.10
# cargo-leptos runs cargo, wasm-bindgen and wasm-opt and copies files: built without
# optimisation it installs in 7 minutes instead of 20 on two cores. Only its compressors
# (the site's brotli and gzip files) do heavy work of their own; they are optimised.
CARGO_LEPTOS_OPTIMISED := brotli brotli-decompressor alloc-no-stdlib libflate libflate_lz77 adler32 crc32fast rle-decode-fast dary_heap miniz_oxide
# cargo-leptos runs the wasm-bindgen CLI on PATH; it must equal the library in Cargo.lock.
# Installed the same way: unoptimised (1 minute instead of 3) but for the crates that read,
# transform and write the WebAssembly, so it runs as fast and writes the same bytes.
WASM_BINDGEN_OPTIMISED := walrus wasmparser wasm-encoder wasm-bindgen-cli-support wasm-bindgen-shared id-arena leb128fmt gimli
WASM_BINDGEN_FLAGS := --debug $(foreach p,$(WASM_BINDGEN_OPTIMISED),--config 'profile.dev.package.$(p).opt-level=3') \
  --config profile.dev.debug=false
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/^version = "\(.*\)"/\1/p;}' Cargo.lock)
NODE_BIN := $(CURDIR)/end2end/node_modules/.bin
# wasm-opt comes from npm's binaryen (Debian's is too old for current Rust output).
export PATH := $(NODE_BIN):$(HOME)/.cargo/bin:$(PATH)

PAYDECK_LISTEN ?= 127.0.0.1:3000
export PAYDECK_LISTEN

.PHONY: help setup toolchain rust-tools node-packages python-packages system-packages build run run-fleet image docs test test-rust test-postgres test-e2e test-image test-fuzz test-faults test-hours lint sim bench-sim bench-server bench-fleet bench-history bench-ui bench-ui-fleet bench-whatif

help:
	@echo "make run    build and start Paydeck (http://$(PAYDECK_LISTEN))"
	@echo "make run-fleet   the same with three simulated clusters, 14 days of history each (the fleet at /fleet)"
	@echo "make test   build and run every test"
	@echo "make lint   rustfmt and clippy"
	@echo "make image   the container image without a daemon (target/image/oci); make test-image starts it"
	@echo "make docs   docs/configuration.md again from the flags"
	@echo "make test-faults   the fault suite's long run (50 kills, 50 kills amid plan steps, 20 API-server restarts, API errors and hangs, a full disk, clock steps, floods of silent sockets, trickling bodies and audit reads, 10 leader failovers, 10 minutes of API fuzzing), with figures, then test-hours"
	@echo "make test-hours   the Rust and browser suites with the simulated clock started at four hours of the day"
	@echo "make sim    start only the simulated cluster (kubeconfig in data/sim.kubeconfig)"
	@echo "make bench-sim   the simulator's benchmark (large profile)"
	@echo "make bench-server   sync time, memory, history and sampler figures (large profile)"
	@echo "make bench-fleet   the same at fleet scale (huge profile: 100,000 pods)"
	@echo "make bench-history   history at fleet size: size per workload-day over 30 days, maintenance beside writes"
	@echo "make bench-ui   bytes shipped, server render times, time to a usable 2,000-row services page"
	@echo "make bench-ui-fleet   the services page with 2,000 rows in Chromium while the huge profile churns"
	@echo "make bench-whatif   the what-if replay of a week of 15-s steps (target 50 ms)"

setup: rust-tools node-packages system-packages

# rust-toolchain.toml names Rust 1.95.0; where the installed toolchain is that release under the
# name stable, it is given that name too instead of being downloaded again.
TOOLCHAINS := $(or $(RUSTUP_HOME),$(HOME)/.rustup)/toolchains
toolchain:
	@test -e "$(TOOLCHAINS)/1.95.0-x86_64-unknown-linux-gnu" \
	  || ! rustup run stable rustc --version | grep -q '^rustc 1\.95\.0 ' \
	  || ln -s "$(TOOLCHAINS)/stable-x86_64-unknown-linux-gnu" "$(TOOLCHAINS)/1.95.0-x86_64-unknown-linux-gnu"

rust-tools: toolchain
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
	  || rustup target add wasm32-unknown-unknown
	@cargo leptos --version 2>/dev/null | grep -qF "$(CARGO_LEPTOS_VERSION)" \
	  || cargo install cargo-leptos --version "=$(CARGO_LEPTOS_VERSION)" --locked --features no_downloads \
	    --debug $(foreach p,$(CARGO_LEPTOS_OPTIMISED),--config 'profile.dev.package.$(p).opt-level=3') \
	    --config profile.dev.debug=false
	@wasm-bindgen --version 2>/dev/null | grep -qF "$(WASM_BINDGEN_VERSION)" \
	  || cargo install wasm-bindgen-cli --version "=$(WASM_BINDGEN_VERSION)" --force --locked $(WASM_BINDGEN_FLAGS) \
	  || { echo "== wasm-bindgen-cli: a version its Cargo.lock names is not in this registry; installing it unlocked (the version itself stays pinned)"; \
	       cargo install wasm-bindgen-cli --version "=$(WASM_BINDGEN_VERSION)" --force $(WASM_BINDGEN_FLAGS); }

node-packages: end2end/node_modules/.package-lock.json

end2end/node_modules/.package-lock.json: end2end/package.json end2end/package-lock.json
	cd end2end && npm ci --no-audit --no-fund
	@touch $@

# The API fuzzer (schemathesis, from PyPI) in its own environment.
FUZZ_PYTHON := $(CURDIR)/end2end/.venv/bin/python
python-packages: end2end/.venv/installed.txt

# The API fuzzer's packages and Helm's engine for the chart's tests, pinned by hash.
PYTHON_REQUIREMENTS := end2end/fuzz/requirements.txt k8s/chart/requirements.txt
end2end/.venv/installed.txt: $(PYTHON_REQUIREMENTS)
	@test -x $(FUZZ_PYTHON) || python3 -m venv end2end/.venv \
	  || { echo "python3 with venv is needed for the API fuzzer and the chart's tests (Debian: apt-get install python3-venv)"; exit 1; }
	$(FUZZ_PYTHON) -m pip install --quiet --disable-pip-version-check --require-hashes $(addprefix -r ,$(PYTHON_REQUIREMENTS))
	@cat $(PYTHON_REQUIREMENTS) > $@

system-packages:
	@command -v chromium >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@command -v kubectl >/dev/null \
	  || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl \
	  || { echo "kubectl is needed (the manifest tests render k8s/ with kubectl kustomize)"; exit 1; }
	@command -v unshare >/dev/null \
	  || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq util-linux
	@{ command -v umoci && command -v podman && command -v runc; } >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq umoci podman runc; } \
	  || { echo "umoci, podman and runc are needed (the image is built and started without a daemon)"; exit 1; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } \
	  || { echo "PostgreSQL's server is needed (the store's tests run on a real one)"; exit 1; }

# The release build: server binary in target/release, site (WASM, JS, CSS, ECharts, favicon)
# in target/site, precompressed with brotli and gzip. Made again only when a file it is made
# from is newer than the last build (cargo-leptos would otherwise regenerate and recompress
# the browser bundle every time, most of a minute), so `make run` on a built tree serves at once.
# `--split` cuts the lazily loaded pages (app/src/pages/lazy.rs) into chunks of their own; the
# WebAssembly is only valid split, so every build of the site needs it.
BUILT := target/site/.built
# ECharts with only the charts and components Paydeck draws, bundled from the npm package.
ECHARTS := public/assets/echarts.min.js
BUILD_INPUTS := $(shell find app server sim style public -type f -not -path 'public/assets/echarts.min.js' 2>/dev/null) \
  Cargo.toml Cargo.lock rust-toolchain.toml end2end/node_modules/.package-lock.json
build: setup $(BUILT)

$(BUILT): $(BUILD_INPUTS) $(ECHARTS)
	@start=$$(date +%s); cargo leptos build --release --precompress --split --cargo-locked; \
	  echo "== build took $$(( $$(date +%s) - start )) s"
	@touch $@

$(ECHARTS): end2end/echarts/paydeck.js end2end/echarts/build.mjs end2end/node_modules/.package-lock.json
	@mkdir -p $(@D)
	cd end2end && node echarts/build.mjs ../$@

# On a first run, a simulated day is recorded before serving, so charts and the what-if have
# a past (about a minute on two cores).
run: build
	target/release/paydeck --listen "$(PAYDECK_LISTEN)" --cluster sim --sim-history 14d

# A fleet to look at: three simulated clusters (their own seeds), 14 days of history each
# (about two minutes on two cores the first time), the fleet at /fleet. Its own database.
run-fleet: build
	target/release/paydeck --listen "$(PAYDECK_LISTEN)" --cluster sim --sim-clusters 3 --sim-history 14d --db data/fleet.db

test: build test-rust test-e2e test-fuzz test-image

# Each phase prints its time, so a CI log shows where the minutes went.
# The Rust tests run on the release build: after `make build` cargo compiles only the tests
# themselves (the profile, features and Leptos settings are the same; see Cargo.toml,
# server/Cargo.toml and .cargo/config.toml), instead of a second, debug build of everything.
# A dependency of the server compiled again here means those drifted apart; the count is
# printed (dependencies only the tests use are compiled once, and not counted).
test-rust: python-packages
	@start=$$(date +%s); log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	  cargo test --release --locked --workspace 2>&1 | tee "$$log"; \
	  again=$$(grep -E '^ +Compiling ' "$$log" | awk '{print $$2, $$3}' \
	    | grep -Fxf <(cargo tree -p paydeck -e normal --prefix none --format '{p}' | awk '{print $$1, $$2}') \
	    | grep -cvE '^(app|domain|paydeck|sim) ' || true); \
	  echo "== test-rust compiled $$again of the server's dependencies again (0 expected after make build)"; \
	  echo "== test-rust took $$(( $$(date +%s) - start )) s"
	@$(MAKE) --no-print-directory test-postgres

# The suites that touch storage through a running server (edits, the advisor, the what-if,
# right-sizing, the audit log's reads) again, with the server recording in a real PostgreSQL
# server instead of a SQLite file. The store's own tests, the audit chain's and the fault
# suite's kill test run on both stores in every round already.
POSTGRES_ROUND := edits:: advisor:: whatif:: sizing:: conventions:: identity:: plans::
test-postgres:
	@start=$$(date +%s); status=0; \
	  PAYDECK_TEST_STORE=postgres cargo test --release --locked -p paydeck --test integration -- $(POSTGRES_ROUND) || status=$$?; \
	  echo "== test-postgres took $$(( $$(date +%s) - start )) s"; exit $$status

# The container image without a daemon (umoci; an OCI layout in target/image/oci), then
# started with podman against a simulated cluster until ready (k8s/image/test.sh).
image: build
	@start=$$(date +%s); k8s/image/build.sh; echo "== image took $$(( $$(date +%s) - start )) s"

test-image: image
	@start=$$(date +%s); k8s/image/test.sh; echo "== test-image took $$(( $$(date +%s) - start )) s"

# docs/configuration.md made again from the binary's own flags (a test checks it is current).
docs:
	PAYDECK_WRITE_DOCS=1 cargo test --release --locked -p paydeck --test integration -- docs::configuration

test-e2e:
	@start=$$(date +%s); cd end2end && npx playwright test; \
	  echo "== test-e2e took $$(( $$(date +%s) - start )) s"

# The JSON API fuzzed from its OpenAPI document as three identities against the release
# binary: 20 s each here, 200 s each in test-faults. Prints a FUZZ line of figures.
FUZZ_SECONDS ?= 20
test-fuzz: python-packages
	@start=$$(date +%s); $(FUZZ_PYTHON) end2end/fuzz/api_fuzz.py --seconds-per-identity $(FUZZ_SECONDS); \
	  echo "== test-fuzz took $$(( $$(date +%s) - start )) s"

# Every suite pins the simulated clock (sim/test-start; PAYDECK_SIM_START moves it): the
# simulated traffic follows the time of day, and a test must not pass or fail with the hour
# it runs at. These are the Rust and browser suites with the clock started at four hours spread
# over the day, the last in the flash sale: a test that holds only at the pinned hour fails here.
SIM_HOURS := 2026-11-26T00:30:00Z 2026-11-26T06:30:00Z 2026-11-26T12:30:00Z 2026-11-26T18:20:00Z
test-hours: build
	@start=$$(date +%s); failed=""; for at in $(SIM_HOURS); do \
	  echo "== the Rust and browser suites with the simulated clock starting at $$at"; \
	  PAYDECK_SIM_START=$$at cargo test --release --locked --workspace --no-fail-fast || failed="$$failed rust@$$at"; \
	  (cd end2end && PAYDECK_SIM_START=$$at npx playwright test) || failed="$$failed browser@$$at"; \
	done; \
	echo "== test-hours took $$(( $$(date +%s) - start )) s"; \
	if [ -n "$$failed" ]; then echo "== test-hours failed:$$failed"; exit 1; fi; \
	echo "== test-hours: every suite passed at every hour"

# The fault suite's long run, the release check; `make test` runs a short round of it. Ends
# with a table of every fault's figures; then the suites at four hours of the day.
test-faults: build python-packages
	@mkdir -p target/faults
	@date +%s > target/faults/started
	PAYDECK_FAULT_KILLS=$${PAYDECK_FAULT_KILLS:-50} PAYDECK_FAULT_RESTARTS=$${PAYDECK_FAULT_RESTARTS:-20} \
	  PAYDECK_FAULT_HOLD_SECONDS=$${PAYDECK_FAULT_HOLD_SECONDS:-10} \
	  PAYDECK_FLOOD_SOCKETS=$${PAYDECK_FLOOD_SOCKETS:-9000} PAYDECK_FLOOD_BODIES=$${PAYDECK_FLOOD_BODIES:-2000} \
	  PAYDECK_FLOOD_EDITS=$${PAYDECK_FLOOD_EDITS:-20} PAYDECK_FAILOVER_ROUNDS=$${PAYDECK_FAILOVER_ROUNDS:-10} \
	  cargo test --release --locked -p paydeck --test integration -- faults:: plan_faults:: floods:: failover:: --nocapture --test-threads=1 | tee target/faults/faults.log
	$(FUZZ_PYTHON) end2end/fuzz/api_fuzz.py --seconds-per-identity $${PAYDECK_FUZZ_SECONDS:-200} | tee target/faults/fuzz.log
	@echo; echo "== fault suite figures ($$(( $$(date +%s) - $$(cat target/faults/started) )) s, goal ≤ 20 min)"
	@grep -h -E '^(test .* \.\.\. )?(FAULTS|FUZZ) \|' target/faults/faults.log target/faults/fuzz.log | sed -E 's/^test .* \.\.\. //'
	$(MAKE) --no-print-directory test-hours

# The simulated cluster alone, for kubectl: KUBECONFIG=data/sim.kubeconfig kubectl get deploy -A
sim:
	cargo run --release -p sim --bin paydeck-sim -- --listen 127.0.0.1:6443 --write-kubeconfig data/sim.kubeconfig

bench-sim:
	cargo run --release -p sim --example sim_bench

# Watching and history against the simulator's large profile (a separate paydeck-sim process).
bench-server:
	cargo build --release -p sim --bin paydeck-sim
	cargo run --release -p paydeck --example server_bench

# The same at fleet scale: the `huge` profile, 10,000 Deployments and 100,000 pods (about
# 2.5 GB for the simulator; kubectl's list alone takes minutes on two cores); then the fleet
# round: one Paydeck watching ten clusters of 10,000 pods (memory, the fleet overview's render
# and time to usable in Chromium, one cluster's outage against the others' lag).
bench-fleet: build
	cargo build --release -p sim --bin paydeck-sim
	cargo run --release -p paydeck --example server_bench -- huge
	# The round's driver only polls and patches: the release binaries it starts are measured.
	cargo run -p paydeck --example fleet_bench

# History at 10,000 workloads: database size per workload-day over 30 generated days, the
# sampler's cost, and how long retention and rollups hold up other writes.
bench-history:
	cargo run --release -p paydeck --example history_bench

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p app --features hydrate --target wasm32-unknown-unknown -- -D warnings

# Bytes shipped, server-side render p50/p99 on the demo and large profiles, and time to a
# usable services page with 2,000 rows in Chromium.
bench-ui: build
	cd end2end && node bench/ui.mjs

# The browser at fleet scale: the services page with 2,000 rows open in Chromium while the
# huge profile churns (main-thread share, longest task, input delay, row fetches).
bench-ui-fleet: build
	cargo build --release -p sim --bin paydeck-sim
	cd end2end && node bench/fleet-browser.mjs

# The what-if replay of a week of 15-s steps through two HPA configurations (target ≤ 50 ms;
# bench-ui measures the same replay in the browser).
bench-whatif:
	cargo run --release -p domain --example replay_bench
