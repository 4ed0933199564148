// The one client of Mosquitto's dynamic-security plugin, used by the server (web users' broker
// accounts) and by the dev tooling. Commands go to $CONTROL/dynamic-security/v1 as one JSON message,
// each tagged with correlationData; the plugin answers on .../response and the answers are matched
// to the request by that tag. With per_listener_settings the plugin accepts $CONTROL only from
// clients of its own listener (the WebSocket listener here), as the dynsec admin account. Each
// round trip takes about 100 ms there, so batch commands into one send().
// The connection is opened on first use (or by connect()) and reused; when it closes, the next
// send() opens a new one.
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';

export const DYNSEC_TOPIC = '$CONTROL/dynamic-security/v1';
export const DYNSEC_RESPONSE_TOPIC = `${DYNSEC_TOPIC}/response`;

export type DynsecCommand = { command: string } & Record<string, unknown>;

export interface DynsecResponse {
  command: string;
  /** Set when the plugin refused the command (e.g. "Client already exists"). */
  error?: string;
  data?: unknown;
  correlationData?: string;
}

export interface DynsecClientOptions {
  /** URL of the listener the plugin runs on (ws://host:9001 for the WebSocket listener). */
  url: string;
  /** The dynamic-security admin account. */
  username: string;
  password: string;
  /** How long send() waits for the plugin's answer (default 10 000 ms). */
  timeoutMs?: number;
  /** Start of the connection's client id; a random UUID follows (default "makapix-dynsec-"). */
  clientIdPrefix?: string;
  /** Errors of an open connection (they do not throw; the next send() reconnects if it closed). */
  onConnectionError?: (err: Error) => void;
}

/** One or more commands the plugin refused. */
export class DynsecError extends Error {
  constructor(readonly failed: readonly DynsecResponse[]) {
    super(`dynamic security refused: ${failed.map((r) => `${r.command}: ${r.error}`).join('; ')}`);
    this.name = 'DynsecError';
  }
}

export class DynsecClient {
  private connection: Promise<MqttClient> | null = null;
  /** The last connection made (for `connected`). */
  private current: MqttClient | null = null;
  private closed = false;
  private readonly timeoutMs: number;

  constructor(private readonly opts: DynsecClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** Whether the admin connection is up now (it is opened on use, and again on the next use after it drops). */
  get connected(): boolean {
    return this.current?.connected === true;
  }

  /** Opens the connection now rather than on first use; rejects when the broker refuses it. */
  async connect(): Promise<void> {
    await this.client();
  }

  /**
   * Sends `commands` in one $CONTROL message and returns the plugin's responses, in the order of
   * the commands. A refused command is a response with `error`; see run() to have it thrown.
   */
  async send(commands: readonly DynsecCommand[]): Promise<DynsecResponse[]> {
    const client = await this.client();
    const tag = randomUUID();
    const tagged = commands.map((c, i) => ({ ...c, correlationData: `${tag}:${i}` }));
    const indexOf = (r: DynsecResponse) => Number(r.correlationData!.slice(tag.length + 1));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => done(new Error(`dynamic security: no answer within ${this.timeoutMs} ms to ${commands.map((c) => c.command).join(', ')}`)),
        this.timeoutMs,
      );
      const onMessage = (topic: string, payload: Buffer) => {
        if (topic !== DYNSEC_RESPONSE_TOPIC) return;
        let body: { responses?: DynsecResponse[] };
        try {
          body = JSON.parse(payload.toString('utf8')) as { responses?: DynsecResponse[] };
        } catch {
          return;
        }
        const mine = (body.responses ?? []).filter((r) => r.correlationData?.startsWith(`${tag}:`));
        if (mine.length === 0) return;
        done(null, mine.sort((a, b) => indexOf(a) - indexOf(b)));
      };
      const onClose = () => done(new Error('dynamic security: the admin connection closed before the answer'));
      const done = (err: Error | null, responses?: DynsecResponse[]) => {
        clearTimeout(timer);
        client.off('message', onMessage);
        client.off('close', onClose);
        if (err) reject(err);
        else resolve(responses!);
      };
      client.on('message', onMessage);
      client.on('close', onClose);
      client.publish(DYNSEC_TOPIC, JSON.stringify({ commands: tagged }), { qos: 1 }, (err) => {
        if (err) done(err);
      });
    });
  }

  /** send(), then throws DynsecError naming every refused command that `tolerate` does not accept. */
  async run(commands: readonly DynsecCommand[], opts: { tolerate?: (r: DynsecResponse) => boolean } = {}): Promise<DynsecResponse[]> {
    const responses = await this.send(commands);
    const failed = responses.filter((r) => r.error && !opts.tolerate?.(r));
    if (failed.length > 0) throw new DynsecError(failed);
    return responses;
  }

  /** Closes the connection; later calls fail. */
  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = null;
    if (connection) await connection.then((c) => c.endAsync(), () => undefined).catch(() => undefined);
  }

  private client(): Promise<MqttClient> {
    if (this.closed) return Promise.reject(new Error('dynamic security: the client is closed'));
    if (this.connection === null) {
      const connecting: Promise<MqttClient> = (async () => {
        const c = await mqtt.connectAsync(this.opts.url, {
          protocolVersion: 5,
          username: this.opts.username,
          password: this.opts.password,
          clientId: `${this.opts.clientIdPrefix ?? 'makapix-dynsec-'}${randomUUID()}`,
          clean: true,
          reconnectPeriod: 0,
          connectTimeout: 10_000,
        });
        c.on('error', (err) => this.opts.onConnectionError?.(err));
        c.on('close', () => {
          if (this.connection === connecting) this.connection = null;
        });
        await c.subscribeAsync(DYNSEC_RESPONSE_TOPIC, { qos: 1 });
        this.current = c;
        return c;
      })();
      this.connection = connecting;
      connecting.catch(() => {
        if (this.connection === connecting) this.connection = null;
      });
    }
    return this.connection;
  }
}
