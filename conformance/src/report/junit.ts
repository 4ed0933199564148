// The JUnit XML report: one <testcase> per case (classname = the name up to its last `/`), known
// failures as skipped, stale known-failing entries as failed test cases of their own.
import type { SuiteResult } from '../run/execute.js';
import { formatMismatch } from './human.js';

function esc(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function formatJunit(s: SuiteResult): string {
  const secs = (ms: number) => (ms / 1000).toFixed(3);
  const cases: string[] = [];
  for (const r of s.results) {
    const cut = r.name.lastIndexOf('/');
    const open = `    <testcase classname="${esc(r.name.slice(0, cut))}" name="${esc(r.name.slice(cut + 1))}" time="${secs(r.durationMs)}"`;
    if (r.status === 'passed') cases.push(`${open}/>`);
    else if (r.status === 'skipped') cases.push(`${open}>\n      <skipped message="${esc(r.skipReason ?? '')}"/>\n    </testcase>`);
    else if (r.status === 'known_failing') cases.push(`${open}>\n      <skipped message="${esc(`known failing: ${r.knownFailing ?? ''}`)}"/>\n    </testcase>`);
    else {
      const body = [...r.mismatches.map(formatMismatch), ...r.reproduce.map((c) => `reproduce: ${c}`)].join('\n');
      const msg = `${r.mismatches.length} mismatch${r.mismatches.length === 1 ? '' : 'es'}: ${r.mismatches[0] ? formatMismatch(r.mismatches[0]) : ''}`;
      cases.push(`${open}>\n      <failure type="mismatch" message="${esc(msg)}">${esc(body)}</failure>\n    </testcase>`);
    }
  }
  for (const st of s.stale) {
    cases.push(`    <testcase classname="known-failing" name="${esc(st.split(' ')[2] ?? st)}" time="0">\n      <failure type="stale-known-failing" message="${esc(st)}"/>\n    </testcase>`);
  }
  const failures = s.totals.failed + s.stale.length;
  const skipped = s.totals.skipped + s.totals.knownFailing;
  const tests = s.results.length + s.stale.length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="makapix-conformance" tests="${tests}" failures="${failures}" skipped="${skipped}" time="${secs(s.durationMs)}">`,
    `  <testsuite name="${esc(s.mode)}" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="${secs(s.durationMs)}">`,
    `    <properties><property name="target" value="${esc(s.target)}"/><property name="features" value="${esc(s.features.join(','))}"/></properties>`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
