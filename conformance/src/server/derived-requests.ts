// Cases derived from the spec: every request example is published (placeholders substituted) and
// must be answered on its response topic, valid against the reply schema, with the same
// request_id and the outcome of the answer example of the same name (success, or that error_code).
// A request whose cursor is the next_cursor of another example's answer first runs that example
// and sends the real cursor instead.
import { SkipCase, StopCase, type CaseDef, type CaseRecorder } from '../model/case.js';
import { requestExamples, type JsonObject, type RequestExample } from '../examples/catalog.js';
import { newRequestId, substitute } from '../examples/substitute.js';
import type { ExceptionSpec } from '../cases/schema.js';
import { exchange, type Expectation } from './exchange.js';
import type { ServerContext } from './context.js';

export function expectationOf(ex: RequestExample): Expectation | undefined {
  if (!ex.answer) return undefined;
  return ex.answer.success ? { success: true } : { success: false, errorCode: ex.answer.errorCode };
}

/** The example whose answer's next_cursor is this example's cursor (the previous page). */
function previousPage(ex: RequestExample, all: RequestExample[]): RequestExample | undefined {
  const cursor = ex.payload.cursor;
  if (typeof cursor !== 'string') return undefined;
  return all.find((o) => o.requestType === ex.requestType && o.answer?.success && o.answer.payload.next_cursor === cursor);
}

/** Runs the chain of previous pages and returns the real cursor that stands for `ex.payload.cursor`. */
async function realCursor(ctx: ServerContext, rec: CaseRecorder, ex: RequestExample, all: RequestExample[], depth = 0): Promise<string | undefined> {
  const prev = previousPage(ex, all);
  if (!prev || depth > 5) return undefined;
  const payload = await prepare(ctx, rec, prev, all, depth + 1);
  const r = await exchange(ctx, rec, { text: JSON.stringify(payload), topicRequestId: String(payload.request_id), requestType: prev.requestType, expect: { success: true }, stopOnMissing: true });
  const next = r.answer?.next_cursor;
  if (typeof next !== 'string') {
    if (r.answer?.has_more === false) throw new SkipCase(`the target has too few items: ${prev.ref} (the previous page) answered has_more false`);
    rec.mismatch({ topic: r.responseTopic, pointer: '/next_cursor', expected: 'a cursor (has_more is true)', got: JSON.stringify(next) });
    throw new StopCase();
  }
  return next;
}

async function prepare(ctx: ServerContext, rec: CaseRecorder, ex: RequestExample, all: RequestExample[], depth = 0): Promise<JsonObject> {
  const payload = substitute(ex.payload, ctx.map, { requestId: newRequestId() });
  const cursor = await realCursor(ctx, rec, ex, all, depth);
  if (cursor !== undefined) payload.cursor = cursor;
  return payload;
}

export function derivedRequestCases(exceptions: readonly ExceptionSpec[]): CaseDef<ServerContext>[] {
  const all = requestExamples();
  const out: CaseDef<ServerContext>[] = [];
  for (const ex of all) {
    const exception = exceptions.find((e) => e.example === ex.ref);
    if (exception?.replaced_by) continue;
    out.push({
      name: `server/mqtt/${ex.requestType}/${ex.name}`,
      features: ['mqtt', ...(exception?.features ?? [])],
      source: `spec: ${ex.ref}${ex.answer ? ` -> ${ex.answer.ref}` : ''}`,
      run: async (ctx, rec) => {
        const payload = await prepare(ctx, rec, ex, all);
        await exchange(ctx, rec, { text: JSON.stringify(payload), topicRequestId: String(payload.request_id), requestType: ex.requestType, expect: expectationOf(ex) });
      },
    });
  }
  return out;
}
