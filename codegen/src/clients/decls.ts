import {
  ConstrainedAnyModel, ConstrainedArrayModel, ConstrainedBooleanModel, ConstrainedDictionaryModel, ConstrainedEnumModel,
  ConstrainedFloatModel, ConstrainedIntegerModel, ConstrainedMetaModel, ConstrainedObjectModel, ConstrainedReferenceModel,
  ConstrainedStringModel, ConstrainedUnionModel, type AbstractGenerator,
} from '@asyncapi/modelina';
import { ORIGIN, type ClientInput } from './input.js';

/**
 * What the hand-tuned renderers (TypeScript, Python, Java, Go, Rust) print from: Modelina interprets
 * the schemas, splits out every object and enum and names them and their properties by the target
 * language's rules (its constraints); this is that result, with what Modelina loses put back from the
 * spec (nullability, `const` values, the channels' unions and their discriminators).
 */
export type TypeRef =
  | { kind: 'string' | 'integer' | 'number' | 'boolean' | 'any' | 'null' }
  | { kind: 'array'; items: TypeRef }
  | { kind: 'map'; value: TypeRef }
  | { kind: 'ref'; name: string; target: 'object' | 'enum' | 'union' };

export interface Field {
  json: string; // the property's name on the wire
  name: string; // the name Modelina's constraints give it in the target language
  required: boolean;
  nullable: boolean; // may be null (besides absent, when optional)
  constValue?: string | boolean | number | null; // the property's `const`
  type: TypeRef;
  description?: string;
}

export interface ObjectDecl { kind: 'object'; name: string; description?: string; origin?: string; fields: Field[] }
export interface EnumDecl { kind: 'enum'; name: string; description?: string; origin?: string; valueType: 'string' | 'integer'; values: { key: string; value: string | number }[] }
export interface UnionDecl {
  kind: 'union'; name: string; description?: string; origin?: string; members: string[];
  /** wire property, and each member by the JSON text of its value (e.g. `"show_artwork"`, `true`). */
  discriminator: { json: string; byValue: [string, string][] };
}
export type Decl = ObjectDecl | EnumDecl | UnionDecl;

type Gen = AbstractGenerator<any, any>;

