// Server-mode cases written as data (conformance/cases/*.yaml, mode: server): `send` publishes a
// request built from an example (or raw text) and checks the answer; `paginate` walks every page
// and compares the items with one reference page (no duplicates, no gaps, same order).
import { randomUUID } from 'node:crypto';
import { SkipCase, StopCase, type CaseDef, type CaseRecorder } from '../model/case.js';
import { describeValue } from '../model/describe.js';
import { findExample, requestExamples, type Json, type JsonObject } from '../examples/catalog.js';
import { mapPostId, newRequestId, substitute } from '../examples/substitute.js';
import { exampleWorld } from '../examples/world.js';
import type { LoadedCaseFile } from '../cases/load.js';
import type { CaseSpec, MessageSpec, PaginateStep, SendStep, Step } from '../cases/schema.js';
import { getPointer, render, setPath, type TemplateScope } from '../cases/template.js';
import { exchange, type ExchangeResult, type Expectation } from './exchange.js';
import type { ServerContext } from './context.js';
import { expectStatus } from './context.js';
import { expectationOf } from './derived-requests.js';

interface Built {
  text: string;
  topicRequestId: string;
  requestType?: unknown;
  /** The expectation of the example's paired answer (only when the payload was not changed). */
  paired?: Expectation;
  payload?: JsonObject;
}

export function buildRequest(spec: MessageSpec, scope: TemplateScope, ctx: ServerContext): Built {
  const requestId = String(scope.vars.request_id);
  if (spec.raw !== undefined) {
    const text = String(render(spec.raw, scope));
    const topicRequestId = spec.topic_request_id !== undefined ? String(render(spec.topic_request_id, scope)) : requestId;
    return { text, topicRequestId };
  }
  const ex = findExample(spec.example!)!;
  const payload = substitute(ex.payload, ctx.map, { requestId });
  for (const [path, value] of Object.entries(spec.set ?? {})) setPath(payload, path, render(value, scope));
  for (const path of spec.unset ?? []) setPath(payload, path, undefined);
  const topicRequestId = spec.topic_request_id !== undefined ? String(render(spec.topic_request_id, scope)) : typeof payload.request_id === 'string' ? payload.request_id : requestId;
  const req = requestExamples().find((r) => r.ref === ex.ref);
  const changed = (spec.set && Object.keys(spec.set).length > 0) || (spec.unset && spec.unset.length > 0);
  return { text: JSON.stringify(payload), topicRequestId, requestType: payload.request_type, paired: req && !changed ? expectationOf(req) : undefined, payload };
}

function scopeFor(ctx: ServerContext, saved: Map<string, JsonObject>, otherKey: string, item?: unknown): TemplateScope {
  return {
    vars: { player_key: ctx.session.playerKey, request_id: newRequestId(), other_player_key: otherKey, random_uuid: randomUUID(), item: (item ?? null) as Json, owner_sqid: ctx.rest?.owner.sqid ?? null },
    saved,
    mapPost: (id) => mapPostId(id, ctx.map),
  };
}

async function runSend(ctx: ServerContext, rec: CaseRecorder, step: SendStep, scope: TemplateScope, saved: Map<string, JsonObject>): Promise<void> {
  const built = buildRequest(step.send, scope, ctx);
  const e = step.expect;
  const expect: Expectation | undefined = e
    ? {
        success: e.success ?? (e.error_code !== undefined ? false : undefined),
        errorCode: e.error_code,
        sameAs: e.same_as ? { label: e.same_as, payload: saved.get(e.same_as) } : undefined,
      }
    : built.paired;
  const r = await exchange(ctx, rec, { text: built.text, topicRequestId: built.topicRequestId, requestType: built.requestType, expect });
  if (step.save) {
    if (r.raw === undefined) throw new StopCase();
    saved.set(step.save, r.raw as JsonObject);
  }
}

