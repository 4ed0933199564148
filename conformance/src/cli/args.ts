// Command-line parsing of makapix-conformance. Every problem is a UsageError (exit code 2).
import { parseArgs } from 'node:util';
import { compileValidator } from '#runtime/v1';
import { PlayerKey } from '@makapix/contract/components/identifiers';
import type { PlayerRunOptions } from '../player/suite.js';
import type { ServerRunOptions } from '../server/suite.js';

export const USAGE = `Usage:
  makapix-conformance server --api URL --broker URL [--ca FILE] [--moderator-email EMAIL --moderator-password PASS]
                     [--moderator-handle HANDLE] [options]
      Creates an account, posts, comments and a registered player through the REST API, then
      drives the player side over MQTT (mTLS with the issued certificate). Cases of feature
      moderator need a moderator: an existing account the operator made one (--moderator-email
      and --moderator-password; our server grants roles with \`make admin\`), or a handle the
      suite registers and the target makes a moderator by its configuration (--moderator-handle).
  makapix-conformance server --broker mqtts://HOST:PORT --ca FILE --cert FILE --key FILE --player-key UUID [options]
      MQTT only, as an existing registered player; posts are discovered with query_posts.
  makapix-conformance player --broker URL --username USER --password PASS --player-key UUID [options]
      Tests a player with the server's broker account: watches its status and requests, answers
      them with the spec's examples, sends it commands. Start it before the player connects.
      --heartbeat-ms N (60000) --heartbeat-tolerance-ms N (5000) --kick-client-id ID (the player_key)
      --art-url URL (replaces art_url in show_artwork commands) [--ca FILE]

Options:
  --timeout-ms N        wait this long for each answer, status or command (default 30000)
  --run GLOB            run only matching cases (repeatable; * matches anything, a name also selects its children)
  --known-failing FILE  cases expected to fail, one per line with a # comment; stale entries fail the run
  --report json:FILE    also write a JSON report (repeatable: junit:FILE for JUnit XML)
  --features LIST       the target's features, comma-separated (replaces the ones found)
  --mqtt-version 5|3.1.1  protocol of the player connection in server mode (default 5)
  --list                print the cases and exit
  --verbose             print every message sent and received (stderr)
Exit codes: 0 every case passed, 1 a case failed (or a known-failing entry is stale), 2 bad usage or unreachable target.`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface Report {
  kind: 'json' | 'junit';
  file: string;
}

export interface Common {
  timeoutMs: number;
  run: string[];
  knownFailing?: string;
  reports: Report[];
  verbose: boolean;
  list: boolean;
}

export type Parsed =
  | { mode: 'help' }
  | { mode: 'server'; common: Common; server: ServerRunOptions }
  | { mode: 'player'; common: Common; player: PlayerRunOptions };

const playerKeyValidator = compileValidator<string>(PlayerKey);

