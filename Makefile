# Makapix Contract: the project's vocabulary. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.install-stamp

.PHONY: help install system-packages test-system-packages docs clients run test generate check-generated check lint typecheck unit conformance packages bench fuzz chaos admin clean

help:
	@echo "make run              install what is missing, start broker + database + server"
	@echo "make test             install what is missing, lint, drift check, typecheck, all tests"
	@echo "make generate         regenerate generated/ from spec/"
	@echo "make check-generated  fail when generated/ differs from what spec/ produces"
	@echo "make docs             build the API docs (HTML + resolved JSON) into docs/site, served at /docs"
	@echo "make clients          regenerate only generated/clients/ (client models in 10 languages)"
	@echo "make lint             parse both spec documents and validate every example"
	@echo "make conformance      run the conformance suite against a fresh server and simulator"
	@echo "make bench            print the performance table (round trips, fleet, status ingest, fan-out) into BENCHMARKS.md"
	@echo "make packages         build @makapix/contract and @makapix/conformance into .packages/ (npm pack)"
	@echo "make admin ARGS=...   operator command on accounts, e.g. ARGS=\"grant moderator alice@example.com\" (ARGS=help)"
	@echo "make chaos            kill the database, the broker and servers under player load; print lost/duplicated/recovery per fault"
	@echo "make clean            remove .data/ (broker, database, certificates)"

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(NPM_STAMP)

system-packages:
	@bash server/devenv/ensure-system-packages.sh

# what `make test` needs besides: chromium for the docs browser test
test-system-packages:
	@bash server/devenv/ensure-system-packages.sh --tests

# The published docs (codegen/src/docs): rest.html, mqtt.html, index.html and the resolved
# openapi.json / asyncapi.json in docs/site (not committed); the server serves them at /docs.
DOCS_INPUTS := $(wildcard spec/*.yaml spec/components/*.yaml codegen/src/docs/*.ts)
docs/site/index.html: $(DOCS_INPUTS) | $(NPM_STAMP)
	npx tsx codegen/src/cli.ts docs

docs: install
	npx tsx codegen/src/cli.ts docs

generate: install
	npx tsx codegen/src/cli.ts generate

check-generated: install
	npx tsx codegen/src/cli.ts check-generated

# Client models (Modelina, codegen/src/clients/); `make generate` makes them too.
clients: install
	npx tsx codegen/src/cli.ts clients

lint: install
	npx tsx codegen/src/cli.ts lint

typecheck: install
	npx tsc --noEmit -p tsconfig.json

check: lint check-generated typecheck

unit: install
	npx vitest run

test: install system-packages test-system-packages
	@bash .ci/test.sh

# tsx as a loader, not its CLI: Ctrl-C then reaches one process, which stops everything it
# started (the tsx CLI re-sends the signal and SIGKILLs a child that does not acknowledge it within 60 ms).
run: install system-packages docs/site/index.html
	node --import tsx server/devenv/run.ts

# The two npm packages users install (README "Packages"): compiled with tsc, packed with npm pack.
packages: install
	npx tsx codegen/src/packages/build.ts --out .packages

# One table of the performance figures (each row with the command that measured it), also written
# to BENCHMARKS.md; the other benches print their own figures when run directly.
bench: install system-packages
	npx tsx server/bench/table.ts --write BENCHMARKS.md

fuzz: install system-packages
	npx tsx server/test/fuzz/cli.ts $(ARGS)

chaos: install system-packages
	npx tsx server/test/chaos/cli.ts $(ARGS)

conformance: install system-packages
	npx tsx conformance/src/cli/local.ts

# Roles are granted to existing accounts only (by email or user_id), recorded with who and when;
# the database is DATABASE_URL, as the server's (`make run` prints it).
admin: install
	npx tsx server/src/admin/cli.ts $(ARGS)

clean:
	rm -rf .data
