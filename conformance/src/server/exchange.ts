// One request/response exchange as a player makes it, and the checks every answer gets: it comes
// on the request's response topic within the timeout, is UTF-8 JSON, matches the reply schema
// exactly (no cleaning of unknown fields), carries the same request_id, and meets the expectation.
import { type Validator } from '#runtime/v1';
import { ErrorResponseValidator, playerCommandTopic, playerRequestTopic, playerResponseTopic, PlayerResponseMessageValidator } from '@makapix/contract/asyncapi/channels';
import { requestCatalog } from '@makapix/contract/asyncapi/catalog';
import { limits } from '@makapix/contract/asyncapi/limits';
import { isRequestType } from '../examples/catalog.js';
import { describeValue, diffPointers, expectationOf, valueAt } from '../model/describe.js';
import { StopCase, type CaseRecorder } from '../model/case.js';
import { reproRequest, type ReproConnection } from '../report/repro.js';
import type { Inbound, PlayerSession } from './session.js';

export interface Expectation {
  success?: boolean;
  errorCode?: string;
  /** The answer must equal this earlier answer. */
  sameAs?: { label: string; payload: unknown };
}

export interface ExchangeResult {
  requestTopic: string;
  responseTopic: string;
  /** The parsed, schema-valid answer (undefined when there was none or it was unusable). */
  answer?: Record<string, unknown>;
  /** The parsed answer even when it failed the schema. */
  raw?: unknown;
}

export interface ExchangeContext {
  session: PlayerSession;
  timeoutMs: number;
  repro: ReproConnection;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The reply validator of a request_type; for unknown types, the error answer or any response. */
export function replyValidatorFor(requestType: unknown, raw: unknown): Validator<unknown> {
  if (isRequestType(requestType)) return requestCatalog[requestType].replyValidator;
  const success = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>).success : undefined;
  return (success === false ? ErrorResponseValidator : PlayerResponseMessageValidator) as Validator<unknown>;
}

/**
 * Publishes `text` on the request topic of `topicRequestId` and checks the answer on the matching
 * response topic. Mismatches go to `rec`; with `stopOnMissing`, a missing or unusable answer stops the case.
 */
export async function exchange(
  ctx: ExchangeContext,
  rec: CaseRecorder,
  req: { text: string; topicRequestId: string; requestType?: unknown; expect?: Expectation; stopOnMissing?: boolean },
): Promise<ExchangeResult> {
  const key = ctx.session.playerKey;
  const requestTopic = playerRequestTopic.format({ player_key: key, request_id: req.topicRequestId });
  const responseTopic = playerResponseTopic.format({ player_key: key, request_id: req.topicRequestId });
  rec.addReproduce(reproRequest(ctx.repro, requestTopic, responseTopic, req.text, ctx.timeoutMs));
  const from = ctx.session.mark();
  await ctx.session.publish(requestTopic, req.text);
  const got = await ctx.session.waitFor((m) => m.topic === responseTopic, from, ctx.timeoutMs);
  const result: ExchangeResult = { requestTopic, responseTopic };
  if (!got) {
    const commandTopic = playerCommandTopic.format({ player_key: key });
    const others = ctx.session.since(from, (m) => m.topic !== responseTopic && m.topic !== commandTopic);
    rec.mismatch({
      topic: responseTopic,
      pointer: '',
      expected: `an answer within ${ctx.timeoutMs} ms`,
      got: others.length ? `nothing on this topic; ${others.length} message(s) on ${[...new Set(others.map((o) => o.topic))].join(', ')}` : 'nothing',
    });
    if (req.stopOnMissing) throw new StopCase();
    return result;
  }
  const raw = parse(got, rec, responseTopic);
  if (raw === undefined) {
    if (req.stopOnMissing) throw new StopCase();
    return result;
  }
  result.raw = raw;
  const before = rec.mismatches.length;
  const validator = replyValidatorFor(req.requestType, raw);
  for (const issue of validator.issues(raw)) {
    rec.mismatch({ topic: responseTopic, pointer: issue.pointer, expected: expectationOf(issue.message), got: describeValue(valueAt(raw, issue.pointer)) });
  }
  const obj = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  let payloadRequestId: string | undefined;
  try {
    payloadRequestId = typeof req.text === 'string' ? (JSON.parse(req.text) as { request_id?: string }).request_id : undefined;
  } catch {
    payloadRequestId = undefined;
  }
  // The answer carries the topic's request_id (for a mismatching payload id, the topic wins).
  if (obj.request_id !== req.topicRequestId) {
    rec.mismatch({ topic: responseTopic, pointer: '/request_id', expected: describeValue(req.topicRequestId) + (payloadRequestId !== undefined && payloadRequestId !== req.topicRequestId ? ' (the topic\'s request_id)' : ''), got: describeValue(obj.request_id) });
  }
  const e = req.expect;
  if (e?.success !== undefined && obj.success !== e.success) {
    const detail = obj.success === false ? ` (error_code ${describeValue(obj.error_code)}: ${describeValue(obj.error)})` : '';
    rec.mismatch({ topic: responseTopic, pointer: '/success', expected: String(e.success), got: describeValue(obj.success) + detail });
  }
  if (e?.errorCode !== undefined && obj.error_code !== e.errorCode) {
    rec.mismatch({ topic: responseTopic, pointer: '/error_code', expected: describeValue(e.errorCode), got: describeValue(obj.error_code) + (typeof obj.error === 'string' ? ` (error: ${describeValue(obj.error)})` : '') });
  }
  if (e?.sameAs) {
    for (const p of diffPointers(e.sameAs.payload, raw)) {
      rec.mismatch({ topic: responseTopic, pointer: p, expected: `${describeValue(valueAt(e.sameAs.payload, p))} (as in the answer saved as ${e.sameAs.label})`, got: describeValue(valueAt(raw, p)) });
    }
  }
  if (rec.mismatches.length === before) result.answer = obj;
  else if (req.stopOnMissing) throw new StopCase();
  return result;
}

function parse(m: Inbound, rec: CaseRecorder, topic: string): unknown {
  if (m.refused) {
    rec.mismatch({ topic, pointer: '', expected: `a payload of at most ${limits.maxPayloadBytes} bytes (the firmware buffer)`, got: m.refused });
    return undefined;
  }
  try {
    return JSON.parse(utf8.decode(m.bytes));
  } catch (err) {
    rec.mismatch({ topic, pointer: '', expected: 'UTF-8 JSON', got: `${describeValue(m.bytes.toString('utf8'), 80)} (${(err as Error).message})` });
    return undefined;
  }
}
