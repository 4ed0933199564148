# Makapix Contract: the project's vocabulary. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.install-stamp

.PHONY: help install system-packages run test generate check-generated check lint typecheck unit conformance bench fuzz clean

help:
	@echo "make run              install what is missing, start broker + database + server"
	@echo "make test             install what is missing, lint, drift check, typecheck, all tests"
	@echo "make generate         regenerate generated/ from spec/"
	@echo "make check-generated  fail when generated/ differs from what spec/ produces"
	@echo "make lint             parse both spec documents and validate every example"
	@echo "make conformance      run the conformance suite against a fresh server and simulator"
	@echo "make bench            print the performance table (round trips, fleet, status ingest, fan-out) into BENCHMARKS.md"
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

# One table of the performance figures (each row with the command that measured it), also written
# to BENCHMARKS.md; the other benches print their own figures when run directly.
bench: install system-packages
	npx tsx server/bench/table.ts --write BENCHMARKS.md

fuzz: install system-packages
	npx tsx server/test/fuzz/cli.ts $(ARGS)

conformance: install system-packages
	npx tsx conformance/src/cli/local.ts

clean:
	rm -rf .data
