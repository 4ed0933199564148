// Test support: a throwaway copy of the repository's spec/ (and lint config) that a test may break.
import { cpSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

export const REPO = resolve(import.meta.dirname, '../..');

export function copySpec(): string {
  const dir = mkdtempSync(join(tmpdir(), 'makapix-spec-'));
  cpSync(join(REPO, 'spec'), join(dir, 'spec'), { recursive: true });
  for (const f of ['redocly.yaml', '.redocly.lint-ignore.yaml']) {
    if (existsSync(join(REPO, f))) cpSync(join(REPO, f), join(dir, f));
  }
  return dir;
}

/** Replaces the first occurrence of `from` (after line `afterLine`, 1-based) and returns the 1-based line it was on. */
export function edit(dir: string, file: string, from: string, to: string, afterLine = 0): number {
  const path = join(dir, file);
  const lines = readFileSync(path, 'utf8').split('\n');
  const i = lines.findIndex((l, n) => n >= afterLine && l.includes(from));
  if (i < 0) throw new Error(`'${from}' not found in ${file} after line ${afterLine}`);
  lines[i] = lines[i].replace(from, to);
  writeFileSync(path, lines.join('\n'));
  return i + 1;
}

export function lineOf(dir: string, file: string, text: string, afterLine = 0): number {
  const lines = readFileSync(join(dir, file), 'utf8').split('\n');
  const i = lines.findIndex((l, n) => n >= afterLine && l.includes(text));
  if (i < 0) throw new Error(`'${text}' not found in ${file}`);
  return i + 1;
}

export function runCodegen(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'codegen/src/cli.ts'), ...args], { encoding: 'utf8', cwd: REPO });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
