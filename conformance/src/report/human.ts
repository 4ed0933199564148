// The human report: one line per case as it finishes, `FAILED: <name>` with every mismatch and the
// commands that reproduce it, then the totals.
import type { CaseResult, Mismatch } from '../model/case.js';
import type { SuiteResult } from '../run/execute.js';

export function formatMismatch(m: Mismatch): string {
  const where = [m.topic ? `topic ${m.topic}` : '', m.pointer ? `at ${m.pointer}` : m.topic ? 'at (message)' : ''].filter(Boolean).join(' ');
  return `${where ? `${where}: ` : ''}expected ${m.expected}, got ${m.got}`;
}

export function formatCaseResult(r: CaseResult): string {
  switch (r.status) {
    case 'passed':
      return `passed   ${r.name}  ${r.durationMs} ms`;
    case 'skipped':
      return `skipped  ${r.name}  ${r.skipReason ?? ''}`.trimEnd();
    case 'known_failing':
      return `known failing  ${r.name}  # ${r.knownFailing ?? ''} (${r.mismatches.length} mismatch${r.mismatches.length === 1 ? '' : 'es'})`;
    case 'failed': {
      const lines = [`FAILED: ${r.name}`];
      for (const m of r.mismatches) lines.push(`  - ${formatMismatch(m)}`);
      for (const c of r.reproduce) lines.push(`  reproduce: ${c}`);
      return lines.join('\n');
    }
  }
}

export function formatTotals(s: SuiteResult): string {
  const t = s.totals;
  const lines = [
    `${s.mode}: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped, ${t.knownFailing} known failing (${(s.durationMs / 1000).toFixed(1)} s)`,
  ];
  for (const st of s.stale) lines.push(`FAILED: ${st}`);
  return lines.join('\n');
}

export function formatHeader(s: { mode: string; target: string; features: readonly string[] }): string {
  return `makapix-conformance ${s.mode}: ${s.target}; features: ${s.features.join(', ') || '(none)'}`;
}

/** The whole report at once (the CLI prints the lines as the run goes instead). */
export function formatHuman(s: SuiteResult): string {
  return [formatHeader(s), ...s.results.map(formatCaseResult), formatTotals(s)].join('\n');
}
