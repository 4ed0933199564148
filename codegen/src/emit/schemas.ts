import type { SchemaIndex } from '../model/schema-index.js';
import type { NamedSchema } from '../model/types.js';
import { GeneratedFile } from './file.js';
import { typeboxExpr } from './typebox.js';

/** Emits named schemas as TypeBox constants plus their static types, dependencies first. */
export function emitSchemaDecls(file: GeneratedFile, index: SchemaIndex, schemas: { name: string; loc: NamedSchema['loc']; doc?: string }[]): void {
  for (const s of schemas) file.declare(s.name);
  const Static = file.import('typebox', 'Static', { type: true });
  const exprs = new Map(schemas.map((s) => [s.name, typeboxExpr(index, s.loc, file)]));
  const names = schemas.map((s) => s.name);
  const ordered: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (n: string) => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'visiting') throw new Error(`schema '${n}' refers to itself through other schemas; recursive schemas are not supported`);
    state.set(n, 'visiting');
    const e = exprs.get(n)!;
    for (const other of names) if (other !== n && new RegExp(`\\b${other}\\b`).test(e)) visit(other);
    state.set(n, 'done');
    ordered.push(n);
  };
  names.forEach(visit);
  for (const n of ordered) {
    const s = schemas.find((x) => x.name === n)!;
    const desc = (index.specs.value(s.loc) as { description?: string } | undefined)?.description ?? s.doc;
    if (desc) file.line(`/** ${desc.trim().split('\n')[0].replace(/\*\//g, '* /')} */`);
    file.line(`export const ${n} = ${exprs.get(n)};`);
    file.line(`export type ${n} = ${Static}<typeof ${n}>;`);
    file.line();
  }
}

/** One file per schema module ('components/identifiers', 'asyncapi/schemas', 'openapi/schemas'). */
export function emitSchemaModules(index: SchemaIndex, schemas: NamedSchema[]): Map<string, GeneratedFile> {
  const byModule = new Map<string, NamedSchema[]>();
  for (const s of schemas) {
    if (!byModule.has(s.module)) byModule.set(s.module, []);
    byModule.get(s.module)!.push(s);
  }
  const out = new Map<string, GeneratedFile>();
  for (const [module, list] of [...byModule.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const file = new GeneratedFile(`${module}.ts`, [list[0].loc.file.rel]);
    emitSchemaDecls(file, index, list);
    out.set(module, file);
  }
  return out;
}
