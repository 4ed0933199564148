# Makapix Contract: the project's vocabulary. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.install-stamp

.PHONY: help install system-packages run test generate check-generated check lint typecheck unit conformance packages bench fuzz clean

help:
	@echo "make run              install what is missing, start broker + database + server"
	@echo "make test             install what is missing, lint, drift check, typecheck, all tests"
	@echo "make generate         regenerate generated/ from spec/"
	@echo "make check-generated  fail when generated/ differs from what spec/ produces"
	@echo "make lint             parse both spec documents and validate every example"
	@echo "make conformance      run the conformance suite against a fresh server and simulator"
	@echo "make packages         build @makapix/contract and @makapix/conformance into .packages/ (npm pack)"
	@echo "make bench            print validator, round-trip, fleet, follower fan-out and vault numbers"
	@echo "make clean            remove .data/ (broker, database, certificates)"

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(NPM_STAMP)

system-packages:
	@bash server/devenv/ensure-system-packages.sh

generate: install
	npx tsx codegen/src/cli.ts generate

check-generated: install
	npx tsx codegen/src/cli.ts check-generated

lint: install
	npx tsx codegen/src/cli.ts lint

typecheck: install
	npx tsc --noEmit -p tsconfig.json

check: lint check-generated typecheck

unit: install
	npx vitest run

test: install system-packages
	@bash .ci/test.sh

# tsx as a loader, not its CLI: Ctrl-C then reaches one process, which stops everything it
# started (the tsx CLI re-sends the signal and SIGKILLs a child that does not acknowledge it within 60 ms).
run: install system-packages
	node --import tsx server/devenv/run.ts

# The two npm packages users install (README "Packages"): compiled with tsc, packed with npm pack.
packages: install
	npx tsx codegen/src/packages/build.ts --out .packages

bench: install system-packages
	npx tsx codegen/bench/validators.ts
	@if [ -f server/bench/round-trip.ts ]; then npx tsx server/bench/round-trip.ts; fi
	npx tsx server/bench/metrics-updates.ts
	npx tsx server/bench/fleet.ts
	npx tsx server/bench/fanout.ts
	npx tsx server/bench/vault.ts

fuzz: install system-packages
	npx tsx server/test/fuzz/cli.ts $(ARGS)

conformance: install system-packages
	npx tsx conformance/src/cli/local.ts

clean:
	rm -rf .data