/** Runs Modelina's interpretation + constraints with `generator` and returns the declarations, sorted by name. */
export async function declarations(generator: Gen, input: ClientInput, root: object): Promise<Decl[]> {
  // Modelina's pipeline up to its constrained models (its own rendering is not needed here)
  const g = generator as unknown as { processInput(i: unknown): Promise<unknown>; getConstrainedModels(m: unknown): { constrainedModel: ConstrainedMetaModel }[] };
  const outputs = g.getConstrainedModels(await g.processInput(root)).map((x) => ({ model: x.constrainedModel }));
  const byName = new Map<string, Decl>();
  const unionNames = new Set(input.unions.map((u) => u.name));
  const seen = new Set<ConstrainedMetaModel>();
  const visit = (m: ConstrainedMetaModel): void => {
    if (seen.has(m)) return;
    seen.add(m);
    if (m instanceof ConstrainedReferenceModel) return visit(m.ref);
    if (m instanceof ConstrainedArrayModel) return visit(m.valueModel);
    if (m instanceof ConstrainedDictionaryModel) return visit(m.value);
    if (m instanceof ConstrainedUnionModel) return m.union.forEach(visit);
    if (m instanceof ConstrainedEnumModel) {
      const values = m.values.map((v) => ({ key: v.key, value: v.originalInput as string | number }));
      byName.set(m.name, { kind: 'enum', name: m.name, description: desc(m), origin: origin(m), valueType: values.every((v) => typeof v.value === 'number') ? 'integer' : 'string', values });
      return;
    }
    if (m instanceof ConstrainedObjectModel) {
      const title = (m.originalInput as { title?: string })?.title ?? m.name;
      if (title === ROOT_TITLE) return Object.values(m.properties).forEach((p) => visit(p.property));
      const fields: Field[] = [];
      for (const p of Object.values(m.properties)) {
        const raw = (m.originalInput as { properties?: Record<string, { const?: unknown; description?: string; type?: unknown }> }).properties?.[p.unconstrainedPropertyName];
        if (!raw) continue; // Modelina's own additionalProperties holder: open objects ignore unknown fields
        visit(p.property);
        const constValue = raw && 'const' in raw ? (raw.const as Field['constValue']) : undefined;
        fields.push({
          json: p.unconstrainedPropertyName,
          name: p.propertyName,
          required: p.required,
          nullable: input.nullable.has(`${title}.${p.unconstrainedPropertyName}`) || raw.type === 'null',
          constValue,
          type: raw.type === 'null' ? { kind: 'null' } : typeRef(p.property, unionNames),
          description: input.descriptions.get(`${title}.${p.unconstrainedPropertyName}`) ?? raw.description ?? desc(p.property),
        });
      }
      byName.set(m.name, { kind: 'object', name: m.name, description: desc(m), origin: origin(m), fields });
    }
  };
  for (const o of outputs) visit(o.model);
  for (const u of input.unions) {
    byName.set(u.name, {
      kind: 'union', name: u.name, description: u.description, origin: u.origin, members: u.members,
      discriminator: { json: u.discriminator.property, byValue: Object.entries(u.discriminator.mapping).map(([v, m]) => [JSON.stringify(valueOf(v)), m]) },
    });
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export const ROOT_TITLE = 'MakapixClientModels';

function valueOf(v: string): string | boolean {
  return v === 'true' ? true : v === 'false' ? false : v;
}

function origin(m: ConstrainedMetaModel): string | undefined {
  const o = (m.originalInput as Record<string, unknown> | undefined)?.[ORIGIN];
  return typeof o === 'string' ? o : undefined;
}

function desc(m: ConstrainedMetaModel): string | undefined {
  const d = (m.originalInput as { description?: unknown } | undefined)?.description;
  return typeof d === 'string' ? d : undefined;
}

function typeRef(m: ConstrainedMetaModel, unions: Set<string>): TypeRef {
  if (m instanceof ConstrainedReferenceModel) {
    const t = m.ref;
    const title = (t.originalInput as { title?: string } | undefined)?.title;
    if (title && unions.has(title)) return { kind: 'ref', name: title, target: 'union' };
    if (t instanceof ConstrainedObjectModel) return { kind: 'ref', name: t.name, target: 'object' };
    if (t instanceof ConstrainedEnumModel) return { kind: 'ref', name: t.name, target: 'enum' };
    return typeRef(t, unions);
  }
  if (m instanceof ConstrainedObjectModel) return { kind: 'ref', name: m.name, target: 'object' };
  if (m instanceof ConstrainedEnumModel) return { kind: 'ref', name: m.name, target: 'enum' };
  if (m instanceof ConstrainedArrayModel) return { kind: 'array', items: typeRef(m.valueModel, unions) };
  if (m instanceof ConstrainedDictionaryModel) return { kind: 'map', value: typeRef(m.value, unions) };
  if (m instanceof ConstrainedStringModel) return { kind: 'string' };
  if (m instanceof ConstrainedIntegerModel) return { kind: 'integer' };
  if (m instanceof ConstrainedFloatModel) return { kind: 'number' };
  if (m instanceof ConstrainedBooleanModel) return { kind: 'boolean' };
  if (m instanceof ConstrainedAnyModel) return { kind: 'any' };
  if (m instanceof ConstrainedUnionModel) {
    const title = (m.originalInput as { title?: string } | undefined)?.title;
    if (title && unions.has(title)) return { kind: 'ref', name: title, target: 'union' };
  }
  throw new Error(`client models: no type for ${m.constructor.name} ${m.name}`);
}
