// The player side of a server run: one mTLS connection with the player's certificate, subscribed
// (before anything is sent) to the player's response topics and command topic. Every inbound
// message is kept with a sequence number, so an exchange can wait for what arrived after it began.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { MessageRouter, type InboundError } from '#runtime/v1';
import { playerCommandTopic, playerResponseTopic } from '@makapix/contract/asyncapi/channels';
import { limits } from '@makapix/contract/asyncapi/limits';
import { closeClient } from '../run/close-client.js';
import { waitForFind } from '../run/wait.js';

export interface Inbound {
  seq: number;
  at: number;
  topic: string;
  bytes: Buffer;
  /** Set when the router refused the message before any handler (e.g. over limits.maxPayloadBytes). */
  refused?: string;
}

export interface PlayerSessionOptions {
  brokerUrl: string;
  playerKey: string;
  ca?: string;
  cert: string;
  key: string;
  protocolVersion: 4 | 5;
  connectTimeoutMs: number;
  log?: (line: string) => void;
}

export interface WillSpec {
  topic: string;
  payload: string;
}

export class PlayerSession {
  private client: MqttClient | undefined;
  private router: MessageRouter | undefined;
  private seq = 0;
  private readonly inbound: Inbound[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(readonly opts: PlayerSessionOptions) {}

  get playerKey(): string {
    return this.opts.playerKey;
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  async connect(will?: WillSpec): Promise<void> {
    if (this.client) await this.close();
    const o = this.opts;
    const options: IClientOptions = {
      protocolVersion: o.protocolVersion,
      clientId: `p3a-${o.playerKey}`,
      cert: o.cert,
      key: o.key,
      rejectUnauthorized: true,
      reconnectPeriod: 0,
      connectTimeout: o.connectTimeoutMs,
      keepalive: 60,
      clean: true,
    };
    if (o.ca) options.ca = o.ca;
    if (will) options.will = { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: false };
    const client = await mqtt.connectAsync(o.brokerUrl, options);
    client.on('error', (err) => o.log?.(`mqtt error: ${err.message}`));
    const router = new MessageRouter(client, { maxPayloadBytes: limits.maxPayloadBytes, onError: (e) => this.onRefused(e) });
    this.client = client;
    this.router = router;
    const keep = (topic: string, bytes: Buffer) => this.push({ topic, bytes });
    await router.subscribeRaw(playerResponseTopic.filterRest({ player_key: o.playerKey }), keep, { qos: 1, onError: (e) => this.onRefused(e) });
    await router.subscribeRaw(playerCommandTopic.format({ player_key: o.playerKey }), keep, { qos: 1, onError: (e) => this.onRefused(e) });
  }

  /** The sequence number the next inbound message will get. */
  mark(): number {
    return this.seq;
  }

  async publish(topic: string, payload: string): Promise<void> {
    if (!this.client?.connected) await this.connect();
    this.opts.log?.(`> ${topic} ${payload}`);
    await this.client!.publishAsync(topic, payload, { qos: 1, retain: false });
  }

  /** The first message after `from` that satisfies `pred`, or undefined after `timeoutMs`. */
  waitFor(pred: (m: Inbound) => boolean, from: number, timeoutMs: number): Promise<Inbound | undefined> {
    return waitForFind(() => this.inbound.find((m) => m.seq >= from && pred(m)), this.waiters, Date.now() + timeoutMs);
  }

  /** Every message after `from` that satisfies `pred`. */
  since(from: number, pred: (m: Inbound) => boolean = () => true): Inbound[] {
    return this.inbound.filter((m) => m.seq >= from && pred(m));
  }

  /** Ends the connection without DISCONNECT, so the broker publishes the will. */
  async drop(): Promise<void> {
    const c = this.client;
    if (!c) return;
    this.client = undefined;
    await this.router?.close().catch(() => undefined);
    this.router = undefined;
    await new Promise<void>((resolve) => {
      c.once('close', () => resolve());
      c.stream.destroy();
      setTimeout(resolve, 2000).unref();
    });
    await closeClient(c);
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await this.router?.close().catch(() => undefined);
    this.router = undefined;
    if (c) await closeClient(c);
  }

  private push(m: { topic: string; bytes: Buffer; refused?: string }): void {
    const entry: Inbound = { seq: this.seq++, at: Date.now(), ...m };
    this.inbound.push(entry);
    if (this.inbound.length > 5000) this.inbound.splice(0, 1000);
    this.opts.log?.(`< ${m.topic} ${m.refused ? `(${m.refused})` : m.bytes.toString('utf8').slice(0, 2000)}`);
    for (const w of [...this.waiters]) w();
  }

  private onRefused(e: InboundError): void {
    this.push({ topic: e.topic, bytes: Buffer.alloc(0), refused: e.message });
  }
}
