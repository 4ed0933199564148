// The Prometheus metrics, scraped over HTTP from a real server (real broker and database): MQTT
// requests counted by type and outcome with their latency histogram, REST requests by the spec's
// route template, status, drops, notifications, the scrape-time gauges, Node's process metrics,
// and no identifier in any label. METRICS_PORT=0 turns the metrics off.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { playerRequestTopic } from '@makapix/contract/asyncapi/channels';
import { messageExamples } from '@makapix/contract/asyncapi/examples';
import { publishPlayerStatus, requestQueryPosts } from '@makapix/contract/asyncapi/operations';
import { routes } from '@makapix/contract/openapi/routes';
import { OUTCOMES, REQUEST_TYPES, DROP_REASONS, NOTIFICATION_CHANNELS } from '../../src/metrics/index.js';
import { createPost, createUser, type FixtureUser } from '../support/fixtures.js';
import { parseExposition, samples, total, type Exposition } from '../support/prometheus-text.js';
import { connectInternal, startStack, type Stack } from '../support/stack.js';
import { connectTestPlayer, eventually, rid, type TestConnection } from '../mqtt/helpers.js';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

let stack: Stack;
let owner: FixtureUser;
let c: TestConnection;
let internal: MqttClient | null = null;

beforeAll(async () => {
  stack = await startStack();
  owner = await createUser(stack);
  c = await connectTestPlayer(stack, owner);
});

afterAll(async () => {
  await c?.close();
  await internal?.endAsync(true);
  await stack?.stop();
});

async function scrape(): Promise<Exposition> {
  const r = await fetch(stack.server.metricsUrl!);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await r.text());
}

/** Scrapes until `ok` holds (the histogram is observed on PUBACK, a REST request after its response is sent). */
async function scrapeUntil(ok: (e: Exposition) => boolean, timeoutMs = 10_000): Promise<Exposition> {
  let last: Exposition | null = null;
  await eventually(async () => ok((last = await scrape())), timeoutMs, 50);
  return last!;
}

