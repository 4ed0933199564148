import type { SchemaIndex } from '../model/schema-index.js';
import type { ChannelModel, MessageModel, Model, OperationModel } from '../model/types.js';
import { findDiscriminator } from './discriminator.js';
import { GeneratedFile } from './file.js';
import { camel, docComment, literal, pascal, propKey } from './names.js';
import { typeboxExpr } from './typebox.js';

/** generated/asyncapi/{channels,operations,examples}.ts from the AsyncAPI document. */
export function emitAsyncApi(model: Model, index: SchemaIndex): GeneratedFile[] {
  const src = [model.sources.asyncapi];
  return [emitChannels(model, index, src), emitOperations(model, index, src), emitExamples(model, index, src)];
}

/** The payload type of a message: its named schema (imported) or an inline one declared here. */
function payloadType(index: SchemaIndex, m: MessageModel, file: GeneratedFile): string {
  const t = index.refTarget(m.payload);
  const named = t?.named ?? index.named(m.payload);
  if (named) return file.local(named.module, named.name);
  return `${m.name}Payload`;
}

function channelTypes(ch: ChannelModel) {
  const P = pascal(ch.id);
  return { params: `${P}Params`, message: `${P}Message`, validator: `${P}MessageValidator`, topic: `${camel(ch.id)}Topic` };
}

function emitChannels(model: Model, index: SchemaIndex, src: string[]): GeneratedFile {
  const f = new GeneratedFile('asyncapi/channels.ts', src);
  const compile = f.runtime('compileValidator');
  const ValidatorT = f.runtime('Validator', { type: true });
  const ChannelDef = f.runtime('ChannelDef', { type: true });
  const topicTemplate = f.runtime('topicTemplate');
  const Static = f.import('typebox', 'Static', { type: true });

  f.line('// ---- message validators (compiled once, shared) ----');
  for (const m of model.messages) {
    const t = index.refTarget(m.payload) ?? null;
    if (!t?.named && !index.named(m.payload)) {
      f.declare(`${m.name}Payload`);
      f.line(`export const ${m.name}Payload = ${typeboxExpr(index, m.payload, f)};`);
      f.line(`export type ${m.name}Payload = ${Static}<typeof ${m.name}Payload>;`);
    }
    const T = payloadType(index, m, f);
    f.from(m.loc);
    f.lines(docComment(m.summary));
    f.line(`export const ${m.name}Validator: ${ValidatorT}<${T}> = ${compile}<${T}>(${T});`);
  }
  f.line();
  f.line('// ---- topic parameter validators ----');
  const paramValidators = new Map<string, string>();
  for (const ch of model.channels) {
    for (const p of ch.params) {
      const named = p.schema && (index.refTarget(p.schema)?.named ?? index.named(p.schema));
      if (named && !paramValidators.has(named.name)) {
        const T = f.local(named.module, named.name);
        const v = `${named.name}ParamValidator`;
        f.line(`const ${v} = ${compile}<${T}>(${T});`);
        paramValidators.set(named.name, v);
      }
    }
  }
  f.line();
  for (const ch of model.channels) {
    const n = channelTypes(ch);
    const types = ch.messages.map((m) => payloadType(index, m, f));
    f.line(`// ---- channel ${ch.id}: ${ch.address} ----`);
    f.from(ch.loc);
    f.line(`export type ${n.params} = { ${ch.params.map((p) => `${propKey(p.name)}: ${paramType(index, p, f)}`).join('; ')} };`);
    f.line(`export type ${n.message} = ${types.join(' | ') || 'never'};`);
    const disc = findDiscriminator(index, ch.messages);
    if (ch.messages.length === 1) {
      f.line(`export const ${n.validator}: ${ValidatorT}<${n.message}> = ${ch.messages[0].name}Validator;`);
    } else if (disc) {
      const discriminated = f.runtime('discriminated');
      const branches = ch.messages.map((m, i) => `${propKey(String(disc.values[i]))}: ${m.name}Validator`).join(', ');
      f.line(`export const ${n.validator}: ${ValidatorT}<${n.message}> = ${discriminated}<${n.message}>(${JSON.stringify(disc.property)}, { ${branches} });`);
    } else {
      const T = f.import('typebox', 'Type');
      f.line(`export const ${n.validator}: ${ValidatorT}<${n.message}> = ${compile}<${n.message}>(${T}.Union([${types.join(', ')}]));`);
    }
    const kinds = ch.params.map((p) => {
      const named = p.schema && (index.refTarget(p.schema)?.named ?? index.named(p.schema));
      const check = named ? `, check: (v: unknown) => ${paramValidators.get(named.name)}.check(v)` : '';
      return `${propKey(p.name)}: { kind: '${p.kind}'${check} }`;
    });
    f.line(`export const ${n.topic} = ${topicTemplate}<${n.params}>(${JSON.stringify(ch.address)}, { ${kinds.join(', ')} });`);
    f.line(`export const ${camel(ch.id)}: ${ChannelDef}<${n.params}, ${n.message}> = {`);
    f.line(`  id: ${JSON.stringify(ch.id)},`);
    f.line(`  topic: ${n.topic},`);
    f.line(`  qos: ${ch.qos},`);
    f.line(`  retain: ${ch.retain},`);
    f.line(`  message: ${n.validator},`);
    f.line('};');
    f.line();
  }
  f.fromDoc('/channels');
  f.line(`export const channels = { ${model.channels.map((c) => camel(c.id)).join(', ')} } as const;`);
  return f;
}

