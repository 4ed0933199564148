import { joinPointer } from '../load/pointer.js';
import { type Loc, type SpecSet, locKey } from '../load/spec-set.js';
import type { Model, NamedSchema } from './types.js';

type Obj = Record<string, unknown>;

/** Finds the named schema at a place, and inlines `$ref`s into plain JSON Schema for validation. */
export class SchemaIndex {
  private readonly byLoc = new Map<string, NamedSchema>();

  constructor(
    readonly specs: SpecSet,
    model: Model,
  ) {
    for (const s of model.schemas) this.byLoc.set(locKey(s.loc), s);
  }

  named(loc: Loc): NamedSchema | undefined {
    return this.byLoc.get(locKey(loc));
  }

  /** The named schema a `$ref` at `loc` points to (following alias chains), if any. */
  refTarget(loc: Loc): { target: Loc; named?: NamedSchema } | null {
    const v = this.specs.value(loc) as Obj | undefined;
    if (!v || typeof v.$ref !== 'string') return null;
    const target = this.specs.target(loc, v.$ref);
    if (!target) return null;
    return { target, named: this.named(target) };
  }

  /** A self-contained JSON Schema for `loc` (refs inlined, `x-` keys and `examples` dropped). */
  bundle(loc: Loc, depth = 0): unknown {
    if (depth > 64) throw new Error(`schema nesting too deep at ${locKey(loc)} (a reference cycle?)`);
    const v = this.specs.value(loc);
    if (Array.isArray(v)) return v.map((_, i) => this.bundle({ file: loc.file, pointer: joinPointer(loc.pointer, i) }, depth + 1));
    if (v === null || typeof v !== 'object') return v;
    const o = v as Obj;
    if (typeof o.$ref === 'string') {
      const t = this.specs.target(loc, o.$ref);
      return t ? this.bundle(t, depth + 1) : {};
    }
    const out: Obj = {};
    for (const [k, child] of Object.entries(o)) {
      if (k.startsWith('x-') || k === 'examples' || k === 'example') continue;
      const cl = { file: loc.file, pointer: joinPointer(loc.pointer, k) };
      if (k === 'properties' && child && typeof child === 'object') {
        const props: Obj = {};
        for (const pk of Object.keys(child)) props[pk] = this.bundle({ file: loc.file, pointer: joinPointer(cl.pointer, pk) }, depth + 1);
        out[k] = props;
      } else if (k === 'enum' || k === 'const' || k === 'default' || k === 'required') {
        out[k] = child;
      } else {
        out[k] = this.bundle(cl, depth + 1);
      }
    }
    return out;
  }
}
