// The fuzz run, shared by the test (fuzz.test.ts, a fixed seed and counts in `make test`) and
// `make fuzz` (cli.ts, counts and seed as options): schema-derived MQTT requests of every request
// type and REST calls of every operation (bodies and path parameters), mutated from the spec's own
// examples. The server must never crash, never answer 5xx (nor MQTT internal_error), every answer
// must match the spec (the operation's reply schema, the route's documented status and its body
// schema), and it must still serve a good request afterwards.
import { compileValidator, type Validator } from '#runtime/v1';
import { playerRequestTopic, PlayerResponseMessageValidator } from '@makapix/contract/asyncapi/channels';
import { messageCatalog, requestCatalog, requestTypes } from '@makapix/contract/asyncapi/catalog';
import { requestQueryPosts } from '@makapix/contract/asyncapi/operations';
import { restExamples } from '@makapix/contract/openapi/examples';
import { routes } from '@makapix/contract/openapi/routes';
import { registerUser, uniqueHandle, type Stack } from '../support/stack.js';
import { rid, type TestConnection } from '../mqtt/helpers.js';
import { Mutator } from './mutate.js';

export interface FuzzOptions {
  seed: number;
  mqttCases: number;
  restCases: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** A newly connected player, for the good request after the run. */
  freshPlayer: () => Promise<TestConnection>;
}

export interface FuzzReport {
  mqtt: { sent: number; answered: number; outcomes: Record<string, number> };
  rest: { sent: number; statuses: Record<string, number> };
  /** Every broken rule, one line each (empty when the server held). */
  problems: string[];
  /** The good requests after the run were served. */
  healthyAfter: boolean;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Runs `n` jobs with at most `width` in flight. */
async function pool(n: number, width: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await job(next++);
  }));
}

const count = (m: Record<string, number>, k: string) => void (m[k] = (m[k] ?? 0) + 1);

