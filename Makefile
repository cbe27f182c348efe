# Palisade build entry points.
#
#   make wasm        build the proxy-wasm filter into dist/palisade_filter.wasm
#   make playground  build the rule playground module into dist/palisade_playground.wasm
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

PLAYGROUND_TARGET := wasm32-wasip1
PLAYGROUND_BUILT := $(CARGO_TARGET_DIR)/$(PLAYGROUND_TARGET)/$(WASM_PROFILE)/palisade_playground.wasm

.PHONY: wasm playground collector
wasm:
	CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) $(CARGO) build --profile $(WASM_PROFILE) --target $(WASM_TARGET) -p palisade-filter
	mkdir -p dist
	cp $(WASM_BUILT) dist/palisade_filter.wasm
	@ls -l dist/palisade_filter.wasm

# The playground is a plain WASI (preview 1) module with a JSON C ABI; the
# page supplies the few WASI calls it makes (collector/web/js/wasi.js).
playground:
	CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) $(CARGO) build --profile $(WASM_PROFILE) --target $(PLAYGROUND_TARGET) -p palisade-playground
	mkdir -p dist
	cp $(PLAYGROUND_BUILT) dist/palisade_playground.wasm
	@ls -l dist/palisade_playground.wasm

collector: playground
	PALISADE_PLAYGROUND_WASM=$(CURDIR)/dist/palisade_playground.wasm CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) $(CARGO) build --release -p palisade-collector
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
