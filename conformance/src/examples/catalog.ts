// The spec's examples as the suite uses them: request examples paired by name with the response
// example that answers them (spec/README.md, "Examples"), and the examples of every other message,
// grouped by the channel their operation uses. Everything is read from generated/.
import { messageExamples } from '../../../generated/asyncapi/examples.js';
import { operations, requestOperations } from '../../../generated/asyncapi/operations.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

const all = messageExamples as unknown as Record<string, Record<string, JsonObject>>;
type Operation = { action: string; channel: string; messages: readonly string[]; reply?: { channel: string; messages: readonly string[] } };
const ops = operations as unknown as Record<string, Operation>;

export interface Example {
  /** `Message.name`, e.g. `QueryPostsRequest.by_user`. */
  ref: string;
  message: string;
  name: string;
  payload: JsonObject;
}

export interface RequestExample extends Example {
  requestType: keyof typeof requestOperations;
  operationId: string;
  /** The reply example with the same name: a success response or an ErrorResponse. */
  answer?: Example & { success: boolean; errorCode?: string };
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** One example by `Message.name`, or undefined. */
export function findExample(ref: string): Example | undefined {
  const dot = ref.indexOf('.');
  if (dot < 0) return undefined;
  const message = ref.slice(0, dot);
  const name = ref.slice(dot + 1);
  const payload = all[message]?.[name];
  return payload === undefined ? undefined : { ref, message, name, payload };
}

export function examplesOf(message: string): Example[] {
  return Object.entries(all[message] ?? {}).map(([name, payload]) => ({ ref: `${message}.${name}`, message, name, payload }));
}

/** Message names of the operations on a channel (e.g. 'playerCommand' -> the three commands). */
export function messagesOnChannel(channelId: string): string[] {
  const out: string[] = [];
  for (const op of Object.values(ops)) {
    if (op.channel !== channelId) continue;
    for (const m of op.messages) if (!out.includes(m)) out.push(m);
  }
  return out;
}

/** The reply message names of a request operation, success responses first. */
export function replyMessages(operationId: string): string[] {
  return [...(ops[operationId]?.reply?.messages ?? [])];
}

/** Every request example with its paired answer, in spec order. */
export function requestExamples(): RequestExample[] {
  const out: RequestExample[] = [];
  const byType = requestOperations as unknown as Record<string, { operationId: string }>;
  for (const message of messagesOnChannel('playerRequest')) {
    for (const ex of examplesOf(message)) {
      const requestType = ex.payload.request_type;
      if (typeof requestType !== 'string' || !(requestType in byType)) continue;
      const operationId = byType[requestType].operationId;
      let answer: RequestExample['answer'];
      for (const reply of replyMessages(operationId)) {
        const found = all[reply]?.[ex.name];
        if (found === undefined) continue;
        const success = found.success !== false;
        answer = { ref: `${reply}.${ex.name}`, message: reply, name: ex.name, payload: found, success, errorCode: success ? undefined : String(found.error_code) };
        break;
      }
      out.push({ ...ex, requestType: requestType as keyof typeof requestOperations, operationId, answer });
    }
  }
  return out;
}

/** The request message of a request_type, e.g. 'query_posts' -> 'QueryPostsRequest'. */
export function requestMessageOf(requestType: string): string | undefined {
  return requestExamples().find((r) => r.requestType === requestType)?.message;
}

/** The first success response example of a request operation (player mode answers with it). */
export function successAnswerOf(requestType: string): Example | undefined {
  const op = (requestOperations as unknown as Record<string, { operationId: string }>)[requestType];
  if (!op) return undefined;
  for (const reply of replyMessages(op.operationId)) {
    const first = examplesOf(reply).find((e) => e.payload.success === true);
    if (first) return first;
  }
  return undefined;
}

/** The first error answer example with this error_code (from the reply messages of any request operation). */
export function errorAnswerWithCode(code: string): Example | undefined {
  for (const op of Object.values(ops)) {
    for (const reply of op.reply?.messages ?? []) {
      const found = examplesOf(reply).find((e) => e.payload.success === false && e.payload.error_code === code);
      if (found) return found;
    }
  }
  return undefined;
}
