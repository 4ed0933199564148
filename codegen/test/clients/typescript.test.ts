// The TypeScript client models (generated/clients/typescript) type-check under `strict` and
// `exactOptionalPropertyTypes` with every example of the spec assigned to its model type and to its
// union (excess property checks included), and every example parses through its union's parse function
// and writes back to the same JSON. (The models are interfaces: a plain object is the model.)
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIENTS, mismatches, REPO, roundTripCases, writeCases, type RoundTripCase } from './cases.js';

describe('TypeScript client models', () => {
  let cases: RoundTripCase[];
  let dir: string;
  beforeAll(async () => {
    cases = await roundTripCases();
    dir = writeCases(cases, 'typescript');
  });

  it('type-check every example as its model and its union (tsc --strict --exactOptionalPropertyTypes)', () => {
    const lines = [`import type * as M from ${JSON.stringify(join(CLIENTS, 'typescript/index.js'))};`, ''];
    cases.forEach((c, i) => {
      // an unknown discriminator value is refused by the type too
      if (c.expectError !== undefined) lines.push(`// ${c.id}`, '// @ts-expect-error', `export const model${i}: M.${c.model} = ${JSON.stringify(c.json)};`);
      else lines.push(`// ${c.id}`, `export const model${i}: M.${c.model} = ${JSON.stringify(c.json)};`);
      if (c.union) lines.push(`export const union${i}: M.${c.union} = ${JSON.stringify(c.json)};`);
    });
    writeFileSync(join(dir, 'examples.ts'), lines.join('\n') + '\n');
    const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--exactOptionalPropertyTypes', '--skipLibCheck', '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler', join(dir, 'examples.ts')], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);

  it('round-trip every example of the spec (JSON text -> model / union parse -> JSON text)', async () => {
    const M = (await import(join(CLIENTS, 'typescript/index.ts'))) as Record<string, unknown>;
    const out: string[] = [];
    for (const c of cases) {
      const text = JSON.stringify(c.json);
      if (c.expectError !== undefined) {
        try {
          out.push(JSON.stringify({ id: c.id, via: 'model', json: (M[`parse${c.model}`] as (json: unknown) => unknown)(JSON.parse(text)) }));
        } catch (e) {
          out.push(JSON.stringify({ id: c.id, via: 'model', error: String(e) }));
        }
        continue;
      }
      out.push(JSON.stringify({ id: c.id, via: 'model', json: JSON.parse(JSON.stringify(JSON.parse(text))) }));
      if (c.union) {
        const parse = M[`parse${c.union}`] as (json: unknown) => unknown;
        try {
          out.push(JSON.stringify({ id: c.id, via: 'union', json: JSON.parse(JSON.stringify(parse(JSON.parse(text)))) }));
        } catch (e) {
          out.push(JSON.stringify({ id: c.id, via: 'union', error: String(e) }));
        }
      }
    }
    expect(mismatches(cases, out.join('\n'))).toEqual([]);
  });
});
