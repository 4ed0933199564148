// `makapix-conformance player`: connects with the server's broker account, starts watching the
// player, and runs the player cases: heartbeat, commands (derived, then data), requests, statuses,
// and last the will (it disconnects the player).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { CaseDef } from '../model/case.js';
import type { LoadedCaseFile } from '../cases/load.js';
import { hostPortOf } from '../report/repro.js';
import { runCases, type SuiteOptions, type SuiteResult } from '../run/execute.js';
import { TargetError } from '../run/target-error.js';
import { closeClient } from '../run/close-client.js';
import { settleWithin } from '../run/wait.js';
import type { RunStart } from '../server/suite.js';
import { derivedPlayerCommandCases, heartbeatCase, lastWillCase, requestCases, statusesValidCase } from './cases.js';
import type { PlayerContext } from './context.js';
import { PlayerObserver } from './observer.js';
import { yamlPlayerCases } from './steps.js';

/**
 * What a player may support. `show_artwork_1_0`: it shows a show_artwork that carries neither
 * storage_shard nor native_format (1.0 players do; the p3a firmware ignores such a command).
 */
export const PLAYER_FEATURES = ['heartbeat', 'commands', 'show_artwork_1_0', 'requests', 'last_will'] as const;
/** The features of a player speaking the p3a dialect (1.1): 1.0's bare show_artwork is ignored by design. */
export const P3A_PLAYER_FEATURES: readonly string[] = PLAYER_FEATURES.filter((f) => f !== 'show_artwork_1_0');
export const CALIBRATED_FEATURE = 'broker_reports_no_subscribers';

export interface PlayerRunOptions {
  brokerUrl: string;
  username: string;
  password: string;
  playerKey: string;
  caFile?: string;
  timeoutMs: number;
  /** Default 60000 (the spec's longest heartbeat period). */
  heartbeatMs: number;
  /** Default 5000. */
  toleranceMs: number;
  /** Default 1000. */
  graceMs?: number;
  /** The player's MQTT client id on the broker (Mosquitto with use_username_as_clientid: the player_key). */
  kickClientId?: string;
  artUrl?: string;
  features?: string[];
  log?: (line: string) => void;
}

export function playerCases(files: readonly LoadedCaseFile[]): CaseDef<PlayerContext>[] {
  return [heartbeatCase(), ...derivedPlayerCommandCases(), ...yamlPlayerCases(files), ...requestCases(), statusesValidCase(), lastWillCase()];
}

export async function runPlayerSuite(
  o: PlayerRunOptions,
  files: readonly LoadedCaseFile[],
  suite: Omit<SuiteOptions, 'features'>,
  onStart?: (s: RunStart) => void,
): Promise<SuiteResult> {
  let ca: string | undefined;
  if (o.caFile) {
    try {
      ca = readFileSync(o.caFile, 'utf8');
    } catch (err) {
      throw new TargetError(`--ca ${o.caFile}: ${(err as Error).message}`);
    }
  }
  const connectOpts = (clientId: string): IClientOptions => ({
    protocolVersion: 5, clientId, username: o.username, password: o.password, clean: true,
    reconnectPeriod: 0, connectTimeout: Math.min(o.timeoutMs, 15_000), ...(ca ? { ca } : {}),
  });
  let client: MqttClient;
  try {
    client = await mqtt.connectAsync(o.brokerUrl, connectOpts(`makapix-conformance-${randomBytes(4).toString('hex')}`));
  } catch (err) {
    throw new TargetError(`cannot connect to ${o.brokerUrl} as ${o.username}: ${(err as Error).message}`);
  }
  client.on('error', (err) => o.log?.(`mqtt error: ${err.message}`));
  const observer = new PlayerObserver(client, o.playerKey, o.timeoutMs, o.log);
  try {
    try {
      await observer.start();
    } catch (err) {
      throw new TargetError(`cannot watch player ${o.playerKey} on ${o.brokerUrl}: ${(err as Error).message}`);
    }
    const { host, port } = hostPortOf(o.brokerUrl, 1883);
    const repro = { host, port, auth: ['-u', o.username, '-P', '"$MAKAPIX_MQTT_PASSWORD"', ...(o.caFile ? ['--cafile', o.caFile] : [])] };
    const ctx: PlayerContext = {
      observer, playerKey: o.playerKey, timeoutMs: o.timeoutMs, heartbeatMs: o.heartbeatMs, toleranceMs: o.toleranceMs,
      graceMs: o.graceMs ?? 1000, startedAt: Date.now(), artUrl: o.artUrl, repro, log: o.log,
      kick: async () => {
        // Same client id, clean start: the broker closes the player's session and publishes its will.
        const k = await mqtt.connectAsync(o.brokerUrl, connectOpts(o.kickClientId ?? o.playerKey));
        await closeClient(k);
      },
    };
    const features = new Set((o.features ?? [...PLAYER_FEATURES]).filter((f) => f !== CALIBRATED_FEATURE));
    if (observer.brokerReportsNoSubscribers) features.add(CALIBRATED_FEATURE);
    const target = `player ${o.playerKey} on ${o.brokerUrl}`;
    const notes = observer.brokerReportsNoSubscribers ? [] : ['the broker did not answer an unmatched publish with PUBACK 0x10, so "subscribes before it requests" cannot be observed'];
    onStart?.({ mode: 'player', target, features: [...features].sort(), notes });
    // A case waits for at most two heartbeats and a few exchanges, each bounded.
    const caseBudgetMs = 2 * (ctx.heartbeatMs + ctx.toleranceMs) + 3 * o.timeoutMs + 2 * ctx.graceMs;
    return await runCases(playerCases(files), ctx, { mode: 'player', target }, { caseBudgetMs, ...suite, features });
  } finally {
    await settleWithin(observer.close(), 2000);
    await closeClient(client);
  }
}
