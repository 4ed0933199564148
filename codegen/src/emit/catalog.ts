import type { SchemaIndex } from '../model/schema-index.js';
import type { MessageModel, Model } from '../model/types.js';
import { findDiscriminator } from './discriminator.js';
import { GeneratedFile } from './file.js';
import { docComment, pascal, propKey } from './names.js';

/**
 * generated/asyncapi/catalog.ts: the AsyncAPI document as typed data for tools that iterate it
 * (conformance): every message with its validator, channels and named examples; every request
 * operation by request_type with its reply messages and reply validator.
 * generated/asyncapi/limits.ts: the numbers of the document's `x-limits`.
 */
export function emitCatalog(model: Model, index: SchemaIndex): GeneratedFile[] {
  const src = [model.sources.asyncapi];
  return [emitMessageCatalog(model, index, src), emitLimits(model, src)];
}

/** The payload type of a message, named as asyncapi.ts names it (a named schema, or `<Message>Payload` in channels.ts). */
function payloadType(index: SchemaIndex, m: MessageModel, file: GeneratedFile): string {
  const named = index.refTarget(m.payload)?.named ?? index.named(m.payload);
  if (named) return file.local(named.module, named.name, { type: true });
  return file.local('asyncapi/channels', `${m.name}Payload`, { type: true });
}

function emitMessageCatalog(model: Model, index: SchemaIndex, src: string[]): GeneratedFile {
  const f = new GeneratedFile('asyncapi/catalog.ts', src);
  for (const n of ['channelIds', 'ChannelId', 'MessageExample', 'MessageInfo', 'messageCatalog', 'MessageName', 'RequestInfo', 'requestCatalog', 'requestTypes', 'RequestType']) f.declare(n);
  const Validator = f.runtime('Validator', { type: true });
  const examples = f.local('asyncapi/examples', 'messageExamples');
  const lit = (v: unknown) => JSON.stringify(v);
  const member = (k: string) => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? `.${k}` : `[${lit(k)}]`);

  f.fromDoc('/channels');
  f.line('/** Every channel id of the document, in spec order. */');
  f.line(`export const channelIds = [${model.channels.map((c) => lit(c.id)).join(', ')}] as const;`);
  f.line('export type ChannelId = (typeof channelIds)[number];');
  f.line();
  f.fromDoc('/components/messages');
  f.line('/** One named example of a message. */');
  f.line('export interface MessageExample<T> {');
  f.line('  readonly name: string;');
  f.line('  readonly summary: string;');
  f.line('  readonly payload: T;');
  f.line('}');
  f.line();
  f.fromDoc('/components/messages');
  f.line('/** A message: its payload validator, the channels that carry it and its named examples, in spec order. */');
  f.line('export interface MessageInfo<T> {');
  f.line('  readonly name: string;');
  f.line('  readonly summary: string;');
  f.line('  readonly channels: readonly ChannelId[];');
  f.line(`  readonly validator: ${Validator}<T>;`);
  f.line('  readonly examples: readonly MessageExample<T>[];');
  f.line('}');
  f.line();
  f.fromDoc('/components/messages');
  f.line('/** Every message of the document by name. */');
  f.line('export const messageCatalog = {');
  for (const m of model.messages) {
    const T = payloadType(index, m, f);
    const channels = model.channels.filter((c) => c.messages.includes(m)).map((c) => lit(c.id));
    f.from(m.loc, '  ');
    f.line(`  ${propKey(m.name)}: {`);
    f.line(`    name: ${lit(m.name)},`);
    f.line(`    summary: ${lit(m.summary ?? '')},`);
    f.line(`    channels: [${channels.join(', ')}],`);
    f.line(`    validator: ${f.local('asyncapi/channels', `${m.name}Validator`)},`);
    f.line('    examples: [');
    for (const ex of m.examples) {
      f.line(`      { name: ${lit(ex.name)}, summary: ${lit(ex.summary ?? '')}, payload: ${examples}${member(m.name)}${member(ex.name)} },`);
    }
    f.line('    ],');
    f.line(`  } satisfies MessageInfo<${T}> as MessageInfo<${T}>,`);
  }
  f.line('};');
  f.line('export type MessageName = keyof typeof messageCatalog;');
  f.line();

  f.fromDoc('/operations');
  f.line('/** A request operation: its request_type, operation id, request message, reply messages (success first) and reply validator. */');
  f.line('export interface RequestInfo<K extends string, Reply> {');
  f.line('  readonly requestType: K;');
  f.line('  readonly operationId: string;');
  f.line('  readonly request: MessageName;');
  f.line('  readonly replies: readonly MessageName[];');
  f.line(`  readonly replyValidator: ${Validator}<Reply>;`);
  f.line('}');
  f.line();
  f.fromDoc('/operations');
  f.line('/** Every request operation by its request_type (the discriminator value of its request message). */');
  f.line('export const requestCatalog = {');
  const types: string[] = [];
  for (const op of model.operations.filter((o) => o.reply)) {
    const reqMsg = model.messages.find((m) => m.name === op.messages[0]);
    const reqChannel = model.channels.find((c) => c.id === op.channel);
    if (!reqMsg || !reqChannel) continue;
    const tag = findDiscriminator(index, reqChannel.messages);
    const key = String(tag ? tag.values[reqChannel.messages.indexOf(reqMsg)] : op.id);
    types.push(key);
    const base = pascal(op.id.replace(/^receive/, ''));
    const Reply = f.local('asyncapi/operations', `${base}Reply`, { type: true });
    const info = `RequestInfo<${lit(key)}, ${Reply}>`;
    f.from(op.loc, '  ');
    f.lines(docComment(op.summary, '  '));
    f.line(`  ${propKey(key)}: {`);
    f.line(`    requestType: ${lit(key)},`);
    f.line(`    operationId: ${lit(op.id)},`);
    f.line(`    request: ${lit(reqMsg.name)},`);
    f.line(`    replies: [${op.reply!.messages.map(lit).join(', ')}],`);
    f.line(`    replyValidator: ${f.local('asyncapi/operations', `${base}ReplyValidator`)},`);
    f.line(`  } satisfies ${info} as ${info},`);
  }
  f.line('};');
  f.line();
  f.fromDoc('/operations');
  f.line('/** Every request_type, in spec order. */');
  f.line(`export const requestTypes = [${types.map(lit).join(', ')}] as const satisfies readonly (keyof typeof requestCatalog)[];`);
  f.line('export type RequestType = (typeof requestTypes)[number];');
  return f;
}

function emitLimits(model: Model, src: string[]): GeneratedFile {
  const f = new GeneratedFile('asyncapi/limits.ts', src);
  f.fromDoc('/x-limits');
  f.line('/** The protocol numbers the spec states under `x-limits`. */');
  f.line('export const limits = {');
  for (const l of model.limits) {
    f.from(l.loc, '  ');
    f.lines(docComment(l.description, '  '));
    f.line(`  ${propKey(l.name)}: ${l.value},`);
  }
  f.line('} as const;');
  return f;
}
