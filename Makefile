# Palisade build entry points.
#
#   make wasm        build the proxy-wasm filter into dist/palisade_filter.wasm
#   make playground  build the rule playground (wasm-bindgen) into dist/playground/
#   make collector   the playground, then the collector (release) with it embedded
#   make demo        the whole system on this machine (see below)
#
# Honours CARGO_TARGET_DIR (default: ./target). The CRS embedded in the module
# comes from PALISADE_CRS_DIR (default: ../shared/crs/v4.28.0); see filter/build.rs.

CARGO ?= cargo
CARGO_TARGET_DIR ?= $(CURDIR)/target
WASM_TARGET := wasm32-wasip1
WASM_PROFILE := wasm-release
WASM_BUILT := $(CARGO_TARGET_DIR)/$(WASM_TARGET)/$(WASM_PROFILE)/palisade_filter.wasm

PLAYGROUND_TARGET := wasm32-unknown-unknown
PLAYGROUND_BUILT := $(CARGO_TARGET_DIR)/$(PLAYGROUND_TARGET)/$(WASM_PROFILE)/palisade_playground.wasm
PLAYGROUND_OUT := dist/playground

# wasm-bindgen-cli must be exactly the version of the wasm-bindgen crate in
# Cargo.lock (pinned in collector/playground/Cargo.toml). `make playground`
# installs it when missing or of another version into WASM_BINDGEN_ROOT, by
# default ~/.cache/palisade/tools/wasm-bindgen-<version> (beside CI's
# CARGO_TARGET_DIR, ~/.cache/palisade/target, so a kept machine or a CI
# cache of ~/.cache/palisade keeps it). Building it takes a few minutes, once.
WASM_BINDGEN_VERSION := $(shell awk '$$0 == "name = \"wasm-bindgen\"" { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
WASM_BINDGEN_ROOT ?= $(HOME)/.cache/palisade/tools/wasm-bindgen-$(WASM_BINDGEN_VERSION)
WASM_BINDGEN := $(WASM_BINDGEN_ROOT)/bin/wasm-bindgen

.PHONY: wasm playground wasm-bindgen-cli collector
wasm:
	CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) $(CARGO) build --profile $(WASM_PROFILE) --target $(WASM_TARGET) -p palisade-filter
	mkdir -p dist
	cp $(WASM_BUILT) dist/palisade_filter.wasm
	@ls -l dist/palisade_filter.wasm

wasm-bindgen-cli:
	@test -n "$(WASM_BINDGEN_VERSION)" || { echo "no wasm-bindgen in Cargo.lock" >&2; exit 1; }
	@if [ "$$($(WASM_BINDGEN) --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) into $(WASM_BINDGEN_ROOT) (a few minutes, once)"; \
	  env -u CARGO_TARGET_DIR $(CARGO) install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --locked --force --root $(WASM_BINDGEN_ROOT) || exit 1; \
	fi
	@test "$$($(WASM_BINDGEN) --version)" = "wasm-bindgen $(WASM_BINDGEN_VERSION)" || { echo "$(WASM_BINDGEN) is not wasm-bindgen $(WASM_BINDGEN_VERSION)" >&2; exit 1; }

# The playground: the engine with the CRS embedded, built for
# wasm32-unknown-unknown, then wasm-bindgen's ES-module glue (--target web)
# beside it. The collector embeds both (collector/build.rs).
playground: wasm-bindgen-cli
	CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) $(CARGO) build --profile $(WASM_PROFILE) --target $(PLAYGROUND_TARGET) -p palisade-playground
	rm -rf $(PLAYGROUND_OUT) dist/palisade_playground.wasm
	$(WASM_BINDGEN) --target web --no-typescript --omit-default-module-path --experimental-reset-state-function --out-name palisade_playground --out-dir $(PLAYGROUND_OUT) $(PLAYGROUND_BUILT)
	@ls -l $(PLAYGROUND_OUT)

collector: playground
	PALISADE_PLAYGROUND_DIR=$(CURDIR)/$(PLAYGROUND_OUT) CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) $(CARGO) build --release -p palisade-collector
	@ls -l $(CARGO_TARGET_DIR)/release/palisade

# ---------------------------------------------------------------------------
# Tests. `make test` is what CI runs (.ci/run calls it after tests/setup.sh).
#   test-rust         unit and integration tests of every crate (release
#                     build: the e2e tests start real Envoy processes)
#   test-conformance  the CRS v4.28 go-ftw regression suite, in-process
# ---------------------------------------------------------------------------
.PHONY: test test-rust test-conformance test-browser

test: test-rust test-conformance test-browser

test-rust:
	CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) $(CARGO) test --workspace --release

test-conformance:
	CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) $(CARGO) run --release -p palisade-rules --bin crs-conformance

# Threat Monitoring page and playground in headless Chromium (tests/browser).
test-browser: collector
	PALISADE_BIN=$(CARGO_TARGET_DIR)/release/palisade CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) bash tests/browser/run.sh

# ---------------------------------------------------------------------------
# The whole system on this machine, on embedded defaults:
#   make demo                          collector, Envoy with the filter, demo app
#   make demo ARGS="--block --traffic" block mode; send a short traffic mix
# Installs what is missing (tests/setup.sh), builds the module and the
# collector, then runs `palisade up` in the foreground (data in
# ./palisade-data, or ARGS="--data DIR"); Ctrl-C stops everything.
# ---------------------------------------------------------------------------
.PHONY: demo
ARGS ?=

demo:
	bash tests/setup.sh
	$(MAKE) --no-print-directory wasm collector
	@echo
	exec $(CARGO_TARGET_DIR)/release/palisade up --wasm dist/palisade_filter.wasm $(ARGS)

# The NGINX module, built against the distribution's nginx (apt-get install
# nginx-dev libclang-dev). Its sources are copied and configured with the
# distribution's own flags once (about 10-40 s); rebuilt when nginx-dev
# changes (nginx.h is newer than the configured copy).
NGINX_SRC ?= /usr/share/nginx/src
NGINX_BUILD := $(CARGO_TARGET_DIR)/nginx-src
NGINX_MODULE_BUILT := $(CARGO_TARGET_DIR)/release/libngx_http_palisade_module.so

$(NGINX_BUILD)/objs/ngx_auto_config.h: $(NGINX_SRC)/src/core/nginx.h
	@test -f $(NGINX_SRC)/conf_flags || { echo "nginx sources not found in $(NGINX_SRC): apt-get install nginx-dev"; exit 1; }
	rm -rf $(NGINX_BUILD) && mkdir -p $(NGINX_BUILD) && cp -r $(NGINX_SRC)/. $(NGINX_BUILD)/
	cd $(NGINX_BUILD) && bash -c '. ./conf_flags && ./configure --with-cc-opt="-g -O2 -fPIC" --with-ld-opt="-Wl,-z,relro -Wl,-z,now -fPIC" "$${NGX_CONF_FLAGS[@]}"' > $(NGINX_BUILD)/configure.log 2>&1 || { tail -20 $(NGINX_BUILD)/configure.log; exit 1; }

.PHONY: nginx-module
nginx-module: $(NGINX_BUILD)/objs/ngx_auto_config.h
	cd nginx && NGINX_SOURCE_DIR=$(NGINX_BUILD) NGINX_BUILD_DIR=$(NGINX_BUILD)/objs CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) $(CARGO) build --release -p ngx_http_palisade_module
	mkdir -p dist
	strip --strip-debug -o dist/ngx_http_palisade_module.so $(NGINX_MODULE_BUILT)
	@ls -l dist/ngx_http_palisade_module.so
