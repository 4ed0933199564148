import { joinPointer } from '../load/pointer.js';
import type { Loc } from '../load/spec-set.js';
import type { Checked } from '../check/index.js';
import { findDiscriminator } from '../emit/discriminator.js';
import type { MessageModel } from '../model/types.js';

type Obj = Record<string, unknown>;
/** The key under which each schema given to Modelina names the spec object it was made from. */
export const ORIGIN = 'x-makapix-origin';
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A union the clients get that the spec states as a channel's message list (one per channel direction). */
export interface ClientUnion {
  name: string;
  description: string;
  origin: string; // the channel or operation it comes from, `spec/asyncapi.yaml#/channels/playerCommand`
  members: string[];
  /** The property whose `const` tells the members apart, and each member's value. */
  discriminator: { property: string; mapping: Record<string, string> };
}

export interface ClientInput {
  /** One JSON Schema document: `definitions` holds every named schema of the spec, refs point there. */
  schema: Obj;
  /** Names of the definitions, in the spec's order. */
  names: string[];
  unions: ClientUnion[];
  /** `Schema.property` of every property whose value may be null (the spec's `type: [x, 'null']`). */
  nullable: Set<string>;
  /** `Schema.property` -> the property's own description (written beside its `$ref`, which Modelina drops). */
  descriptions: Map<string, string>;
}

/**
 * The spec as one JSON Schema document Modelina can read: every named schema once (by its name),
 * `$ref`s to named schemas kept as refs, `x-` keys, examples and sibling keywords of `$ref` dropped,
 * and `null` taken out of types and enums (nullability is recorded in `nullable` for the presets: the
 * generators turn `null` inside an enum or a type list into broken or lossy code).
 */
