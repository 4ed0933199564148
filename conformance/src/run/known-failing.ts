// Known-failing lists are strict: one case name (or pattern) per line, each with a comment saying
// why (on the same line after `#`, or on the comment lines right above it). An entry that matches
// no case, or whose cases all pass now, fails the run: the list must shrink as fixes land.
import { readFileSync } from 'node:fs';
import type { CaseResult } from '../model/case.js';
import { matchesPattern } from './glob.js';

export interface KnownFailingEntry {
  pattern: string;
  comment: string;
  /** file:line */
  where: string;
}

export class KnownFailingError extends Error {
  override readonly name = 'KnownFailingError';
}

export function readKnownFailing(file: string): KnownFailingEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KnownFailingError(`--known-failing ${file}: ${(err as Error).message}`);
  }
  return parseKnownFailing(text, file);
}

export function parseKnownFailing(text: string, file: string): KnownFailingEntry[] {
  const entries: KnownFailingEntry[] = [];
  const problems: string[] = [];
  let pending: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '') {
      pending = [];
      return;
    }
    if (trimmed.startsWith('#')) {
      const c = trimmed.replace(/^#+\s*/, '');
      if (c) pending.push(c);
      return;
    }
    const hash = trimmed.indexOf('#');
    const pattern = (hash < 0 ? trimmed : trimmed.slice(0, hash)).trim();
    const inline = hash < 0 ? '' : trimmed.slice(hash + 1).trim();
    const comment = inline || pending.join(' ');
    const where = `${file}:${i + 1}`;
    if (/\s/.test(pattern)) problems.push(`${where}: one case name or pattern per line (got "${pattern}")`);
    else if (!comment) problems.push(`${where}: entry ${pattern} has no comment; say why it fails (\`${pattern}  # reason\`)`);
    else entries.push({ pattern, comment, where });
    if (inline) pending = [];
  });
  if (problems.length) throw new KnownFailingError(`known-failing list ${file} is invalid:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return entries;
}

export function knownFailingFor(entries: readonly KnownFailingEntry[], name: string): KnownFailingEntry | undefined {
  return entries.find((e) => matchesPattern(e.pattern, name));
}

/** Problems with the list after a run: entries that match no case, entries whose cases all passed. */
export function staleEntries(entries: readonly KnownFailingEntry[], allNames: readonly string[], results: readonly CaseResult[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    const names = allNames.filter((n) => matchesPattern(e.pattern, n));
    if (names.length === 0) {
      out.push(`known-failing entry ${e.pattern} (${e.where}) matches no case; remove it`);
      continue;
    }
    const ran = results.filter((r) => matchesPattern(e.pattern, r.name) && (r.status === 'passed' || r.status === 'known_failing'));
    if (ran.length > 0 && ran.every((r) => r.status === 'passed')) {
      out.push(`known-failing entry ${e.pattern} (${e.where}) now passes (${ran.map((r) => r.name).join(', ')}); remove it`);
    }
  }
  return out;
}
