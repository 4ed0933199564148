// Provenance: every generated file names the generator version, imports the runtime only through its
// versioned entry, and every exported declaration carries (in its block) a `// from <spec file>#<pointer>`
// line whose pointer exists in that spec file.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { GENERATOR_VERSION, RUNTIME_ENTRY } from '../src/version.js';

const REPO = resolve(import.meta.dirname, '../..');
const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
const files = walk(join(REPO, 'generated')).filter((f) => f.endsWith('.ts'));
const docs = new Map<string, unknown>();
const doc = (rel: string): unknown => {
  if (!docs.has(rel)) docs.set(rel, parse(readFileSync(join(REPO, rel), 'utf8')));
  return docs.get(rel);
};
/** The value at a JSON pointer, or undefined. */
const at = (value: unknown, pointer: string): unknown =>
  pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined), value);

describe('generated files carry their provenance', () => {
  it('name the generator version and import the runtime only through its entry', () => {
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      expect(text.split('\n')[0], f).toContain(`makapix codegen ${GENERATOR_VERSION} `);
      expect(text, f).not.toMatch(/from '[./]+[^']*codegen\/runtime/);
    }
  });

  it('give every exported declaration a `// from spec...#pointer` line that resolves in the spec', () => {
    const missing: string[] = [];
    const dangling: string[] = [];
    let checked = 0;
    for (const f of files.filter((x) => !x.endsWith('openapi/types.ts') && !x.endsWith(`${join('generated', 'index.ts')}`))) {
      const lines = readFileSync(f, 'utf8').split('\n');
      lines.forEach((line, i) => {
        const from = /^\s*\/\/ from (spec\/[^#]+)#(.*)$/.exec(line);
        if (from) {
          checked++;
          if (from[2] !== '' && at(doc(from[1]!), from[2]!) === undefined) dangling.push(`${f}:${i + 1}: ${line.trim()}`);
        }
        if (!/^export (const|type|function|interface|class) /.test(line)) return;
        for (let j = i - 1; j >= 0 && lines[j]!.trim() !== ''; j--) if (/^\/\/ from spec\//.test(lines[j]!)) return;
        if (/^export type (\w+) = .*typeof \1\b/.test(line)) return; // the Static type of the const above it
        missing.push(`${f}:${i + 1}: ${line.slice(0, 80)}`);
      });
    }
    expect(missing).toEqual([]);
    expect(dangling).toEqual([]);
    expect(checked).toBeGreaterThan(200);
  });
});
