import type { Decl, Field, TypeRef } from '../decls.js';
import { comment } from '../text.js';

/** TypeScript: interfaces with the wire names (no class wrapper to marshal), literal types for `const`s, one parse function per union. */
export function renderTypeScript(decls: Decl[], banner: string[]): Map<string, string> {
  const out: string[] = [...banner.map((l) => `// ${l}`), '/* eslint-disable */', ''];
  for (const d of decls) {
    out.push(...comment('', d.description, '/** ', ' * ', ' */'));
    if (d.origin) out.push(`// from ${d.origin}`);
    if (d.kind === 'enum') {
      out.push(`export type ${d.name} = ${d.values.map((v) => JSON.stringify(v.value)).join(' | ')};`);
      out.push(`export const ${d.name}Values: readonly ${d.name}[] = [${d.values.map((v) => JSON.stringify(v.value)).join(', ')}];`, '');
    } else if (d.kind === 'object') {
      out.push(`export interface ${d.name} {`);
      for (const f of d.fields) {
        out.push(...comment('  ', f.description, '/** ', ' * ', ' */'));
        out.push(`  ${/^[A-Za-z_$][\w$]*$/.test(f.json) ? f.json : JSON.stringify(f.json)}${f.required ? '' : '?'}: ${fieldType(f)};`);
      }
      out.push('}', '');
    } else {
      const prop = d.discriminator.json;
      out.push(`export type ${d.name} = ${d.members.join(' | ')};`);
      out.push(`/** Reads a ${d.name} from parsed JSON by its \`${prop}\`; throws on an unknown or missing one (the members' fields are not checked). */`);
      out.push(`export function parse${d.name}(json: unknown): ${d.name} {`);
      out.push(`  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TypeError('${d.name}: expected a JSON object');`);
      out.push(`  const tag = (json as Record<string, unknown>)[${JSON.stringify(prop)}];`);
      out.push(`  switch (JSON.stringify(tag)) {`);
      for (const [v, m] of d.discriminator.byValue) out.push(`    case ${JSON.stringify(v)}: return json as ${m};`);
      out.push(`    default: throw new TypeError(\`${d.name}: unknown ${prop} \${JSON.stringify(tag)}\`);`, '  }', '}', '');
    }
  }
  return new Map([['index.ts', out.join('\n').trimEnd() + '\n']]);
}

function fieldType(f: Field): string {
  if (f.constValue !== undefined) return JSON.stringify(f.constValue);
  const t = typeOf(f.type);
  return f.nullable && f.type.kind !== 'null' ? `${t} | null` : t;
}

function typeOf(t: TypeRef): string {
  switch (t.kind) {
    case 'string': return 'string';
    case 'integer': case 'number': return 'number';
    case 'boolean': return 'boolean';
    case 'null': return 'null';
    case 'any': return 'unknown';
    case 'array': { const i = typeOf(t.items); return /[ |]/.test(i) ? `(${i})[]` : `${i}[]`; }
    case 'map': return `Record<string, ${typeOf(t.value)}>`;
    case 'ref': return t.name;
  }
}
