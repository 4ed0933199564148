import type { SchemaIndex } from '../model/schema-index.js';
import type { MessageModel } from '../model/types.js';

type Obj = Record<string, unknown>;

/**
 * The property that tells a set of messages apart: required in each, a `const` in each, and with
 * a different value in each. Null when there is none (then a plain union is used).
 */
export function findDiscriminator(index: SchemaIndex, messages: MessageModel[]): { property: string; values: (string | boolean)[] } | null {
  if (messages.length < 2) return null;
  const bundles = messages.map((m) => index.bundle(m.payload) as Obj);
  const first = Object.keys((bundles[0].properties as Obj) ?? {});
  for (const p of first) {
    const values: (string | boolean)[] = [];
    let ok = true;
    for (const b of bundles) {
      const prop = (b.properties as Obj | undefined)?.[p] as Obj | undefined;
      const req = Array.isArray(b.required) && (b.required as string[]).includes(p);
      if (!prop || !req || !('const' in prop) || (typeof prop.const !== 'string' && typeof prop.const !== 'boolean')) {
        ok = false;
        break;
      }
      values.push(prop.const as string | boolean);
    }
    if (ok && new Set(values.map(String)).size === values.length) return { property: p, values };
  }
  return null;
}
