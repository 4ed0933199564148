// Test support for the client models' round trips: every example of the spec (message, request and
// response body) with the model it must parse into, and the union it must also parse through.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadAndCheck } from '../../src/check/index.js';
import { clientInput } from '../../src/clients/input.js';
import type { Loc } from '../../src/load/spec-set.js';

export const REPO = resolve(import.meta.dirname, '../../..');
export const CLIENTS = join(REPO, 'generated/clients');

export interface RoundTripCase {
  id: string; // where the example is, e.g. 'message QueryPostsRequest/by_user'
  model: string; // the schema (model class) it parses into
  union?: string; // the union it also parses through (by its discriminator)
  json: unknown;
  /** The parse must fail, with an error that contains this (an unknown discriminator value). */
  expectError?: string;
}

export async function roundTripCases(): Promise<RoundTripCase[]> {
  const c = await loadAndCheck({ root: REPO, asyncapi: 'spec/asyncapi.yaml', openapi: 'spec/openapi.yaml' }, { parsers: false });
  const input = clientInput(c);
  const nameOf = (loc: Loc): string | undefined => {
    const n = c.index.named(loc) ?? c.index.refTarget(loc)?.named;
    return n && input.names.includes(n.name) ? n.name : undefined;
  };
  const unionOf = (model: string): string | undefined => input.unions.find((u) => u.members.includes(model) && !u.name.endsWith('Reply'))?.name ?? input.unions.find((u) => u.members.includes(model))?.name;
  const cases: RoundTripCase[] = [];
  const push = (where: string, loc: Loc, examples: { name: string; value: unknown }[]) => {
    const model = nameOf(loc);
    if (!model) throw new Error(`${where}: the schema is not a named schema (client models exist only for named ones)`);
    for (const e of examples) cases.push({ id: `${where}/${e.name}`, model, union: unionOf(model), json: e.value });
  };
  for (const m of c.model.messages) push(`message ${m.name}`, m.payload, m.examples);
  for (const op of c.model.rest) {
    if (op.body && op.body.examples.length) push(`${op.operationId} body`, op.body.schema, op.body.examples);
    if (op.body?.multipart && op.body.multipart.examples.length) push(`${op.operationId} multipart body`, op.body.multipart.schema, op.body.multipart.examples);
    for (const r of op.responses) if (r.schema && r.examples.length) push(`${op.operationId} ${r.status}`, r.schema, r.examples);
  }
  // every union refuses an unknown discriminator value, naming it
  for (const u of input.unions) {
    cases.push({ id: `union ${u.name}/unknown ${u.discriminator.property}`, model: u.name, json: { [u.discriminator.property]: 'teleport' }, expectError: 'teleport' });
  }
  return cases;
}

/** Writes the cases to a fresh temp dir as cases.json (a list of {id, model, union, json}); returns the dir. */
export function writeCases(cases: RoundTripCase[], prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `makapix-${prefix}-`));
  writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases));
  return dir;
}

/**
 * A harness prints one JSON line per case and way: {"id", "via": "model"|"union", "json"} or
 * {"id", "via", "error"}. Returns the mismatches, one line each (empty when every case round-trips).
 */
export function mismatches(cases: RoundTripCase[], stdout: string): string[] {
  const got = new Map<string, { json?: unknown; error?: string }>();
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { id: string; via: string; json?: unknown; error?: string };
    got.set(`${r.id} via ${r.via}`, r);
  }
  const bad: string[] = [];
  for (const c of cases) {
    for (const via of c.union ? ['model', 'union'] : ['model']) {
      const k = `${c.id} via ${via}`;
      const r = got.get(k);
      if (!r) bad.push(`${k}: no result`);
      else if (c.expectError !== undefined) {
        if (r.error === undefined || !r.error.includes(c.expectError)) bad.push(`${k}: expected an error naming ${c.expectError}, got ${r.error ?? JSON.stringify(r.json)}`);
      } else if (r.error !== undefined) bad.push(`${k}: ${r.error}`);
      else if (!jsonEqual(r.json, c.json)) bad.push(`${k}: wrote ${JSON.stringify(r.json)}, expected ${JSON.stringify(c.json)}`);
    }
  }
  return bad;
}

/** JSON equality: same keys (absent is not null), same values, numbers by value. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => jsonEqual(x, (b as unknown[])[i]));
  const ka = Object.keys(a as object).sort();
  const kb = Object.keys(b as object).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