function int(name: string, v: string | undefined, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  if (!/^[0-9]+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be an integer >= ${min} (got ${JSON.stringify(v)})`);
  return Number(v);
}

function url(name: string, v: string | undefined, protocols: string[]): string | undefined {
  if (v === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new UsageError(`--${name} must be a URL (got ${JSON.stringify(v)})`);
  }
  if (!protocols.includes(u.protocol)) throw new UsageError(`--${name} must use ${protocols.map((p) => `${p}//`).join(', ')} (got ${JSON.stringify(v)})`);
  return v;
}

export function parseCli(argv: readonly string[]): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        api: { type: 'string' }, broker: { type: 'string' }, ca: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' },
        'player-key': { type: 'string' }, 'moderator-handle': { type: 'string' }, 'mqtt-version': { type: 'string' },
        'moderator-email': { type: 'string' }, 'moderator-password': { type: 'string' },
        username: { type: 'string' }, password: { type: 'string' }, 'heartbeat-ms': { type: 'string' },
        'heartbeat-tolerance-ms': { type: 'string' }, 'kick-client-id': { type: 'string' }, 'art-url': { type: 'string' },
        'timeout-ms': { type: 'string' }, run: { type: 'string', multiple: true }, 'known-failing': { type: 'string' },
        report: { type: 'string', multiple: true }, features: { type: 'string' }, list: { type: 'boolean' },
        verbose: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) return { mode: 'help' };
  if (positionals.length !== 1 || !['server', 'player'].includes(positionals[0])) {
    throw new UsageError(positionals.length ? `unknown mode ${JSON.stringify(positionals.join(' '))} (server or player)` : 'give a mode: server or player');
  }
  const mode = positionals[0] as 'server' | 'player';
  const reports: Report[] = (v.report ?? []).map((r) => {
    const m = /^(json|junit):(.+)$/.exec(r);
    if (!m) throw new UsageError(`--report must be json:FILE or junit:FILE (got ${JSON.stringify(r)})`);
    return { kind: m[1] as Report['kind'], file: m[2] };
  });
  const common: Common = {
    timeoutMs: int('timeout-ms', v['timeout-ms'], 30_000),
    run: v.run ?? [],
    knownFailing: v['known-failing'],
    reports,
    verbose: v.verbose === true,
    list: v.list === true,
  };
  const features = v.features === undefined ? undefined : v.features.split(',').map((f) => f.trim()).filter(Boolean);
  const playerKey = v['player-key'];
  if (playerKey !== undefined && !playerKeyValidator.check(playerKey)) throw new UsageError(`--player-key must be a UUID (got ${JSON.stringify(playerKey)})`);
  const only = (allowed: string[]) => {
    const given = Object.keys(v).filter((k) => v[k as keyof typeof v] !== undefined);
    const commonKeys = ['timeout-ms', 'run', 'known-failing', 'report', 'features', 'list', 'verbose', 'help'];
    const bad = given.filter((k) => !allowed.includes(k) && !commonKeys.includes(k));
    if (bad.length) throw new UsageError(`${bad.map((b) => `--${b}`).join(', ')} cannot be used ${mode === 'server' ? (v.api ? 'with --api' : 'in MQTT-only server mode') : 'in player mode'}`);
  };
  if (common.list) {
    // Listing needs no target.
    return mode === 'server'
      ? { mode, common, server: { brokerUrl: '', timeoutMs: common.timeoutMs, protocolVersion: 5 } }
      : { mode, common, player: { brokerUrl: '', username: '', password: '', playerKey: '', timeoutMs: common.timeoutMs, heartbeatMs: 60_000, toleranceMs: 5000 } };
  }
  const broker = url('broker', v.broker, ['mqtt:', 'mqtts:', 'tcp:', 'tls:', 'ssl:', 'ws:', 'wss:']);
  if (!broker) throw new UsageError('--broker URL is required');
  if (mode === 'server') {
    const version = v['mqtt-version'] ?? '5';
    if (version !== '5' && version !== '3.1.1') throw new UsageError(`--mqtt-version must be 5 or 3.1.1 (got ${JSON.stringify(version)})`);
    const server: ServerRunOptions = {
      brokerUrl: broker, caFile: v.ca, timeoutMs: common.timeoutMs, protocolVersion: version === '5' ? 5 : 4, features,
    };
    if (v.api !== undefined) {
      only(['api', 'broker', 'ca', 'moderator-handle', 'moderator-email', 'moderator-password', 'mqtt-version']);
      server.apiUrl = url('api', v.api, ['http:', 'https:']);
      server.moderatorHandle = v['moderator-handle'];
      const email = v['moderator-email'];
      const password = v['moderator-password'];
      if ((email === undefined) !== (password === undefined)) throw new UsageError('--moderator-email and --moderator-password go together');
      if (email !== undefined && password !== undefined) server.moderatorLogin = { email, password };
    } else {
      only(['broker', 'ca', 'cert', 'key', 'player-key', 'mqtt-version']);
      const missing = ['cert', 'key', 'player-key'].filter((k) => v[k as keyof typeof v] === undefined);
      if (missing.length) throw new UsageError(`server mode needs --api URL, or ${missing.map((m) => `--${m}`).join(', ')} for an MQTT-only run`);
      server.certFile = v.cert;
      server.keyFile = v.key;
      server.playerKey = playerKey;
    }
    return { mode, common, server };
  }
  only(['broker', 'ca', 'username', 'password', 'player-key', 'heartbeat-ms', 'heartbeat-tolerance-ms', 'kick-client-id', 'art-url']);
  const missing = ['username', 'password', 'player-key'].filter((k) => v[k as keyof typeof v] === undefined);
  if (missing.length) throw new UsageError(`player mode needs ${missing.map((m) => `--${m}`).join(', ')}`);
  return {
    mode,
    common,
    player: {
      brokerUrl: broker, username: v.username!, password: v.password!, playerKey: playerKey!, caFile: v.ca,
      timeoutMs: common.timeoutMs,
      heartbeatMs: int('heartbeat-ms', v['heartbeat-ms'], 60_000),
      toleranceMs: int('heartbeat-tolerance-ms', v['heartbeat-tolerance-ms'], 5000, 0),
      kickClientId: v['kick-client-id'],
      artUrl: url('art-url', v['art-url'], ['http:', 'https:']),
      features,
    },
  };
}
