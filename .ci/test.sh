#!/usr/bin/env bash
# The body of `make test`: every check, then every test, ending with a plain "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
failed_steps=()
step() { local name=$1; shift; echo "== $name"; if ! "$@"; then failed_steps+=("$name"); fi; }

step lint npx tsx codegen/src/cli.ts lint
step check-generated npx tsx codegen/src/cli.ts check-generated
step typecheck npx tsc --noEmit -p tsconfig.json
echo "== vitest"
rm -f .vitest-results.json
npx vitest run --reporter=default --reporter=json --outputFile.json=.vitest-results.json
vitest_rc=$?
node .ci/summary.mjs .vitest-results.json "${failed_steps[@]}"
summary_rc=$?
[ $vitest_rc -eq 0 ] && [ $summary_rc -eq 0 ] && [ ${#failed_steps[@]} -eq 0 ]
