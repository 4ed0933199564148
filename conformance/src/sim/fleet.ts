// Many simulated players in one process (load tests): one shared heartbeat scheduler, connects
// staggered and bounded in number, credentials given or obtained through provisioning.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProvisionPlayerResponse } from '@makapix/contract/openapi/schemas';
import type { SimCredentials } from './credentials.js';
import type { Registrar } from './provisioning.js';
import { SharedScheduler } from './scheduler.js';
import { SimPlayer, type SimConnectOptions, type SimPlayerOptions } from './sim-player.js';

export interface SimFleetProvisioning {
  apiUrl: string;
  /** Plays the owner (e.g. registerWithOwners(apiUrl, tokens)); without it a human registers each code (see the 'provisioned' event). */
  register?: Registrar;
  deviceModel?: string;
  firmwareVersion?: string;
  /** Credentials poll period (default 3000 with a human, 200 with a register function). */
  pollMs?: number;
  /** How long to wait for each registration (default 15 minutes). */
  timeoutMs?: number;
}

export interface SimFleetOptions {
  count: number;
  /** Player i connects with credentials[i] (needs count entries) ... */
  credentials?: readonly SimCredentials[];
  /** ... or provisions itself through the REST API. */
  provision?: SimFleetProvisioning;
  connect?: SimConnectOptions;
  /** Options of every player (its scheduler is the fleet's). */
  player?: Omit<SimPlayerOptions, 'credentials' | 'scheduler'>;
  /** Connects (and provisioning calls) in flight at once (default 10). */
  concurrency?: number;
  /** Minimum pause between two connects (and between two provisioning calls), default 20 ms. */
  staggerMs?: number;
  /** Default: a scheduler of the fleet's own. */
  scheduler?: SharedScheduler;
}

export interface SimFleetEvents {
  /** Player `index` was provisioned; show `registration_code` to its owner unless a register function does it. */
  provisioned: [ProvisionPlayerResponse, number];
  /** Player `index` is connected and heartbeating. */
  ready: [SimPlayer, number];
  /** Player `index` could not be provisioned, registered or connected. */
  failed: [Error, number];
}

export interface SimFleetResult {
  ready: number;
  failed: { index: number; error: Error }[];
}

export class SimFleet extends EventEmitter<SimFleetEvents> {
  /** One per index; a player that failed stays in the list, unconnected. */
  readonly players: SimPlayer[] = [];
  readonly scheduler: SharedScheduler;
  private readonly connectGate: Gate;
  private readonly provisionGate: Gate;

  constructor(private readonly opts: SimFleetOptions) {
    super();
    if (!Number.isInteger(opts.count) || opts.count < 1) throw new Error(`count must be a positive integer (got ${opts.count})`);
    if (!opts.credentials === !opts.provision) throw new Error('give either credentials or provision');
    if (opts.credentials && opts.credentials.length < opts.count) {
      throw new Error(`count is ${opts.count} but only ${opts.credentials.length} credentials were given`);
    }
    this.scheduler = opts.scheduler ?? new SharedScheduler();
    const concurrency = opts.concurrency ?? 10;
    const staggerMs = opts.staggerMs ?? 20;
    this.connectGate = new Gate(concurrency, staggerMs);
    this.provisionGate = new Gate(concurrency, staggerMs);
    for (let i = 0; i < opts.count; i++) {
      this.players.push(new SimPlayer({ ...opts.player, credentials: opts.credentials?.[i], scheduler: this.scheduler }));
    }
  }

  /** Brings every player up; resolves when each is connected or has failed (failures are reported, not thrown). */
  async start(): Promise<SimFleetResult> {
    const failed: SimFleetResult['failed'] = [];
    let ready = 0;
    await Promise.all(
      this.players.map(async (player, index) => {
        try {
          await this.bringUp(player, index);
          ready++;
          this.emit('ready', player, index);
        } catch (err) {
          const error = err instanceof Error ? err : new Error(String(err));
          failed.push({ index, error });
          this.emit('failed', error, index);
        }
      }),
    );
    failed.sort((a, b) => a.index - b.index);
    return { ready, failed };
  }

  /** Disconnects every player (graceful by default: offline status, then DISCONNECT). */
  async stop(o: { graceful?: boolean } = {}): Promise<void> {
    const gate = new Gate(50, 0);
    await Promise.all(this.players.map((p) => gate.run(() => p.disconnect(o).catch(() => undefined))));
  }

  private async bringUp(player: SimPlayer, index: number): Promise<void> {
    const prov = this.opts.provision;
    if (prov) {
      const p = await this.provisionGate.run(() =>
        player.provision({ apiUrl: prov.apiUrl, deviceModel: prov.deviceModel, firmwareVersion: prov.firmwareVersion }),
      );
      this.emit('provisioned', p, index);
      if (prov.register) await prov.register(p, index);
      await player.waitForCredentials({ pollMs: prov.pollMs ?? (prov.register ? 200 : 3000), timeoutMs: prov.timeoutMs });
    }
    await this.connectGate.run(() => player.connect(this.opts.connect));
  }
}

/** At most `limit` tasks at once, started at least `spacingMs` apart. */
class Gate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private nextStart = 0;

  constructor(
    private readonly limit: number,
    private readonly spacingMs: number,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the first waiter (active stays counted).
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      const now = Date.now();
      const at = Math.max(now, this.nextStart);
      this.nextStart = at + this.spacingMs;
      if (at > now) await sleep(at - now);
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
