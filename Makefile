# The two commands of the README: `make run` and `make test`. Both install what they need.
SWIFT ?= swift
LISTEN ?= 127.0.0.1:8080
ARGS ?=

.PHONY: run test build release bench soak deps clean

deps:
	@scripts/deps.sh build

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product execbridge

# The gateway with the embedded local backend.
run: release
	.build/release/execbridge serve --listen $(LISTEN) $(ARGS)

# Unit and end-to-end tests, then the compatibility suite against real third-party clients.
test:
	@scripts/deps.sh test
	@# No dependency cycle in Sources/ExecBridge may span more than one folder.
	scripts/import-graph >/dev/null
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(SWIFT) build --product execbridge
	@# `make run` builds in release mode, where module imports are stricter: keep it building.
	$(SWIFT) build -c release --product execbridge
	Compat/run.sh --gateway .build/debug/execbridge

bench: release
	scripts/bench

# Load and faults: every byte verified, the figures of docs/reliability.md (ARGS: e.g. --quick).
soak: release
	@Compat/install.sh
	@Compat/spdy-go/build.sh >/dev/null
	scripts/soak $(ARGS)

clean:
	rm -rf .build Compat/.work
