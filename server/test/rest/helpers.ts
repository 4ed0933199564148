// Test helpers for the REST handler tests: status narrowing, outbox inspection, MQTT collection.
import type { MqttClient } from 'mqtt';
import { expect } from 'vitest';
import { restExamples } from '@makapix/contract/openapi/examples';
import type { CreatePostRequest } from '@makapix/contract/openapi/schemas';
import type { Client } from '@makapix/contract/openapi/client';
import type { Sql } from '../../src/db/index.js';
import type { TestUser } from '../support/stack.js';

import { expectStatus } from '../support/assertions.js';

export { expectError, expectStatus } from '../support/assertions.js';

/** A post body from the spec's example, optionally changed. */
export function postBody(overrides: Partial<CreatePostRequest> = {}): CreatePostRequest {
  return { ...restExamples.createPost.request.cool_pixel_art, ...overrides };
}

export async function createPostAs(api: Client, user: TestUser, overrides: Partial<CreatePostRequest> = {}) {
  const r = await api.createPost({ body: postBody(overrides) }, { token: user.token });
  return expectStatus(r, 201);
}

export interface OutboxRow {
  id: number;
  topic: string;
  payload: unknown;
}

/** Outbox rows (published or not) whose payload is about `postId`, oldest first. Test-only SQL. */
export async function outboxRowsForPost(sql: Sql, postId: number): Promise<OutboxRow[]> {
  return sql<OutboxRow[]>`
    select id, topic, payload from outbox where payload ->> 'post_id' = ${String(postId)} order by id`;
}

/**
 * Resolves once the post's follower fan-out jobs are finished (every follower's message published
 * by the stack's outbox publisher, after the request has answered). Test-only SQL.
 */
export async function fanoutDone(sql: Sql, postId: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await sql<{ n: number }[]>`select count(*) as n from outbox_fanout where post_id = ${postId} and done_at is null`;
    if (row!.n === 0) return;
    if (Date.now() > deadline) throw new Error(`the fan-out of post ${postId} is not finished after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface Received {
  topic: string;
  payload: unknown;
}

/** Subscribes `client` to `filter` and collects messages; `waitFor` resolves when a predicate holds. */
export async function collect(client: MqttClient, filter: string) {
  const messages: Received[] = [];
  const waiters: { pred: (m: Received[]) => boolean; resolve: () => void }[] = [];
  client.on('message', (topic, buf) => {
    let payload: unknown;
    try {
      payload = JSON.parse(buf.toString('utf8'));
    } catch {
      payload = buf.toString('utf8');
    }
    messages.push({ topic, payload });
    for (const w of [...waiters]) {
      if (w.pred(messages)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return {
    messages,
    /** Resolves once `pred(messages)` is true; rejects after `timeoutMs` with what arrived. */
    waitFor(pred: (m: Received[]) => boolean, timeoutMs = 10_000): Promise<void> {
      if (pred(messages)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const w = {
          pred,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`timed out after ${timeoutMs} ms; received: ${JSON.stringify(messages.map((m) => m.topic))}`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
  };
}