describe('GET /metrics', () => {
  it('counts a query_posts, failed requests and REST calls with their labels, and fills the histogram buckets', async () => {
    const post = await createPost(stack.server.ctx.sql, owner.id);
    const before = await scrape();
    const d = (e: Exposition, name: string, labels: Record<string, string>) => total(e, name, labels) - total(before, name, labels);

    const ok = await requestQueryPosts(c.requester, { request_id: rid(), request_type: 'query_posts', player_key: c.player.player_key, limit: 1 });
    expect(ok.success).toBe(true);
    const unknownId = rid();
    expect(await c.raw(unknownId, { request_id: unknownId, request_type: 'make_coffee', player_key: c.player.player_key }))
      .toMatchObject({ success: false, error_code: 'unknown_request_type' });
    const missingId = rid();
    expect(await c.raw(missingId, { request_id: missingId, request_type: 'get_comments', player_key: c.player.player_key, post_id: 2_000_000_000 }))
      .toMatchObject({ success: false, error_code: 'not_found' });
    expect((await stack.api.getPost({ params: { post_id: post.post_id } })).status).toBe(200);
    expect((await fetch(`${stack.server.url}/no/such/route`)).status).toBe(404);
    expect((await stack.api.getPlayerCredentials({ params: { player_key: c.player.player_key } })).status).toBe(200);

    const q = { request_type: 'query_posts' };
    const getPost = { route: '/post/{post_id}', method: 'GET' };
    const after = await scrapeUntil((e) =>
      d(e, 'makapix_mqtt_request_duration_seconds_count', q) >= 1
      && d(e, 'makapix_mqtt_request_duration_seconds_count', { request_type: 'get_comments' }) >= 1
      && d(e, 'makapix_mqtt_request_duration_seconds_count', { request_type: 'unknown' }) >= 1
      && d(e, 'makapix_http_request_duration_seconds_count', getPost) >= 1
      && d(e, 'makapix_http_requests_total', { route: '/player/{player_key}/credentials' }) >= 1);

    // MQTT: counter by type and outcome
    expect(d(after, 'makapix_mqtt_requests_total', { ...q, outcome: 'success' })).toBe(1);
    expect(d(after, 'makapix_mqtt_requests_total', { request_type: 'unknown', outcome: 'unknown_request_type' })).toBe(1);
    expect(d(after, 'makapix_mqtt_requests_total', { request_type: 'get_comments', outcome: 'not_found' })).toBe(1);
    expect(d(after, 'makapix_mqtt_requests_total', {})).toBe(3);
    // MQTT: histogram (cumulative buckets, +Inf = count, a positive sum)
    expect(after.types.get('makapix_mqtt_request_duration_seconds')).toBe('histogram');
    expect(d(after, 'makapix_mqtt_request_duration_seconds_count', q)).toBe(1);
    expect(d(after, 'makapix_mqtt_request_duration_seconds_bucket', { ...q, le: '+Inf' })).toBe(1);
    expect(d(after, 'makapix_mqtt_request_duration_seconds_bucket', { ...q, le: '10' })).toBe(1);
    expect(d(after, 'makapix_mqtt_request_duration_seconds_sum', q)).toBeGreaterThan(0);
    const buckets = samples(after, 'makapix_mqtt_request_duration_seconds_bucket', q);
    expect(buckets.length).toBeGreaterThan(5);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);

    // REST: route = the spec's path template, unmatched for no route
    expect(after.types.get('makapix_http_requests_total')).toBe('counter');
    expect(d(after, 'makapix_http_requests_total', { ...getPost, status: '200' })).toBe(1);
    expect(d(after, 'makapix_http_request_duration_seconds_bucket', { ...getPost, le: '+Inf' })).toBe(1);
    expect(d(after, 'makapix_http_request_duration_seconds_sum', getPost)).toBeGreaterThan(0);
    expect(d(after, 'makapix_http_requests_total', { route: '/player/{player_key}/credentials', method: 'GET', status: '200' })).toBe(1);
    await scrapeUntil((e) => d(e, 'makapix_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' }) === 1);
  });

  it('counts status messages, drops and notifications, and reads the gauges and the process metrics', async () => {
    const before = await scrape();
    const d = (e: Exposition, name: string, labels: Record<string, string> = {}) => total(e, name, labels) - total(before, name, labels);
    await publishPlayerStatus(c.client, { player_key: c.player.player_key },
      { ...messageExamples.PlayerStatus.heartbeat, player_key: c.player.player_key, current_post_id: null });
    internal = await connectInternal(stack);
    await internal.publishAsync(playerRequestTopic.address.replace('{player_key}', 'not-a-key').replace('{request_id}', 'r1'), '{}', { qos: 1 });
    const created = await stack.api.createPost(
      { body: { title: 'Metrics', art_url: 'https://example.test/m.png', canvas: '64x64', width: 64, height: 64 } }, { token: owner.token });
    expect(created.status).toBe(201);

    const after = await scrapeUntil((e) =>
      d(e, 'makapix_status_messages_total') >= 1
      && total(e, 'makapix_players_online') >= 1
      && d(e, 'makapix_mqtt_dropped_total', { reason: 'topic' }) >= 1
      && d(e, 'makapix_notifications_published_total', { channel: 'postNew' }) >= 1
      && total(e, 'makapix_broker_connected', { connection: 'dynsec_admin' }) === 1);
    expect(d(after, 'makapix_status_messages_total')).toBe(1);
    expect(d(after, 'makapix_mqtt_dropped_total', { reason: 'topic' })).toBe(1);
    expect(d(after, 'makapix_notifications_published_total', { channel: 'postNew' })).toBe(1);
    for (const [name, type] of [
      ['makapix_players_online', 'gauge'], ['makapix_outbox_pending', 'gauge'], ['makapix_db_pool_in_use', 'gauge'],
      ['makapix_db_pool_max', 'gauge'], ['makapix_broker_connected', 'gauge'], ['makapix_status_messages_total', 'counter'],
    ] as const) {
      expect(after.types.get(name), name).toBe(type);
    }
    expect(total(after, 'makapix_broker_connected', { connection: 'internal' })).toBe(1);
    expect(total(after, 'makapix_db_pool_max')).toBe(Number(stack.env.DATABASE_POOL_MAX));
    for (const name of ['makapix_outbox_pending', 'makapix_db_pool_in_use']) {
      const [s] = samples(after, name);
      expect(Number.isInteger(s!.value) && s!.value >= 0, `${name} = ${s!.value}`).toBe(true);
    }
    // Node's default metrics
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(samples(after, name).length, name).toBeGreaterThan(0);
    }
  });

  it('puts no identifier in a label: every label value comes from a closed list', async () => {
    // a REST path with a player_key in it, and an unknown one with a UUID
    await stack.api.getPlayerCredentials({ params: { player_key: c.player.player_key } });
    expect((await fetch(`${stack.server.url}/player/${crypto.randomUUID()}/nothing`)).status).toBe(404);
    const e = await scrapeUntil((x) => total(x, 'makapix_http_requests_total', { route: 'unmatched' }) >= 2);
    const identifiers = [c.player.player_key, c.player.id, owner.user_id, owner.sqid, owner.handle];
    const closed: Record<string, Set<string>> = {
      request_type: new Set([...REQUEST_TYPES, 'unknown']),
      outcome: new Set([...OUTCOMES, 'other']),
      route: new Set([...Object.values(routes).map((r) => r.url), 'unmatched']),
      reason: new Set([...DROP_REASONS, 'other']),
      channel: new Set(NOTIFICATION_CHANNELS),
      connection: new Set(['internal', 'dynsec_admin']),
      result: new Set(['applied', 'ignored', 'failed']),
      kind: new Set(['retry', 'parked']),
    };
    let checked = 0;
    for (const s of e.samples) {
      for (const [label, value] of Object.entries(s.labels)) {
        expect(value, `${s.name} ${label}`).not.toMatch(UUID);
        for (const id of identifiers) expect(value, `${s.name} ${label}`).not.toBe(id);
        if (s.name.startsWith('makapix_') && label in closed) {
          expect(closed[label]!.has(value), `${s.name}{${label}="${value}"}`).toBe(true);
          checked++;
        }
      }
      if (s.name.startsWith('makapix_http_')) {
        expect(s.labels.method).toMatch(/^[A-Z]+$/);
        if (s.labels.status !== undefined) expect(s.labels.status).toMatch(/^[1-5][0-9][0-9]$/);
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('answers only GET/HEAD /metrics', async () => {
    const base = stack.server.metricsUrl!.replace(/\/metrics$/, '');
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${base}/metrics`, { method: 'HEAD' })).status).toBe(200);
  });
});

describe('METRICS_PORT=0', () => {
  it('turns the metrics off: no listener, nothing kept', async () => {
    const s = await stack.addServer({ METRICS_PORT: '0' }, { workers: false });
    expect(s.metricsUrl).toBeNull();
    expect(s.ctx.metrics.enabled).toBe(false);
    expect(await s.ctx.metrics.exposition()).toBe('');
  });
});
