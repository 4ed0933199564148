// Player mode: the suite plays the server. With the server's broker account it watches the
// player's status and request topics, answers every request at once with the spec's example
// answer (request_id substituted), and notes the PUBACK reason code of each answer.
//
// "It subscribes to its response topic before it requests": the answer is published the moment
// the request arrives, QoS 1, not retained. An MQTT 5 broker acknowledges a publish that matched
// no subscription with reason code 0x10 (No matching subscribers; Mosquitto, EMQX, HiveMQ do), so
// a 0x10 on an answer means the player was not subscribed when it requested (the answer is lost).
// calibrate() first publishes to the response topic of a random, unknown player: if that is not
// acknowledged with 0x10, the broker does not report it (or someone subscribes to everyone's
// responses) and the check is skipped (feature broker_reports_no_subscribers is absent).
import { randomUUID } from 'node:crypto';
import type { MqttClient, Packet } from 'mqtt';
import { MessageRouter } from '#runtime/v1';
import { PlayerRequestMessageValidator, playerRequestTopic, playerResponseTopic, PlayerStatusValidator, playerStatusTopic, playerCommandTopic } from '@makapix/contract/asyncapi/channels';
import { limits } from '@makapix/contract/asyncapi/limits';
import { errorAnswerWithCode, successAnswerOf, type JsonObject } from '../examples/catalog.js';
import type { Mismatch } from '../model/case.js';
import { describeValue, expectationOf, valueAt } from '../model/describe.js';
import { rejectAfter, waitForFind } from '../run/wait.js';

export const RC_NO_MATCHING_SUBSCRIBERS = 0x10;

export interface ObservedStatus {
  seq: number;
  at: number;
  topic: string;
  text: string;
  payload?: JsonObject;
  problems: Mismatch[];
}

