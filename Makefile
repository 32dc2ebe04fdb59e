# The two commands of the README: `make run` and `make test`. Both install what they need.
SWIFT ?= swift
LISTEN ?= 127.0.0.1:8080
ARGS ?=

.PHONY: run test build release bench soak deps clean fuzz asan tsan

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
	@# Every fuzz target briefly (docs/reliability.md); a finding fails the run.
	scripts/fuzz build
	scripts/fuzz run $(CI_FUZZ_SECONDS)
	$(SWIFT) build --product execbridge
	@# `make run` builds in release mode, where module imports are stricter: keep it building.
	$(SWIFT) build -c release --product execbridge
	Compat/run.sh --gateway .build/debug/execbridge

# libFuzzer with address sanitizer on every decoder, FUZZ_SECONDS per target (docs/reliability.md).
FUZZ_SECONDS ?= 60
CI_FUZZ_SECONDS ?= 10
fuzz: deps
	scripts/fuzz build
	scripts/fuzz run $(FUZZ_SECONDS)

# The unit and end-to-end tests under address / thread sanitizer, each in its own build directory.
asan: deps
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/lsan.supp:print_suppressions=0 $(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan

tsan: deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS=halt_on_error=0 $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan

# Figures of docs/performance.md, every ratio against its anchor from the same run (ARGS: e.g. --quick).
bench: release
	scripts/bench $(ARGS)

# Load and faults: every byte verified, the figures of docs/reliability.md (ARGS: e.g. --quick).
soak: release
	@Compat/install.sh
	@Compat/spdy-go/build.sh >/dev/null
	scripts/soak $(ARGS)

clean:
	rm -rf .build .build-fuzz .build-asan .build-tsan Compat/.work