export function clientInput(c: Checked): ClientInput {
  const definitions: Obj = {};
  const names: string[] = [];
  const nullable = new Set<string>();
  const descriptions = new Map<string, string>();
  const nameOf = new Map<string, string>(); // loc key -> definition name
  const key = (l: Loc) => `${l.file.rel}#${l.pointer}`;
  for (const s of c.model.schemas) {
    // one definition per name: a schema that only refers to another of the same name is the same schema
    const t = c.index.refTarget(s.loc);
    if (t?.named && t.named.name === s.name) continue;
    if (nameOf.has(key(s.loc))) continue;
    if (names.includes(s.name)) throw new Error(`two schemas named ${s.name} (${s.module}); client models need one name per schema`);
    nameOf.set(key(s.loc), s.name);
    names.push(s.name);
  }
  for (const s of c.model.schemas) {
    const t = c.index.refTarget(s.loc);
    if (t?.named && t.named.name === s.name) nameOf.set(key(s.loc), s.name);
  }
  const isNullable = (v: Obj): boolean => (Array.isArray(v.type) && v.type.includes('null')) || (Array.isArray(v.enum) && v.enum.includes(null));
  const refName = (loc: Loc): string | undefined => {
    let l: Loc | null = loc;
    for (let i = 0; i < 16 && l; i++) {
      const n = nameOf.get(key(l));
      if (n) return n;
      const v = c.specs.value(l) as Obj | undefined;
      if (!v || typeof v.$ref !== 'string') return undefined;
      l = c.specs.target(l, v.$ref);
    }
    return undefined;
  };
  const convert = (loc: Loc, owner: string, top: boolean): unknown => {
    const v = c.specs.value(loc);
    if (!isObj(v)) return v;
    if (!top) {
      const n = refName(loc);
      if (n) return { $ref: `#/definitions/${n}` };
    }
    if (typeof v.$ref === 'string') {
      const t = c.specs.target(loc, v.$ref);
      return t ? convert(t, owner, top) : {};
    }
    // where the schema is written: the client models' provenance (Modelina ignores `x-` keys)
    const out: Obj = { [ORIGIN]: `${loc.file.rel}#${loc.pointer}` };
    for (const [k, child] of Object.entries(v)) {
      if (k.startsWith('x-') || k === 'examples' || k === 'example' || k === 'default') continue;
      const at = { file: loc.file, pointer: joinPointer(loc.pointer, k) };
      if (k === 'properties' && isObj(child)) {
        const props: Obj = {};
        const name = typeof v.title === 'string' ? v.title : owner;
        for (const p of Object.keys(child)) {
          const ploc = { file: loc.file, pointer: joinPointer(at.pointer, p) };
          if (propNullable(ploc)) nullable.add(`${name}.${p}`);
          const pd = (child as Obj)[p];
          if (isObj(pd) && typeof pd.description === 'string') descriptions.set(`${name}.${p}`, pd.description);
          props[p] = convert(ploc, name, false);
        }
        out[k] = props;
      } else if (k === 'type' && Array.isArray(child)) {
        const ts = child.filter((t) => t !== 'null');
        out[k] = ts.length === 1 ? ts[0] : ts;
      } else if (k === 'enum' && Array.isArray(child)) {
        out[k] = child.filter((e) => e !== null);
      } else if (k === 'const' || k === 'required') {
        out[k] = child;
      } else if (isObj(child) || Array.isArray(child)) {
        out[k] = Array.isArray(child) ? child.map((_, i) => convert({ file: loc.file, pointer: joinPointer(at.pointer, i) }, owner, false)) : convert(at, owner, false);
      } else {
        out[k] = child;
      }
    }
    return out;
  };
  const propNullable = (loc: Loc): boolean => {
    let l: Loc | null = loc;
    for (let i = 0; i < 16 && l; i++) {
      const v = c.specs.value(l) as Obj | undefined;
      if (!isObj(v)) return false;
      if (isNullable(v)) return true;
      if (typeof v.$ref !== 'string') return false;
      l = c.specs.target(l, v.$ref);
    }
    return false;
  };
  for (const s of c.model.schemas) {
    if (!names.includes(s.name) || nameOf.get(key(s.loc)) !== s.name) continue;
    const def = convert(s.loc, s.name, true) as Obj;
    def.title = s.name;
    definitions[s.name] = def;
  }
  const unions: ClientUnion[] = [];
  const schemaOf = (m: MessageModel): string => {
    const n = c.index.named(m.payload) ?? c.index.refTarget(m.payload)?.named;
    if (!n) throw new Error(`client models: the payload of message ${m.name} is not a named schema`);
    return n.name;
  };
  const union = (name: string, description: string, messages: MessageModel[], origin: Loc): void => {
    const d = findDiscriminator(c.index, messages);
    if (!d) return;
    const mapping: Record<string, string> = {};
    messages.forEach((m, i) => (mapping[String(d.values[i])] = schemaOf(m)));
    unions.push({ name, description, origin: `${origin.file.rel}#${origin.pointer}`, members: messages.map(schemaOf), discriminator: { property: d.property, mapping } });
  };
  for (const ch of c.model.channels) {
    union(pascal(ch.id), `Every message of channel ${ch.address}, told apart by its discriminator.`, ch.messages, ch.loc);
  }
  // replies that share no discriminator across operations get one union per operation (its answer or the error)
  const messageByName = new Map(c.model.messages.map((m) => [m.name, m]));
  for (const op of c.model.operations) {
    if (!op.reply || op.reply.messages.length < 2) continue;
    const ch = c.model.channels.find((x) => x.id === op.reply!.channel);
    if (ch && unions.some((u) => u.name === pascal(ch.id))) continue;
    const msgs = op.reply.messages.map((n) => messageByName.get(n)).filter((m): m is MessageModel => !!m);
    union(`${pascal(op.id.replace(/^(receive|send)/, ''))}Reply`, `The reply to operation ${op.id}: its answer or the error, told apart by the discriminator.`, msgs, op.loc);
  }
  for (const u of unions) {
    if (definitions[u.name]) throw new Error(`client models: union ${u.name} has the name of a schema`);
    definitions[u.name] = {
      title: u.name,
      description: u.description,
      [ORIGIN]: u.origin,
      oneOf: u.members.map((m) => ({ $ref: `#/definitions/${m}` })),
      discriminator: { propertyName: u.discriminator.property, mapping: Object.fromEntries(Object.entries(u.discriminator.mapping).map(([k, m]) => [k, `#/definitions/${m}`])) },
    };
    names.push(u.name);
  }
  return { schema: { $schema: 'http://json-schema.org/draft-07/schema#', definitions }, names, unions, nullable, descriptions };
}

function pascal(id: string): string {
  return id.charAt(0).toUpperCase() + id.slice(1);
}

/** The document Modelina is given: one object whose properties name every definition, so each becomes a model. */
export function modelinaRoot(input: ClientInput, title: string): object {
  return { ...input.schema, title, type: 'object', additionalProperties: false, properties: Object.fromEntries(input.names.map((n) => [n, { $ref: `#/definitions/${n}` }])) };
}
