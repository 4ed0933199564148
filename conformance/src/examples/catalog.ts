// The spec's examples as the suite uses them: request examples paired by name with the response
// example that answers them (spec/README.md, "Examples"), and the examples of every other message,
// by the channels that carry them. Everything is read from the typed catalog generated/asyncapi/catalog.ts.
import { messageCatalog, requestCatalog, requestTypes, type ChannelId, type MessageName, type RequestType } from '@makapix/contract/asyncapi/catalog';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

/** Checked at run time, all the way down (an empty closed object is typed `object` by TypeBox, so the types alone cannot say it). */
export function isJson(v: unknown): v is Json {
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) return true;
  if (Array.isArray(v)) return v.every(isJson);
  return typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && Object.values(v).every(isJson);
}

export function isJsonObject(v: unknown): v is JsonObject {
  return isJson(v) && typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every message of the generated catalog by name, with its examples as plain JSON, in spec order. */
const messages = new Map<string, Map<string, JsonObject>>(
  Object.values(messageCatalog).map((m) => [m.name, new Map(m.examples.map((e) => {
    if (!isJsonObject(e.payload)) throw new Error(`generated example ${m.name}.${e.name} is not a JSON object`);
    return [e.name, e.payload] as const;
  }))]),
);

/** Narrows a value read from JSON to one of a generated list of values (e.g. PromotionCategoryValues). */
export function isOneOf<T>(values: readonly T[], v: unknown): v is T {
  return values.some((x) => x === v);
}

/** Narrows a request_type read from a payload. */
export function isRequestType(t: unknown): t is RequestType {
  return typeof t === 'string' && Object.hasOwn(requestCatalog, t);
}

export interface Example {
  /** `Message.name`, e.g. `QueryPostsRequest.by_user`. */
  ref: string;
  message: string;
  name: string;
  payload: JsonObject;
}

export interface RequestExample extends Example {
  requestType: RequestType;
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
  const payload = messages.get(message)?.get(name);
  return payload === undefined ? undefined : { ref, message, name, payload };
}

export function examplesOf(message: string): Example[] {
  return [...(messages.get(message) ?? [])].map(([name, payload]) => ({ ref: `${message}.${name}`, message, name, payload }));
}

/** Message names carried by a channel (e.g. 'playerCommand' -> the three commands), in spec order. */
export function messagesOnChannel(channelId: ChannelId): string[] {
  return Object.values(messageCatalog).filter((m) => m.channels.includes(channelId)).map((m) => m.name);
}

/** The reply message names of a request type, success responses first. */
export function replyMessages(requestType: RequestType): MessageName[] {
  return [...requestCatalog[requestType].replies];
}

/** Every request example with its paired answer, in spec order. */
export function requestExamples(): RequestExample[] {
  const out: RequestExample[] = [];
  for (const requestType of requestTypes) {
    const { operationId, request } = requestCatalog[requestType];
    for (const ex of examplesOf(request)) {
      let answer: RequestExample['answer'];
      for (const reply of replyMessages(requestType)) {
        const found = messages.get(reply)?.get(ex.name);
        if (found === undefined) continue;
        const success = found.success !== false;
        answer = { ref: `${reply}.${ex.name}`, message: reply, name: ex.name, payload: found, success, errorCode: success ? undefined : String(found.error_code) };
        break;
      }
      out.push({ ...ex, requestType, operationId, answer });
    }
  }
  return out;
}

/** The request message of a request_type, e.g. 'query_posts' -> 'QueryPostsRequest'. */
export function requestMessageOf(requestType: string): string | undefined {
  return isRequestType(requestType) ? requestCatalog[requestType].request : undefined;
}

/** The first success response example of a request operation (player mode answers with it). */
export function successAnswerOf(requestType: string): Example | undefined {
  if (!isRequestType(requestType)) return undefined;
  for (const reply of replyMessages(requestType)) {
    const first = examplesOf(reply).find((e) => e.payload.success === true);
    if (first) return first;
  }
  return undefined;
}

/** The first error answer example with this error_code (from the reply messages of any request operation). */
export function errorAnswerWithCode(code: string): Example | undefined {
  for (const requestType of requestTypes) {
    for (const reply of replyMessages(requestType)) {
      const found = examplesOf(reply).find((e) => e.payload.success === false && e.payload.error_code === code);
      if (found) return found;
    }
  }
  return undefined;
}
