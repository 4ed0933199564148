// The two spec documents resolved into single JSON documents: Redocly's bundler moves every schema,
// response or parameter a `$ref` takes from another file into the document's `components` and points
// the `$ref` there; what it leaves (a `$ref` under an extension such as AsyncAPI parameters'
// `x-schema`) points to the schema of the same name under components.schemas when the bundler put
// the same value there, else it is replaced by the referenced value. Only local references (`#/...`) remain.
// The server serves exactly these documents at /openapi.json and /asyncapi.json (make docs).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { getAt } from '../load/pointer.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export interface ResolvedDocuments {
  openapi: Record<string, Json>;
  asyncapi: Record<string, Json>;
}

export const SPEC_FILES = { openapi: 'spec/openapi.yaml', asyncapi: 'spec/asyncapi.yaml' } as const;

export async function resolveDocuments(root: string): Promise<ResolvedDocuments> {
  const [openapi, asyncapi] = await Promise.all([resolveDocument(resolve(root, SPEC_FILES.openapi)), resolveDocument(resolve(root, SPEC_FILES.asyncapi))]);
  return { openapi, asyncapi };
}

/** One document with its referenced files: only local `$ref`s left. Throws, naming the file, on a problem. */
export async function resolveDocument(abs: string): Promise<Record<string, Json>> {
  const core = await import('@redocly/openapi-core');
  const config = await core.createConfig({});
  const { bundle, problems } = await core.bundle({ ref: abs, config });
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) {
    throw new Error(`${abs}: cannot resolve the document: ${errors.map((p) => p.message).join('; ')} (run make lint)`);
  }
  const doc = bundle.parsed as Record<string, Json>;
  const shared = (doc.components as { schemas?: Record<string, Json> } | undefined)?.schemas ?? {};
  // what is already a shared schema under the same name becomes a local $ref to it; the rest is inlined
  const toLocal = (name: string, value: Json): Json | undefined =>
    name in shared && JSON.stringify(shared[name]) === JSON.stringify(value) ? { $ref: `#/components/schemas/${name}` } : undefined;
  return inlineExternal(doc, dirname(abs), [], toLocal) as Record<string, Json>;
}

type ToLocal = (name: string, value: Json) => Json | undefined;

/** Replaces each `$ref` to another file by the value it names (recursively, relative to that file). */
function inlineExternal(value: Json, baseDir: string, seen: string[], toLocal?: ToLocal): Json {
  if (Array.isArray(value)) return value.map((v) => inlineExternal(v, baseDir, seen, toLocal));
  if (value === null || typeof value !== 'object') return value;
  const ref = value.$ref;
  if (typeof ref === 'string' && !ref.startsWith('#')) {
    const [path, fragment = ''] = ref.split('#', 2);
    const file = resolve(baseDir, path);
    const key = `${file}#${fragment}`;
    if (seen.includes(key)) throw new Error(`${file}: circular $ref '${ref}'`);
    const target = getAt(parse(readFileSync(file, 'utf8')), fragment) as Json | undefined;
    if (target === undefined) throw new Error(`${file}: nothing at '${fragment}' ($ref '${ref}')`);
    const { $ref: _, ...siblings } = value;
    const inlined = inlineExternal(target, dirname(file), [...seen, key]);
    // a fragment-only $ref inside that file points into that file: inline it too
    const local = inlineLocal(inlined, file, [...seen, key]);
    const name = fragment.split('/').pop() ?? '';
    const result = (toLocal && name && toLocal(name, local)) ?? local;
    return typeof result === 'object' && result !== null && !Array.isArray(result) ? { ...result, ...siblings } : result;
  }
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(value)) out[k] = inlineExternal(v, baseDir, seen, toLocal);
  return out;
}

function inlineLocal(value: Json, file: string, seen: string[]): Json {
  if (Array.isArray(value)) return value.map((v) => inlineLocal(v, file, seen));
  if (value === null || typeof value !== 'object') return value;
  if (typeof value.$ref === 'string' && value.$ref.startsWith('#')) {
    return inlineExternal({ ...value, $ref: `${file}${value.$ref}` }, dirname(file), seen);
  }
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(value)) out[k] = inlineLocal(v, file, seen);
  return out;
}

/** Every `$ref` in a document (for checks: a resolved document has only local ones). */
export function refsOf(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refsOf(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsOf(v, out);
    }
  }
  return out;
}
