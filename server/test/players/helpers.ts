// Test helpers for the player tests: status narrowing, MQTT outcomes (reason codes, closes,
// collected messages) and a post fixture written straight to the database.
import mqtt, { ErrorWithReasonCode, type MqttClient } from 'mqtt';
import { expect } from 'vitest';
import { restExamples } from '@makapix/contract/openapi/examples';
import type { Sql } from '../../src/db/index.js';

export { expectError, expectStatus } from '../support/assertions.js';

export interface Received {
  topic: string;
  payload: string;
}

/** Records every message a client receives; `next(pred)` waits (bounded) for a matching one. */
export function collect(c: MqttClient) {
  const messages: Received[] = [];
  const waiters: { pred: (m: Received) => boolean; resolve: (m: Received) => void }[] = [];
  c.on('message', (topic, payload) => {
    const m = { topic, payload: payload.toString() };
    messages.push(m);
    for (const w of [...waiters]) {
      if (w.pred(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  return {
    messages,
    next(pred: (m: Received) => boolean, timeoutMs = 5_000): Promise<Received> {
      const hit = messages.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          resolve: (m: Received) => {
            clearTimeout(t);
            resolve(m);
          },
        };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages)}`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
  };
}

/** Resolves when the connection closes (rejects after timeoutMs). Call before causing the close. */
export function closed(c: MqttClient, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    c.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

export { connectError, publishReason } from '../support/mqtt-results.js';

export function connectWeb(url: string, username: string, password: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 5, username, password, reconnectPeriod: 0, connectTimeout: 5_000 });
}

export async function endAll(clients: (MqttClient | undefined)[]): Promise<void> {
  await Promise.all(clients.map((c) => c?.endAsync(true).catch(() => {})));
}

export interface PostFixture {
  post_id: number;
  storage_key: string;
  art_url: string;
  canvas: string;
}

/**
 * A post of the user with internal id `ownerId`, from the spec's createPost example, written with
 * SQL (test-only) so these tests do not depend on the posts handlers.
 */
export async function insertPost(sql: Sql, ownerId: number, flags: { visible?: boolean; hiddenByMod?: boolean } = {}): Promise<PostFixture> {
  const ex = restExamples.createPost.request.cool_pixel_art;
  const [row] = await sql<PostFixture[]>`
    insert into posts (owner_id, title, art_url, canvas, width, height, visible, hidden_by_mod)
    values (${ownerId}, ${ex.title}, ${ex.art_url}, ${ex.canvas}, ${ex.width}, ${ex.height},
            ${flags.visible ?? true}, ${flags.hiddenByMod ?? false})
    returning post_id, storage_key, art_url, canvas`;
  return row!;
}

/** users.id of a user_id (test-only SQL). */
export async function internalId(sql: Sql, userId: string): Promise<number> {
  const [row] = await sql<{ id: number }[]>`select id from users where user_id = ${userId}`;
  return row!.id;
}
