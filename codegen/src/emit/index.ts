import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Checked } from '../check/index.js';
import { emitAsyncApi } from './asyncapi.js';
import { emitCatalog } from './catalog.js';
import { emitOpenApi } from './openapi.js';
import { emitRestTypes } from './rest-types.js';
import { emitSchemaModules } from './schemas.js';
import { emitIndex } from './barrel.js';
import { emitClients } from '../clients/index.js';

/**
 * model -> every generated file, by path relative to generated/. Deterministic: same spec, same bytes.
 * `clients`: also the client models in other languages (generated/clients/, through Modelina).
 */
export async function emitAll(c: Checked, restTypes?: Promise<string>, opts: { clients?: boolean } = {}): Promise<Map<string, string>> {
  // the client models (Modelina, on this thread) are made while openapi-typescript runs on its worker
  const clients = opts.clients ? emitClients(c) : undefined;
  const types = restTypes ?? emitRestTypes(resolve(c.specs.root, c.model.sources.openapi), c.model.sources.openapi);
  const files = new Map<string, string>();
  const add = (path: string, text: string) => files.set(path, text);
  for (const f of emitSchemaModules(c.index, c.model.schemas).values()) add(f.path, f.toString());
  for (const f of emitAsyncApi(c.model, c.index)) add(f.path, f.toString());
  for (const f of emitCatalog(c.model, c.index)) add(f.path, f.toString());
  for (const f of emitOpenApi(c.model, c.index)) add(f.path, f.toString());
  add('openapi/types.ts', await types);
  add('index.ts', emitIndex([...files.keys()]));
  if (clients) for (const [p, t] of await clients) add(p, t);
  return new Map([...files.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** Folders of generated/ that are not output: npm may install a workspace's own dependencies there. */
const NOT_OUTPUT = new Set(['node_modules']);

/** Recreates `dir` from scratch with exactly these files (keeping `node_modules`). */
export function writeTree(dir: string, files: Map<string, string>): void {
  if (existsSync(dir)) {
    for (const e of readdirSync(dir)) if (!NOT_OUTPUT.has(e)) rmSync(join(dir, e), { recursive: true, force: true });
  }
  for (const [path, text] of files) {
    const abs = join(dir, path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, text);
  }
}

function listTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (d === dir && NOT_OUTPUT.has(e.name)) continue;
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** Differences between `dir` and the files the spec produces, one line each. */
export function compareTrees(dir: string, files: Map<string, string>): string[] {
  const drift: string[] = [];
  const onDisk = new Set(listTree(dir));
  for (const [path, text] of files) {
    if (!onDisk.has(path)) drift.push(`missing:  generated/${path}`);
    else if (readFileSync(join(dir, path), 'utf8') !== text) drift.push(`differs:  generated/${path}`);
    onDisk.delete(path);
  }
  for (const extra of onDisk) drift.push(`extra:    generated/${extra} (not produced by the spec)`);
  return drift;
}