function paramType(index: SchemaIndex, p: ChannelModel['params'][number], f: GeneratedFile): string {
  const named = p.schema && (index.refTarget(p.schema)?.named ?? index.named(p.schema));
  if (named) return f.local(named.module, named.name);
  return p.kind === 'integer' ? 'number' : 'string';
}

function emitOperations(model: Model, index: SchemaIndex, src: string[]): GeneratedFile {
  const f = new GeneratedFile('asyncapi/operations.ts', src);
  const MqttClient = f.import('mqtt', 'MqttClient', { type: true });
  const publish = f.runtime('publish');
  const MessageRouter = f.runtime('MessageRouter', { type: true });
  const InboundMessage = f.runtime('InboundMessage', { type: true });
  const SubscribeOptions = f.runtime('SubscribeOptions', { type: true });
  const ValidatorT = f.runtime('Validator', { type: true });
  const PublishOptions = f.runtime('PublishOptions', { type: true });
  const ch = (id: string) => f.local('asyncapi/channels', id);

  f.line('// ---- typed publishers and subscribers, one pair per channel ----');
  for (const c of model.channels) {
    const n = channelTypes(c);
    const P = f.local('asyncapi/channels', n.params, { type: true });
    const M = f.local('asyncapi/channels', n.message, { type: true });
    const def = ch(camel(c.id));
    f.from(c.loc);
    f.line(`/** Publishes on \`${c.address}\` (QoS ${c.qos}${c.retain ? ', retained' : ''}) after validating the payload. */`);
    f.line(`export function publish${pascal(c.id)}(client: ${MqttClient}, params: ${P}, payload: ${M}, opts?: ${PublishOptions}): Promise<void> {`);
    f.line(`  return ${publish}(client, ${def}, params, payload, opts);`);
    f.line('}');
    f.line(`/** Subscribes to \`${c.address}\`; invalid messages go to the error callback, never to the handler. */`);
    f.line(`export function subscribe${pascal(c.id)}(router: ${MessageRouter}, handler: (m: ${InboundMessage}<${P}, ${M}>) => void | Promise<void>, opts?: ${SubscribeOptions}<${P}>): Promise<() => Promise<void>> {`);
    f.line(`  return router.subscribe(${def}, handler, opts);`);
    f.line('}');
    f.line();
  }

  f.line('// ---- request/reply operations ----');
  const requestOps = model.operations.filter((o) => o.reply);
  const RequestSpec = f.runtime('RequestSpec', { type: true });
  const Requester = f.runtime('Requester', { type: true });
  const entries: string[] = [];
  const served: Served[] = [];
  for (const op of requestOps) {
    const reqMsg = model.messages.find((m) => m.name === op.messages[0]);
    const replyMsgs = op.reply!.messages.map((name) => model.messages.find((m) => m.name === name)!).filter(Boolean);
    if (!reqMsg) continue;
    const reqChannel = model.channels.find((c) => c.id === op.channel)!;
    const replyChannel = model.channels.find((c) => c.id === op.reply!.channel)!;
    const base = pascal(op.id.replace(/^receive/, ''));
    const Req = payloadType(index, reqMsg, f);
    const replyTypes = replyMsgs.map((m) => payloadType(index, m, f));
    const replyType = `${base}Reply`;
    f.declare(replyType);
    f.from(op.loc);
    f.lines(docComment(`${op.id}: ${op.summary ?? ''}`));
    f.line(`export type ${replyType} = ${replyTypes.join(' | ')};`);
    const disc = findDiscriminator(index, replyMsgs);
    const replyValidator = `${replyType}Validator`;
    if (replyMsgs.length === 1) {
      f.line(`export const ${replyValidator}: ${ValidatorT}<${replyType}> = ${f.local('asyncapi/channels', replyMsgs[0].name + 'Validator')};`);
    } else if (disc) {
      const discriminated = f.runtime('discriminated');
      const branches = replyMsgs.map((m, i) => `${propKey(String(disc.values[i]))}: ${f.local('asyncapi/channels', m.name + 'Validator')}`).join(', ');
      f.line(`export const ${replyValidator}: ${ValidatorT}<${replyType}> = ${discriminated}<${replyType}>(${JSON.stringify(disc.property)}, { ${branches} });`);
    } else {
      const compile = f.runtime('compileValidator');
      const T = f.import('typebox', 'Type');
      f.line(`export const ${replyValidator}: ${ValidatorT}<${replyType}> = ${compile}<${replyType}>(${T}.Union([${replyTypes.join(', ')}]));`);
    }
    const reqP = f.local('asyncapi/channels', channelTypes(reqChannel).params, { type: true });
    const spec = `${camel(base)}Request`;
    f.line(`export const ${spec}: ${RequestSpec}<${Req}, ${replyType}> = {`);
    f.line(`  request: { ...${ch(camel(reqChannel.id))}, message: ${f.local('asyncapi/channels', reqMsg.name + 'Validator')} },`);
    f.line(`  response: { ...${ch(camel(replyChannel.id))}, message: ${replyValidator} },`);
    f.line('};');
    f.line(`/** Player side: publishes a ${reqMsg.name} and resolves with its correlated reply (or rejects on timeout). */`);
    f.line(`export function request${base}(requester: ${Requester}, payload: ${Req}, opts?: { timeoutMs?: number }): Promise<${replyType}> {`);
    f.line(`  return requester.request(${spec}, payload, opts);`);
    f.line('}');
    void reqP;
    const tag = findDiscriminator(index, model.messages.filter((m) => reqChannel.messages.includes(m)));
    const tagValue = tag ? tag.values[reqChannel.messages.indexOf(reqMsg)] : op.id;
    const codes = (op.errorCodes ?? []).map((c) => c.code);
    // the handler's own reply: the success message(s) and the error message narrowed to x-error-codes
    const errorIdx = disc ? disc.values.findIndex((v) => v === false) : -1;
    const handlerReply = `${base}HandlerReply`;
    f.declare(handlerReply);
    const own = replyTypes.filter((_, i) => i !== errorIdx);
    if (errorIdx >= 0 && codes.length > 0) own.push(`(${replyTypes[errorIdx]} & { error_code: ${codes.map((c) => JSON.stringify(c)).join(' | ')} })`);
    f.lines(docComment(`What the ${String(tagValue)} handler may return: its success reply, or an error with a code x-error-codes lists (${codes.join(', ') || 'none'}).`));
    f.line(`export type ${handlerReply} = ${own.join(' | ') || 'never'};`);
    served.push({ op, tagValue: String(tagValue), Req, handlerReply, codes, spec, requestChannel: camel(reqChannel.id), replyChannel: camel(replyChannel.id), tagProperty: tag?.property });
    entries.push(`  ${propKey(String(tagValue))}: { operationId: ${JSON.stringify(op.id)}, spec: ${spec}, errorCodes: [${codes.map((c) => JSON.stringify(c)).join(', ')}] },`);
    f.line();
  }
  f.fromDoc('/operations');
  f.line('/** Every request operation by its discriminator value (e.g. request_type), with the error codes its handler may answer. */');
  f.line('export const requestOperations = {');
  f.lines(entries);
  f.line('} as const;');
  f.line('export type RequestOperations = typeof requestOperations;');
  f.line();
  if (served.length > 0) emitRequestServing(model, f, served);
  f.fromDoc('/operations');
  f.line('/** Every operation of the document, from the server\'s viewpoint. */');
  f.line('export const operations = {');
  for (const op of model.operations) {
    f.from(op.loc, '  ');
    f.line(`  ${op.id}: { action: '${op.action}', channel: ${JSON.stringify(op.channel)}, messages: ${JSON.stringify(op.messages)}${op.reply ? `, reply: ${JSON.stringify(op.reply)}` : ''} },`);
  }
  f.line('} as const;');
  return f;
}

