// Prints the plain closing line CI reads: "N passed, N failed[, N skipped]".
// Usage: node .ci/summary.mjs <vitest-json> [failed-step ...]; a failed step counts as one failure.
import { readFileSync, existsSync } from 'node:fs';

const [file, ...failedSteps] = process.argv.slice(2);
let passed = 0, failed = failedSteps.length, skipped = 0;
if (file && existsSync(file)) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += (r.numFailedTests ?? 0);
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // a test file that fails to load has no tests but fails the run
  for (const suite of r.testResults ?? []) {
    if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) failed += 1;
  }
} else {
  failed += 1;
  console.log('no vitest results were written');
}
for (const s of failedSteps) console.log(`failed step: ${s}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