export interface ObservedRequest {
  at: number;
  topic: string;
  text: string;
  requestType?: string;
  problems: Mismatch[];
  /** The PUBACK reason code of the suite's answer (undefined before it came back). */
  answerRc?: number;
  answerTopic?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class PlayerObserver {
  readonly statuses: ObservedStatus[] = [];
  readonly requests: ObservedRequest[] = [];
  private readonly router: MessageRouter;
  private readonly pubacks = new Map<number, number>();
  private readonly waiters = new Set<() => void>();
  private seq = 0;
  /** Whether the broker acknowledges an unmatched publish with 0x10 (set by calibrate()). */
  brokerReportsNoSubscribers = false;

  constructor(
    private readonly client: MqttClient,
    readonly playerKey: string,
    private readonly ackTimeoutMs: number,
    private readonly log?: (line: string) => void,
  ) {
    this.router = new MessageRouter(client, { maxPayloadBytes: limits.maxPayloadBytes, onError: (e) => log?.(`dropped ${e.topic}: ${e.message}`) });
    client.on('packetreceive', (p: Packet) => {
      if (p.cmd === 'puback' && p.messageId !== undefined) this.pubacks.set(p.messageId, (p as { reasonCode?: number }).reasonCode ?? 0);
    });
  }

  get statusTopic(): string {
    return playerStatusTopic.format({ player_key: this.playerKey });
  }

  get commandTopic(): string {
    return playerCommandTopic.format({ player_key: this.playerKey });
  }

  async start(): Promise<void> {
    await this.calibrate();
    await this.router.subscribeRaw(this.statusTopic, (topic, bytes) => this.onStatus(topic, bytes), { qos: 1 });
    await this.router.subscribeRaw(playerRequestTopic.filter({ player_key: this.playerKey }), (topic, bytes) => this.onRequest(topic, bytes), { qos: 1 });
  }

  async close(): Promise<void> {
    await this.router.close();
  }

  /** Publishes QoS 1 and resolves with the PUBACK reason code (0 on MQTT 3.1.1); rejects when no PUBACK comes within ackTimeoutMs. */
  async publish(topic: string, text: string): Promise<number> {
    this.log?.(`> ${topic} ${text}`);
    const packet = (await rejectAfter(this.client.publishAsync(topic, text, { qos: 1, retain: false }), this.ackTimeoutMs,
      () => `the broker did not acknowledge the publish on ${topic} within ${this.ackTimeoutMs} ms`)) as { messageId?: number } | undefined;
    const id = packet?.messageId;
    if (id === undefined) return 0;
    const rc = this.pubacks.get(id) ?? 0;
    this.pubacks.delete(id);
    return rc;
  }

  private async calibrate(): Promise<void> {
    if (this.client.options.protocolVersion !== 5) return;
    const topic = playerResponseTopic.format({ player_key: randomUUID(), request_id: 'makapix-conformance-calibration' });
    const answer = errorAnswerWithCode('authentication_failed')?.payload ?? { request_id: 'x', success: false, error: 'calibration', error_code: 'authentication_failed' };
    this.brokerReportsNoSubscribers = (await this.publish(topic, JSON.stringify({ ...answer, request_id: 'makapix-conformance-calibration' }))) === RC_NO_MATCHING_SUBSCRIBERS;
  }

  mark(): number {
    return this.seq;
  }

  /** Statuses from `from` on, waiting until one satisfies `pred` or `deadline` (epoch ms) passes. */
  waitStatus(from: number, pred: (s: ObservedStatus) => boolean, deadline: number): Promise<ObservedStatus | undefined> {
    return waitForFind(() => this.statuses.find((s) => s.seq >= from && pred(s)), this.waiters, deadline);
  }

  /** Resolves when at least `n` requests were seen, or at `deadline`. */
  async waitRequests(n: number, deadline: number): Promise<void> {
    await waitForFind(() => (this.requests.length >= n ? true : undefined), this.waiters, deadline);
    // Let answers that are on their way get their PUBACK.
    const end = Date.now() + 2000;
    while (this.requests.some((r) => r.answerTopic && r.answerRc === undefined) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  private onStatus(topic: string, bytes: Buffer): void {
    const text = bytes.toString('utf8');
    this.log?.(`< ${topic} ${text}`);
    const s: ObservedStatus = { seq: this.seq++, at: Date.now(), topic, text, problems: [] };
    const params = playerStatusTopic.parse(topic);
    let raw: unknown;
    try {
      raw = JSON.parse(utf8.decode(bytes));
    } catch (err) {
      s.problems.push({ topic, pointer: '', expected: 'UTF-8 JSON', got: `${describeValue(text, 80)} (${(err as Error).message})` });
    }
    if (raw !== undefined) {
      for (const i of PlayerStatusValidator.issues(raw)) s.problems.push({ topic, pointer: i.pointer, expected: expectationOf(i.message), got: describeValue(valueAt(raw, i.pointer)) });
      const key = (raw as Record<string, unknown> | null)?.player_key;
      if (params && key !== params.player_key) s.problems.push({ topic, pointer: '/player_key', expected: `${describeValue(params.player_key)} (the key of the topic)`, got: describeValue(key) });
      if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) s.payload = raw as JsonObject;
    }
    this.statuses.push(s);
    this.notify();
  }

  private onRequest(topic: string, bytes: Buffer): void {
    const text = bytes.toString('utf8');
    this.log?.(`< ${topic} ${text}`);
    const r: ObservedRequest = { at: Date.now(), topic, text, problems: [] };
    this.requests.push(r);
    const params = playerRequestTopic.parse(topic);
    if (!params) r.problems.push({ topic, pointer: '', expected: `a topic ${playerRequestTopic.address} with a valid request_id`, got: topic });
    let raw: unknown;
    try {
      raw = JSON.parse(utf8.decode(bytes));
    } catch (err) {
      r.problems.push({ topic, pointer: '', expected: 'UTF-8 JSON', got: `${describeValue(text, 80)} (${(err as Error).message})` });
    }
    const obj = (raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? raw : undefined) as Record<string, unknown> | undefined;
    if (raw !== undefined) {
      for (const i of PlayerRequestMessageValidator.issues(raw)) r.problems.push({ topic, pointer: i.pointer, expected: expectationOf(i.message), got: describeValue(valueAt(raw, i.pointer)) });
      if (params && obj?.player_key !== params.player_key) r.problems.push({ topic, pointer: '/player_key', expected: `${describeValue(params.player_key)} (the key of the topic)`, got: describeValue(obj?.player_key) });
      if (params && obj?.request_id !== params.request_id) r.problems.push({ topic, pointer: '/request_id', expected: `${describeValue(params.request_id)} (the last topic segment)`, got: describeValue(obj?.request_id) });
    }
    if (typeof obj?.request_type === 'string') r.requestType = obj.request_type;
    this.notify();
    if (!params) return;
    const answer = r.problems.length === 0 && r.requestType ? successAnswerOf(r.requestType) : errorAnswerWithCode('invalid_request');
    const payload = { ...(answer?.payload ?? {}), request_id: params.request_id };
    r.answerTopic = playerResponseTopic.format(params);
    this.publish(r.answerTopic, JSON.stringify(payload)).then(
      (rc) => {
        r.answerRc = rc;
      },
      (err: unknown) => this.log?.(`answer to ${topic} failed: ${(err as Error).message}`),
    );
  }
}
