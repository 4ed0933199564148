// The JSON report for CI systems: the suite result as it is, plus the verdict.
import type { SuiteResult } from '../run/execute.js';

export function formatJson(s: SuiteResult): string {
  return JSON.stringify({ ...s, ok: s.totals.failed === 0 && s.stale.length === 0 }, null, 2) + '\n';
}
