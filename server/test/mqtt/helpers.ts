// Helpers of the MQTT tests: a connected test player (mTLS, generated Requester) that can also
// publish raw bytes on its request topic and collect every response, and small waiting utilities.
import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { MessageRouter, Requester } from '#runtime/v1';
import { playerRequestTopic, playerResponseTopic } from '@makapix/contract/asyncapi/channels';
import { connectPlayer, provisionPlayer, type Stack, type TestPlayer, type TestUser } from '../support/stack.js';

let counter = 0;
/** A fresh request id (32 hex characters, as the firmware makes them). */
export function rid(): string {
  counter += 1;
  return randomBytes(12).toString('hex') + counter.toString(16).padStart(8, '0');
}

export interface Response {
  topic: string;
  requestId: string;
  body: Record<string, unknown>;
  /** Size of the payload in bytes. */
  bytes: number;
}

/** Collects the responses arriving on `makapix/player/{key}/response/#` of a client. */
export class ResponseLog {
  readonly all: Response[] = [];
  private waiters: { requestId: string; count: number; resolve: () => void }[] = [];

  onMessage(topic: string, bytes: Buffer): void {
    const params = playerResponseTopic.parse(topic);
    if (!params) return;
    this.all.push({ topic, requestId: params.request_id, body: JSON.parse(bytes.toString('utf8')) as Record<string, unknown>, bytes: bytes.length });
    for (const w of [...this.waiters]) {
      if (this.of(w.requestId).length >= w.count) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  of(requestId: string): Response[] {
    return this.all.filter((r) => r.requestId === requestId);
  }

  /** Waits until `count` responses to `requestId` arrived (rejects after timeoutMs). */
  async wait(requestId: string, count = 1, timeoutMs = 10_000): Promise<Response[]> {
    if (this.of(requestId).length < count) {
      await new Promise<void>((resolve, reject) => {
        const w = { requestId, count, resolve: () => (clearTimeout(t), resolve()) };
        const t = setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          reject(new Error(`expected ${count} response(s) to ${requestId} within ${timeoutMs} ms, got ${this.of(requestId).length}`));
        }, timeoutMs);
        this.waiters.push(w);
      });
    }
    return this.of(requestId);
  }
}

export interface TestConnection {
  player: TestPlayer;
  client: MqttClient;
  router: MessageRouter;
  requester: Requester;
  responses: ResponseLog;
  /** Publishes raw bytes (or JSON of a value) on request topic `topicRequestId`; resolves with the first response body. */
  raw(topicRequestId: string, payload: string | Buffer | object): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Wires a connected client as player `playerKey`: response log, raw requests, generated Requester. */
export async function wirePlayer(client: MqttClient, player: TestPlayer | { player_key: string }): Promise<Omit<TestConnection, 'player'>> {
  // Without this each QoS 1 exchange of the test client waits for delayed TCP ACKs (~40 ms).
  (client.stream as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  const router = new MessageRouter(client);
  const responses = new ResponseLog();
  await router.subscribeRaw(playerResponseTopic.filterRest({ player_key: player.player_key }), (t, b) => responses.onMessage(t, b), { qos: 1 });
  const requester = new Requester(client, router, player.player_key, { timeoutMs: 10_000, responseTopic: playerResponseTopic });
  await requester.start();
  const raw = async (topicRequestId: string, payload: string | Buffer | object) => {
    const bytes = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
    const topic = playerRequestTopic.format({ player_key: player.player_key, request_id: topicRequestId });
    await client.publishAsync(topic, bytes, { qos: 1 });
    const [first] = await responses.wait(topicRequestId);
    return first!.body;
  };
  return {
    client, router, requester, responses, raw,
    async close() {
      await requester.close();
      await router.close();
      await client.endAsync(true);
    },
  };
}

/** provision -> register (owner) -> credentials -> mTLS connect, wired for requests. */
export async function connectTestPlayer(stack: Stack, owner: TestUser): Promise<TestConnection> {
  const player = await provisionPlayer(stack.api, owner);
  const client = await connectPlayer(stack, player);
  return { player, ...(await wirePlayer(client, player)) };
}

/** Polls `probe` until it returns a truthy value (bounded). */
export async function eventually<T>(probe: () => Promise<T>, timeoutMs = 5_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms (last value ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