export async function runFuzz(stack: Stack, conn: TestConnection, ownerToken: string, ids: { postIds: number[]; sqid: string; playerId: string }, opts: FuzzOptions): Promise<FuzzReport> {
  const m = new Mutator(opts.seed);
  const width = opts.concurrency ?? 16;
  const report: FuzzReport = { mqtt: { sent: 0, answered: 0, outcomes: {} }, rest: { sent: 0, statuses: {} }, problems: [], healthyAfter: false };
  const key = conn.player.player_key;

  // ---- MQTT: every request type, in turn ----
  const bases = requestTypes.map((t) => messageCatalog[requestCatalog[t].request].examples.map((e) => e.payload as unknown as Json));
  await pool(opts.mqttCases, width, async (i) => {
    const topicId = rid();
    let payload: Buffer | string;
    const roll = m.int(10);
    if (roll === 0) payload = m.garbage();
    else {
      const base = m.pick(bases[i % bases.length]!) as { [k: string]: Json };
      const v = { ...base, player_key: key, request_id: topicId, ...(typeof base.post_id === 'number' ? { post_id: m.pick(ids.postIds) } : {}) };
      const mutated = roll === 1 ? v : m.mutate(v);
      // mostly keep the envelope right, so the mutation reaches the handler
      if (mutated !== null && typeof mutated === 'object' && !Array.isArray(mutated) && roll < 8) {
        mutated.player_key = key;
        mutated.request_id = topicId;
      }
      payload = JSON.stringify(mutated);
    }
    report.mqtt.sent++;
    await conn.client.publishAsync(playerRequestTopic.format({ player_key: key, request_id: topicId }), payload, { qos: 1 });
    let body: Record<string, unknown>;
    try {
      body = (await conn.responses.wait(topicId, 1, 15_000))[0]!.body;
    } catch {
      report.problems.push(`mqtt: no answer to ${topicId} (${String(payload).slice(0, 120)})`);
      return;
    }
    report.mqtt.answered++;
    const outcome = body.success === true ? 'success' : String(body.error_code);
    count(report.mqtt.outcomes, outcome);
    if (!PlayerResponseMessageValidator.check(body)) report.problems.push(`mqtt: answer off the spec: ${PlayerResponseMessageValidator.explain(body)} for ${String(payload).slice(0, 120)}`);
    if (outcome === 'internal_error') report.problems.push(`mqtt: internal_error for ${String(payload).slice(0, 200)}`);
  });

  // ---- REST: every operation, in turn (the ones that change the fuzz player's world last) ----
  const ops = Object.values(routes).sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));
  const validators = new Map<string, Validator<unknown>>();
  const responseValidator = (op: string, status: number, schema: unknown): Validator<unknown> => {
    const k = `${op}|${status}`;
    if (!validators.has(k)) validators.set(k, compileValidator(schema as never));
    return validators.get(k)!;
  };
  const paramValue = (name: string): Json => {
    if (m.int(3) > 0) {
      if (name === 'post_id') return m.pick(ids.postIds);
      if (name === 'sqid') return ids.sqid;
      if (name === 'player_id') return ids.playerId;
      if (name === 'player_key') return key;
    }
    return m.mutate(m.pick([1, 'x', ids.sqid, ids.playerId]));
  };
  // Operations that end every token of their caller (REST 1.2) are fuzzed with a user of their
  // own: with the owner's token they would end it, and every later call would only meet a 401.
  const sessionEnding = new Set(['authLogoutAll', 'authChangePassword']);
  const throwaway = (await registerUser(stack.api, uniqueHandle('fuzzend'))).token;
  await pool(opts.restCases, width, async (i) => {
    const route = ops[i % ops.length]!;
    const token = sessionEnding.has(route.operationId) ? throwaway : ownerToken;
    const encode = (v: string): string => {
      try {
        return encodeURIComponent(v);
      } catch {
        return '%ed%a0%80'; // a lone surrogate, as the bytes a client would send
      }
    };
    const url = route.url.replace(/\{(\w+)\}/g, (_, name: string) => encode(String(paramValue(name))));
    const headers: Record<string, string> = {};
    const auth = m.int(10);
    if (auth < 7) headers.authorization = `Bearer ${token}`;
    else if (auth === 7) headers.authorization = `Bearer ${m.pick(['x', token.slice(0, -2) + 'AA', ''])}`;
    let body: string | Buffer | undefined;
    if ('body' in route.schema) {
      const examples = Object.values((restExamples as Record<string, { request?: Record<string, Json> }>)[route.operationId]?.request ?? {});
      const base: Json = examples.length ? m.pick(examples) : {};
      const roll = m.int(10);
      if (roll === 0) {
        body = m.garbage();
        headers['content-type'] = m.pick(['application/json', 'text/plain', 'application/json; charset=utf-16']);
      } else {
        body = JSON.stringify(roll === 1 ? base : m.mutate(base));
        headers['content-type'] = 'application/json';
      }
    }
    report.rest.sent++;
    let res: Response;
    try {
      res = await fetch(`${stack.server.url}${url}`, { method: route.method, headers, body });
    } catch (err) {
      report.problems.push(`rest: ${route.method} ${url}: no answer (${String(err)})`);
      return;
    }
    count(report.rest.statuses, String(res.status));
    const text = await res.text();
    const what = `${route.operationId} ${route.method} ${url.slice(0, 120)} -> ${res.status}`;
    const documented = (route.schema.response as Record<number, unknown>)[res.status];
    // a documented 503 (readiness, an unconfirmed revocation) is an answer; 500 never is
    if (res.status === 500 || (res.status > 500 && documented === undefined)) report.problems.push(`rest: ${what}: ${text.slice(0, 200)}`);
    if (documented === undefined && res.status !== 404) {
      report.problems.push(`rest: ${what}: status not documented`);
      return;
    }
    if (documented === null || documented === undefined) return;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      report.problems.push(`rest: ${what}: body is not JSON: ${text.slice(0, 100)}`);
      return;
    }
    const v = responseValidator(route.operationId, res.status, documented);
    if (!v.check(json)) report.problems.push(`rest: ${what}: body off the spec: ${v.explain(json)}`);
  });

  // ---- still serving (a new player: the fuzzed REST calls may have deleted the first one) ----
  const after = await opts.freshPlayer();
  const good = await requestQueryPosts(after.requester, { request_id: rid(), request_type: 'query_posts', player_key: after.player.player_key }).catch(() => null);
  await after.close();
  const health = await fetch(`${stack.server.url}/healthz`).then((r) => r.status).catch(() => 0);
  report.healthyAfter = good?.success === true && health === 200;
  return report;
}
