import { existsSync, readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Diagnostics } from '../diagnostics.js';
import { joinPointer } from '../load/pointer.js';
import { type Loc, SpecSet } from '../load/spec-set.js';
import type { SourceFile } from '../load/source-file.js';
import type {
  ChannelModel, ChannelParam, Example, MessageModel, Model, NamedSchema, OperationModel, RestOperation,
  RestParam, RestResponse,
} from './types.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const entries = (v: unknown): [string, unknown][] => (isObj(v) ? Object.entries(v) : []);
/** The security scheme of a player's own calls (a device token), told apart from users' bearer tokens. */
export const DEVICE_TOKEN_SCHEME = 'deviceToken';

export interface BuildInput {
  root: string; // repository root
  asyncapi: string; // path relative to root
  openapi: string;
}

/** Reads both documents (and the files they reference) into the intermediate model. */
export function buildModel(input: BuildInput, diagnostics: Diagnostics): { model: Model; specs: SpecSet } {
  const specs = new SpecSet(input.root, diagnostics);
  const asyncFile = specs.file(resolve(input.root, input.asyncapi));
  const openFile = specs.file(resolve(input.root, input.openapi));
  const model: Model = {
    schemas: [], channels: [], messages: [], operations: [], rest: [], limits: [],
    sources: { asyncapi: input.asyncapi, openapi: input.openapi, components: [] },
  };
  const b = new Builder(specs, diagnostics, model);
  if (asyncFile?.value) b.asyncapi(asyncFile);
  if (openFile?.value) b.openapi(openFile);
  b.componentFiles(resolve(input.root, dirname(input.asyncapi), 'components'));
  return { model, specs };
}

class Builder {
  private readonly messagesByKey = new Map<string, MessageModel>();

  constructor(
    private readonly specs: SpecSet,
    private readonly diagnostics: Diagnostics,
    private readonly model: Model,
  ) {}

  private problem(loc: Loc, rule: string, message: string, hint?: string): void {
    this.diagnostics.add({ rule, severity: 'error', file: loc.file.rel, ...loc.file.locate(loc.pointer), pointer: loc.pointer, message, hint });
  }

  private at(loc: Loc, ...segs: (string | number)[]): Loc {
    return { file: loc.file, pointer: joinPointer(loc.pointer, ...segs) };
  }

  private val(loc: Loc): unknown {
    return this.specs.value(loc);
  }

