# Palisade build entry points.
#
#   make wasm   build the proxy-wasm filter into dist/palisade_filter.wasm
#
# Honours CARGO_TARGET_DIR (default: ./target). The CRS embedded in the module
# comes from PALISADE_CRS_DIR (default: ../shared/crs/v4.28.0); see filter/build.rs.

CARGO ?= cargo
CARGO_TARGET_DIR ?= $(CURDIR)/target
WASM_TARGET := wasm32-wasip1
WASM_PROFILE := wasm-release
WASM_BUILT := $(CARGO_TARGET_DIR)/$(WASM_TARGET)/$(WASM_PROFILE)/palisade_filter.wasm

.PHONY: wasm
wasm:
	CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) $(CARGO) build --profile $(WASM_PROFILE) --target $(WASM_TARGET) -p palisade-filter
	mkdir -p dist
	cp $(WASM_BUILT) dist/palisade_filter.wasm
	@ls -l dist/palisade_filter.wasm

# ---------------------------------------------------------------------------
# Tests. `make test` is what CI runs (.ci/run calls it after tests/setup.sh).
#   test-rust         unit and integration tests of every crate (release
#                     build: the e2e tests start real Envoy processes)
#   test-conformance  the CRS v4.28 go-ftw regression suite, in-process
# ---------------------------------------------------------------------------
.PHONY: test test-rust test-conformance

test: test-rust test-conformance

test-rust:
	CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) $(CARGO) test --workspace --release

test-conformance:
	CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) $(CARGO) run --release -p palisade-rules --bin crs-conformance