interface Served {
  op: OperationModel;
  tagValue: string;
  Req: string;
  handlerReply: string;
  codes: string[];
  spec: string;
  requestChannel: string;
  replyChannel: string;
  tagProperty?: string;
}

/** `RequestHandlers<S>`, `requestFailure` and `serveRequests` over the runtime's request server. */
function emitRequestServing(model: Model, f: GeneratedFile, served: Served[]): void {
  const tagProperty = served[0].tagProperty ?? 'request_type';
  const sameChannels = served.every((s) => s.requestChannel === served[0].requestChannel && s.replyChannel === served[0].replyChannel);
  if (!sameChannels) throw new Error('request operations on more than one request/reply channel pair are not supported by serveRequests');
  f.fromDoc('/operations');
  f.line(`/** The request types, by their ${tagProperty}. */`);
  f.line('export type RequestType = keyof RequestOperations;');
  f.line();
  f.fromDoc('/operations');
  f.line('/** The error codes the handler of request type T may answer (its x-error-codes). */');
  f.line("export type HandlerErrorCode<T extends RequestType> = RequestOperations[T]['errorCodes'][number];");
  f.line();
  f.fromDoc('/operations');
  f.line('/**');
  f.line(' * The server side: one handler per request type, taking that request and returning that request\'s');
  f.line(' * own reply (success, or an error with a code its operation documents). `S` is what the hooks');
  f.line(' * make of the caller (the session). A missing handler or another type\'s reply does not compile.');
  f.line(' */');
  f.line('export interface RequestHandlers<S> {');
  for (const s of served) {
    f.from(s.op.loc, '  ');
    f.lines(docComment(`${s.op.id}: ${s.op.summary ?? ''}`, '  '));
    f.line(`  ${propKey(s.tagValue)}(request: ${s.Req}, session: S): Promise<${s.handlerReply}>;`);
  }
  f.line('}');
  f.line();
  const RequestFailure = f.runtime('RequestFailure');
  f.fromDoc('/operations');
  f.line('/** Names a code the request types do not all document, so a wrong code fails to compile with this text. */');
  f.line('type DocumentedCode<T extends RequestType, C extends string> = [C] extends [HandlerErrorCode<T>] ? C : `${T} does not document the error code ${C} (x-error-codes)`;');
  f.line();
  f.fromDoc('/operations');
  f.line('/** An expected failure of request type(s) T, answered as `{success: false, error_code, error}`; throw it from the handler. */');
  f.line(`export function requestFailure<T extends RequestType, const C extends string>(requestType: T | readonly T[], code: DocumentedCode<T, C>, message: string): ${RequestFailure} {`);
  f.line(`  return new ${RequestFailure}(typeof requestType === 'string' ? [requestType] : requestType, code, message);`);
  f.line('}');
  f.line();
  const errorCode = model.schemas.find((x) => x.name === 'ErrorCode');
  if (errorCode) {
    const ErrorCode = f.local(errorCode.module, 'ErrorCode', { type: true });
    const pipeline = f.runtime('pipelineErrorCodes');
    f.fromDoc('/components/messages/ErrorResponse');
    f.line('/** The codes the request pipeline answers itself are error codes of the spec (a compile-time check). */');
    f.line(`export const pipelineCodes: readonly ${ErrorCode}[] = ${pipeline};`);
    f.line();
  }
  const ServeRequestsOptions = f.runtime('ServeRequestsOptions', { type: true });
  const ServedRequests = f.runtime('ServedRequests', { type: true });
  f.declare('serveRequests');
  const serve = f.runtime('serveRequests');
  const reqCh = f.local('asyncapi/channels', served[0].requestChannel);
  const resCh = f.local('asyncapi/channels', served[0].replyChannel);
  f.fromDoc('/operations');
  f.line('/**');
  f.line(` * Answers every request on \`${served[0].requestChannel}\` (see codegen/runtime/serve-requests.ts for the checks, in order):`);
  f.line(' * the handlers get validated requests of their own type; answers are checked against each operation\'s reply schema.');
  f.line(' */');
  f.line(`export function serveRequests<S>(opts: Omit<${ServeRequestsOptions}<S>, 'request' | 'response' | 'tag' | 'operations' | 'handlers'> & { handlers: RequestHandlers<S> }): Promise<${ServedRequests}> {`);
  f.line(`  return ${serve}<S>({ ...opts, request: ${reqCh}, response: ${resCh}, tag: ${JSON.stringify(tagProperty)}, operations: requestOperations, handlers: { ${served.map((s) => `${propKey(s.tagValue)}: (request, session) => opts.handlers[${JSON.stringify(s.tagValue)}](request, session)`).join(', ')} } });`);
  f.line('}');
  f.line();
}

function emitExamples(model: Model, index: SchemaIndex, src: string[]): GeneratedFile {
  const f = new GeneratedFile('asyncapi/examples.ts', src);
  f.fromDoc('/components/messages');
  f.line('/** Every named example of every message, typed by the message payload. */');
  f.line('export const messageExamples = {');
  for (const m of model.messages) {
    const T = payloadType(index, m, f);
    f.from(m.loc, '  ');
    f.line(`  ${m.name}: {`);
    for (const ex of m.examples) f.line(`    ${propKey(ex.name)}: ${literal(ex.value, '    ')} satisfies ${T} as ${T},`);
    f.line('  },');
  }
  f.line('} as const;');
  f.line();
  f.fromDoc('/components/messages');
  f.line('/** One line about each example, by message and example name. */');
  f.line('export const messageExampleSummaries: Record<string, Record<string, string>> = {');
  for (const m of model.messages) {
    f.line(`  ${m.name}: { ${m.examples.map((e) => `${propKey(e.name)}: ${JSON.stringify(e.summary ?? '')}`).join(', ')} },`);
  }
  f.line('};');
  return f;
}
