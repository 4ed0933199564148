import type { SchemaIndex } from '../model/schema-index.js';
import type { NamedSchema } from '../model/types.js';
import { GeneratedFile } from './file.js';
import { emitSchemaFacts, factNames, schemaFacts } from './schema-facts.js';
import { typeboxExpr } from './typebox.js';

/**
 * Emits named schemas as TypeBox constants plus their static types, dependencies first, each followed
 * by its facts (`<Name>Values`, titled inline enums, `<Name>Defaults`, `<Name>Bounds`; see schema-facts.ts).
 */
export function emitSchemaDecls(file: GeneratedFile, index: SchemaIndex, schemas: { name: string; loc: NamedSchema['loc']; doc?: string }[]): void {
  for (const s of schemas) file.declare(s.name);
  const facts = new Map(schemas.map((s) => [s.name, schemaFacts(index, s.loc)]));
  const owners = new Map<string, string>(schemas.map((s) => [s.name, `schema '${s.name}'`])); // generated name -> what made it
  for (const [name, f] of facts) {
    for (const n of factNames(name, f)) {
      const inline = f.inlineEnums.find((e) => n === e.name || n === `${e.name}Values`);
      const what = inline ? `inline enum ${inline.name} ${JSON.stringify(inline.values)}` : `schema '${name}'`;
      const prev = owners.get(n);
      if (prev !== undefined && prev !== what) throw new Error(`${file.path}: '${n}' would be declared by ${what} and by ${prev}; rename one of them`);
      owners.set(n, what);
      file.declare(n);
    }
  }
  const declared = new Set<string>();
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
    file.from(s.loc);
    if (desc) file.line(`/** ${desc.trim().split('\n')[0].replace(/\*\//g, '* /')} */`);
    file.line(`export const ${n} = ${exprs.get(n)};`);
    file.line(`export type ${n} = ${Static}<typeof ${n}>;`);
    emitSchemaFacts(file, n, facts.get(n)!, declared);
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