  // ---------------------------------------------------------------- AsyncAPI
  asyncapi(file: SourceFile): void {
    const root: Loc = { file, pointer: '' };
    const doc = file.value as Obj;
    for (const [name] of entries((doc.components as Obj | undefined)?.schemas)) {
      this.model.schemas.push({ name, loc: this.at(root, 'components', 'schemas', name), module: 'asyncapi/schemas' });
    }
    for (const [id, raw] of entries(doc.channels)) {
      const loc = this.at(root, 'channels', id);
      if (!isObj(raw)) continue;
      const address = typeof raw.address === 'string' ? raw.address : '';
      const params: ChannelParam[] = [];
      for (const name of [...address.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])) {
        const ploc = this.specs.deref(this.at(loc, 'parameters', name));
        if (!ploc || this.val(ploc) === undefined) {
          this.problem(loc, 'channel-parameter', `channel '${id}': address parameter '${name}' is not declared under parameters`, `add parameters.${name}`);
          params.push({ name, kind: 'string' });
          continue;
        }
        const p = this.val(ploc) as Obj;
        let schema: Loc | undefined;
        let kind: 'string' | 'integer' = 'string';
        if (p['x-schema'] !== undefined) {
          schema = this.at(ploc, 'x-schema');
          const s = this.specs.deref(schema);
          const t = s ? (this.val(s) as Obj | undefined)?.type : undefined;
          if (t === 'integer') kind = 'integer';
        } else {
          this.problem(ploc, 'channel-parameter-type', `channel '${id}': parameter '${name}' has no x-schema, so its type is unknown`, "add x-schema: {$ref: './components/identifiers.yaml#/...'}");
        }
        params.push({ name, kind, schema, enum: Array.isArray(p.enum) ? (p.enum as string[]) : undefined });
      }
      const messages: MessageModel[] = [];
      for (const [mkey] of entries(raw.messages)) {
        const m = this.message(this.at(loc, 'messages', mkey), mkey);
        if (m) messages.push(m);
      }
      this.model.channels.push({ id, loc, address, params, messages, qos: 1, retain: false });
    }
    for (const [id, raw] of entries(doc.operations)) {
      const loc = this.at(root, 'operations', id);
      if (!isObj(raw)) continue;
      const channel = this.refName(this.at(loc, 'channel'), '/channels/');
      const messages = (Array.isArray(raw.messages) ? raw.messages : []).map((_, i) => this.messageName(this.at(loc, 'messages', i)));
      const mqtt = ((raw.bindings as Obj | undefined)?.mqtt ?? {}) as Obj;
      const qos = (typeof mqtt.qos === 'number' ? mqtt.qos : 0) as 0 | 1 | 2;
      const retain = mqtt.retain === true;
      let reply: OperationModel['reply'];
      if (isObj(raw.reply)) {
        const rl = this.at(loc, 'reply');
        const rmsgs = Array.isArray(raw.reply.messages) ? raw.reply.messages : [];
        reply = { channel: this.refName(this.at(rl, 'channel'), '/channels/'), messages: rmsgs.map((_, i) => this.messageName(this.at(rl, 'messages', i))) };
      }
      const action = raw.action === 'send' ? 'send' : 'receive';
      const errorCodes = isObj(raw['x-error-codes'])
        ? Object.entries(raw['x-error-codes']).map(([code, when]) => ({ code, when: typeof when === 'string' ? when : '' }))
        : undefined;
      this.model.operations.push({ id, loc, action, channel, messages: messages.filter(Boolean) as string[], reply, errorCodes, qos, retain, summary: raw.summary as string | undefined });
      const ch = this.model.channels.find((c) => c.id === channel);
      if (ch) {
        ch.qos = Math.max(ch.qos, qos) as 0 | 1 | 2;
        ch.retain = ch.retain || retain;
      }
    }
    for (const [name, raw] of entries(doc['x-limits'])) {
      const loc = this.at(root, 'x-limits', name);
      if (!/^[a-z][A-Za-z0-9]*$/.test(name) || !isObj(raw) || !Number.isSafeInteger(raw.value)) {
        this.problem(loc, 'limit', `x-limits entry '${name}' is not {value: <integer>, description}`, 'name it in camelCase and give it an integer value and a description');
        continue;
      }
      this.model.limits.push({ name, value: raw.value as number, description: typeof raw.description === 'string' ? raw.description : undefined, loc });
    }
    // reply channels take the QoS of the operation that replies on them
    for (const op of this.model.operations) {
      const ch = op.reply && this.model.channels.find((c) => c.id === op.reply!.channel);
      if (ch) ch.qos = Math.max(ch.qos, op.qos) as 0 | 1 | 2;
    }
  }

  private refName(loc: Loc, prefix: string): string {
    const v = this.val(loc) as Obj | undefined;
    const ref = typeof v?.$ref === 'string' ? v.$ref : '';
    const i = ref.indexOf(prefix);
    return i >= 0 ? ref.slice(i + prefix.length).split('/')[0] : '';
  }

  private messageName(loc: Loc): string {
    const target = this.specs.deref(loc);
    if (!target) return '';
    return this.messagesByKey.get(target.file.rel + '#' + target.pointer)?.name ?? this.message(loc, '')?.name ?? '';
  }

  private message(loc: Loc, fallbackName: string): MessageModel | null {
    const target = this.specs.deref(loc);
    if (!target) return null;
    const key = target.file.rel + '#' + target.pointer;
    const seen = this.messagesByKey.get(key);
    if (seen) return seen;
    const raw = this.val(target) as Obj;
    const compName = /\/components\/messages\/([^/]+)$/.exec(target.pointer)?.[1];
    const name = (typeof raw.name === 'string' && raw.name) || compName || fallbackName;
    const examples: Example[] = [];
    (Array.isArray(raw.examples) ? raw.examples : []).forEach((ex, i) => {
      const el = this.at(target, 'examples', i);
      if (!isObj(ex) || typeof ex.name !== 'string') {
        this.problem(el, 'example-name', `message '${name}': example ${i} has no name`, 'give every example a snake_case name');
        return;
      }
      examples.push({ name: ex.name, summary: ex.summary as string | undefined, value: ex.payload, loc: this.at(el, 'payload') });
    });
    const m: MessageModel = { name, loc: target, summary: raw.summary as string | undefined, payload: this.at(target, 'payload'), examples };
    this.messagesByKey.set(key, m);
    this.model.messages.push(m);
    return m;
  }

  // ---------------------------------------------------------------- OpenAPI
  openapi(file: SourceFile): void {
    const root: Loc = { file, pointer: '' };
    const doc = file.value as Obj;
    for (const [name] of entries((doc.components as Obj | undefined)?.schemas)) {
      this.model.schemas.push({ name, loc: this.at(root, 'components', 'schemas', name), module: 'openapi/schemas' });
    }
    const globalSecurity = doc.security;
    for (const [path, item] of entries(doc.paths)) {
      const ploc = this.at(root, 'paths', path);
      if (!isObj(item)) continue;
      for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
        const op = item[method];
        if (!isObj(op)) continue;
        const oloc = this.at(ploc, method);
        const operationId = typeof op.operationId === 'string' ? op.operationId : '';
        if (!operationId) {
          this.problem(oloc, 'operation-id', `${method.toUpperCase()} ${path} has no operationId`, 'add a camelCase operationId');
          continue;
        }
        const params: RestParam[] = [];
        const addParams = (base: Loc, list: unknown) => {
          (Array.isArray(list) ? list : []).forEach((_, i) => {
            const pl = this.specs.deref(this.at(base, 'parameters', i));
            const p = pl && (this.val(pl) as Obj);
            if (!pl || !p) return;
            const where = p.in as RestParam['in'];
            if (where !== 'path' && where !== 'query' && where !== 'header') return;
            const existing = params.findIndex((x) => x.name === p.name && x.in === where);
            const rp: RestParam = { name: String(p.name), in: where, required: p.required === true, schema: this.at(pl, 'schema'), description: p.description as string | undefined };
            if (existing >= 0) params[existing] = rp;
            else params.push(rp);
          });
        };
        addParams(ploc, item.parameters);
        addParams(oloc, op.parameters);
        let body: RestOperation['body'];
        if (op.requestBody !== undefined) {
          const bl = this.specs.deref(this.at(oloc, 'requestBody'));
          const b = bl && (this.val(bl) as Obj);
          if (bl && b) {
            const ml = this.at(bl, 'content', 'application/json');
            if (this.val(ml) === undefined) {
              this.problem(bl, 'request-body-json', `${operationId}: request body has no application/json content`, 'describe the body as application/json');
            } else {
              body = { schema: this.at(ml, 'schema'), required: b.required === true, examples: this.mediaExamples(ml, operationId) };
              const mp = this.at(bl, 'content', 'multipart/form-data');
              if (this.val(mp) !== undefined) body.multipart = { schema: this.at(mp, 'schema'), examples: this.mediaExamples(mp, operationId) };
            }
          }
        }
        const responses: RestResponse[] = [];
        for (const [status] of entries(op.responses)) {
          const code = Number(status);
          if (!Number.isInteger(code)) {
            this.problem(this.at(oloc, 'responses', status), 'response-status', `${operationId}: response '${status}' is not a numeric status`, 'list every status the server returns explicitly');
            continue;
          }
          const rl = this.specs.deref(this.at(oloc, 'responses', status));
          const r = rl && (this.val(rl) as Obj);
          if (!rl || !r) continue;
          const ml = this.at(rl, 'content', 'application/json');
          const hasJson = this.val(ml) !== undefined;
          responses.push({
            status: code,
            description: r.description as string | undefined,
            schema: hasJson ? this.at(ml, 'schema') : undefined,
            examples: hasJson ? this.mediaExamples(ml, operationId) : [],
            headers: Object.keys(isObj(r.headers) ? r.headers : {}),
          });
        }
        const sec = op.security ?? globalSecurity;
        let security: RestOperation['security'] = 'none';
        if (Array.isArray(sec) && sec.length > 0) {
          const anon = sec.some((s) => isObj(s) && Object.keys(s).length === 0);
          const bearer = sec.some((s) => isObj(s) && Object.keys(s).length > 0);
          // A player's own calls name the `deviceToken` scheme (a bearer device token, not a user's token).
          const device = sec.some((s) => isObj(s) && Object.keys(s).includes(DEVICE_TOKEN_SCHEME));
          security = device ? 'device-token' : bearer ? (anon ? 'optional-bearer' : 'bearer') : 'none';
        }
        this.model.rest.push({
          operationId, loc: oloc, method: method.toUpperCase() as RestOperation['method'], path,
          summary: op.summary as string | undefined, security, params, body, responses,
          handwritten: op['x-handwritten-route'] === true,
        });
      }
    }
  }

  private mediaExamples(media: Loc, operationId: string): Example[] {
    const out: Example[] = [];
    const raw = this.val(media) as Obj;
    if (raw.example !== undefined) {
      this.problem(this.at(media, 'example'), 'example-name', `${operationId}: unnamed 'example'`, "use 'examples:' with a name for each example");
    }
    for (const [name] of entries(raw.examples)) {
      const el = this.specs.deref(this.at(media, 'examples', name));
      const ex = el && (this.val(el) as Obj);
      if (!el || !ex) continue;
      out.push({ name, summary: ex.summary as string | undefined, value: ex.value, loc: this.at(el, 'value') });
    }
    return out;
  }

  // ---------------------------------------------------------------- shared component files
  componentFiles(dir: string): void {
    if (existsSync(dir)) {
      for (const name of readdirSync(dir).sort()) if (/\.ya?ml$/.test(name)) this.specs.file(resolve(dir, name));
    }
    for (const f of this.specs.allFiles()) {
      if (!/(^|\/)components\/[^/]+\.ya?ml$/.test(f.rel) || !isObj(f.value)) continue;
      const stem = f.rel.replace(/^.*components\//, '').replace(/\.ya?ml$/, '');
      this.model.sources.components.push(f.rel);
      for (const name of Object.keys(f.value)) {
        this.model.schemas.push({ name, loc: { file: f, pointer: joinPointer('', name) }, module: `components/${stem}` });
      }
    }
    this.model.sources.components.sort();
  }
}

export type { NamedSchema };
