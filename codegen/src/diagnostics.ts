/** A problem found in the spec: rule id, where (file:line:col and JSON pointer), what, and what to do. */
export interface Diagnostic {
  rule: string;
  severity: 'error' | 'warning';
  file: string; // path relative to the repository root
  line: number; // 1-based
  col: number; // 1-based
  pointer: string; // JSON pointer inside `file`
  message: string;
  hint?: string;
}

/** Collects every problem first; the caller reports them all at once. */
export class Diagnostics {
  readonly items: Diagnostic[] = [];

  add(d: Diagnostic): void {
    const key = (x: Diagnostic) => `${x.rule}|${x.file}|${x.pointer}|${x.message}`;
    if (!this.items.some((x) => key(x) === key(d))) this.items.push(d);
  }

  get errors(): Diagnostic[] {
    return this.items.filter((d) => d.severity === 'error');
  }

  sorted(): Diagnostic[] {
    return [...this.items].sort(
      (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.rule.localeCompare(b.rule),
    );
  }
}

export function formatDiagnostic(d: Diagnostic): string {
  const head = `${d.file}:${d.line}:${d.col} ${d.severity} [${d.rule}] ${d.message}`;
  const lines = [head, `    at ${d.pointer || '/'}`];
  if (d.hint) lines.push(`    hint: ${d.hint}`);
  return lines.join('\n');
}

export function formatSummary(ds: Diagnostics): string {
  const e = ds.errors.length;
  const w = ds.items.length - e;
  return `${e} error${e === 1 ? '' : 's'}, ${w} warning${w === 1 ? '' : 's'}`;
}