async function runPaginate(ctx: ServerContext, rec: CaseRecorder, step: PaginateStep, scope: TemplateScope): Promise<void> {
  const p = step.paginate;
  const ref = buildRequest(p.reference, scope, ctx);
  const refAnswer = await exchange(ctx, rec, { ...ref, expect: { success: true }, stopOnMissing: true });
  const refItems = (getPointer(refAnswer.answer as Json, p.items) ?? []) as JsonObject[];
  const refKeys = refItems.map((i) => i[p.key]);
  if (p.min_items && refKeys.length < p.min_items) {
    throw new SkipCase(`the target has ${refKeys.length} item(s) at ${p.items} of the reference page; the walk needs ${p.min_items}`);
  }
  const refComplete = refAnswer.answer?.has_more === false;
  const seen = new Map<string, number>();
  const walk: Json[] = [];
  let cursor: Json | undefined;
  for (let page = 1; page <= 200; page++) {
    rec.throwIfClosed();
    const pageScope = { ...scope, vars: { ...scope.vars, request_id: newRequestId() } };
    const req = buildRequest(p.first, pageScope, ctx);
    if (page > 1) {
      const payload = JSON.parse(req.text) as JsonObject;
      payload.cursor = cursor as Json;
      req.text = JSON.stringify(payload);
    }
    const r: ExchangeResult = await exchange(ctx, rec, { ...req, expect: { success: true }, stopOnMissing: true });
    const items = (getPointer(r.answer as Json, p.items) ?? []) as JsonObject[];
    items.forEach((item, i) => {
      const k = JSON.stringify(item[p.key]);
      const earlier = seen.get(k);
      if (earlier !== undefined) {
        rec.mismatch({ topic: r.responseTopic, pointer: `${p.items}/${i}/${p.key}`, expected: 'an item not listed on an earlier page', got: `${k}, already on page ${earlier}` });
      }
      seen.set(k, page);
      walk.push(item[p.key]);
    });
    if (page === 1 && p.add_post_between_pages) await addPost(ctx);
    const hasMore = r.answer?.has_more;
    const next = r.answer?.next_cursor;
    if (hasMore === true && typeof next !== 'string') {
      rec.mismatch({ topic: r.responseTopic, pointer: '/next_cursor', expected: 'a cursor, since has_more is true', got: describeValue(next) });
      throw new StopCase();
    }
    if (hasMore !== true) break;
    if (!refComplete && walk.length >= refKeys.length) break;
    cursor = next as Json;
  }
  const walkSet = new Set(walk.map((k) => JSON.stringify(k)));
  const missing = refKeys.filter((k) => !walkSet.has(JSON.stringify(k)));
  for (const k of missing.slice(0, 5)) {
    rec.mismatch({ topic: '', pointer: p.items, expected: `item ${p.key} ${describeValue(k)} (on the reference page) on some page`, got: 'it is on no page (a gap)' });
  }
  const refSet = new Set(refKeys.map((k) => JSON.stringify(k)));
  const extra = refComplete ? walk.filter((k) => !refSet.has(JSON.stringify(k))) : [];
  for (const k of extra.slice(0, 5)) {
    rec.mismatch({ topic: '', pointer: p.items, expected: `only the items of the reference page${p.add_post_between_pages ? ' (a post added after the first page must not appear on later pages)' : ''}`, got: `item ${p.key} ${describeValue(k)}` });
  }
  if (!missing.length && !extra.length) {
    const order = walk.filter((k) => refSet.has(JSON.stringify(k)));
    const i = order.findIndex((k, idx) => JSON.stringify(k) !== JSON.stringify(refKeys[idx]));
    if (i >= 0) rec.mismatch({ topic: '', pointer: `${p.items}/${i}`, expected: `the reference order (${p.key} ${describeValue(refKeys[i])} at position ${i})`, got: describeValue(order[i]) });
  }
}

async function addPost(ctx: ServerContext): Promise<void> {
  const rest = ctx.rest!;
  const ex = [...exampleWorld().posts.values()][0];
  const body = { title: String(ex.title), art_url: String(ex.art_url), canvas: String(ex.canvas), width: Number(ex.width), height: Number(ex.height) };
  const post = expectStatus('createPost (between pages)', await rest.api.createPost({ body }, { token: rest.owner.token }), 201);
  rest.posts.set(post.post_id, post);
}

async function runSteps(ctx: ServerContext, rec: CaseRecorder, steps: readonly Step[], saved: Map<string, JsonObject>, otherKey: string): Promise<void> {
  for (const step of steps) {
    const items = step.each ?? [undefined];
    for (const item of items) {
      rec.throwIfClosed();
      const scope = scopeFor(ctx, saved, otherKey, item);
      if ('send' in step) await runSend(ctx, rec, step, scope, saved);
      else if ('paginate' in step) await runPaginate(ctx, rec, step, scope);
    }
  }
}

export function yamlServerCases(files: readonly LoadedCaseFile[]): CaseDef<ServerContext>[] {
  const out: CaseDef<ServerContext>[] = [];
  for (const f of files) {
    if (f.data.mode !== 'server') continue;
    for (const c of f.data.cases ?? []) out.push(fromSpec(f, c));
  }
  return out;
}

function fromSpec(f: LoadedCaseFile, c: CaseSpec): CaseDef<ServerContext> {
  const needsRest = [...c.steps, ...(c.cleanup ?? [])].some((s) => 'paginate' in s && s.paginate.add_post_between_pages);
  const features = ['mqtt', ...(c.features ?? [])];
  if (needsRest && !features.includes('rest')) features.push('rest');
  return {
    name: `${f.data.suite}/${c.name}`,
    features,
    source: f.file,
    summary: c.summary,
    run: async (ctx, rec) => {
      const saved = new Map<string, JsonObject>();
      const otherKey = randomUUID();
      try {
        await runSteps(ctx, rec, c.steps, saved, otherKey);
      } finally {
        if (c.cleanup) await runSteps(ctx, rec, c.cleanup, saved, otherKey).catch((err: unknown) => {
          if (!(err instanceof StopCase)) throw err;
        });
      }
    },
  };
}

