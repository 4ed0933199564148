// Command-line options of makapix-player-sim, parsed and checked (no side effects).
import { parseArgs } from 'node:util';

export const SIM_USAGE = `makapix-player-sim: the reference Makapix player (simulator)

Provision through the REST API and wait for the owner to enter the registration code:
  makapix-player-sim --api URL [--count N] [--register-token TOKEN ...]
Or connect with credentials you already have:
  makapix-player-sim --cert FILE --key FILE --ca FILE --player-key UUID --broker mqtts://HOST:PORT

Options:
  --api URL               REST API base URL (provision, then poll for credentials)
  --broker URL            broker URL (default with --api: the one in the credentials)
  --cert/--key/--ca FILE  the player's PEM certificate, private key and the CA
  --player-key UUID       the player's key (the certificate's CN)
  --count N               run N players in this process (needs --api; default 1)
  --register-token TOKEN  register each provisioned player as this owner (repeatable: player i
                          goes to token i mod #tokens); without it, enter the codes yourself
  --profile default|p3a   p3a: the real firmware's rules (MQTT 3.1, REST under /api, retained
                          capabilities/state, views, acknowledged set_* commands, its retry timings)
  --vault URL             (p3a) download each shown artwork from URL/{shard}/{storage_key}.{ext}
  --mqtt-version 5|3.1.1  protocol version (default 5; ignored by --profile p3a, which speaks 3.1)
  --heartbeat-ms N        status period (default 30000)
  --poll-ms N             credentials poll period (default 3000)
  --registration-timeout-ms N  give up waiting for registration (default 900000)
  --reconnect-ms N        reconnect after a lost connection (default 5000; 0 = never)
  --device-model S        reported at provisioning
  --firmware-version S    reported at provisioning and in every status
  --query-posts           fetch posts with query_posts after connecting (swap_next/back move in them)
  --submit-views          send submit_view after each command that changes the shown post
  --verbose               log every status, request and response
  --help                  this text
Ctrl-C disconnects gracefully (offline status); a second Ctrl-C exits at once.
Exit codes: 0 stopped by Ctrl-C, 1 no player came up, 2 bad usage.`;

export interface SimCliOptions {
  api?: string;
  broker?: string;
  files?: { cert: string; key: string; ca: string; playerKey: string };
  count: number;
  registerTokens: string[];
  protocolVersion: 4 | 5;
  profile: 'default' | 'p3a';
  vault?: string;
  heartbeatMs: number;
  pollMs: number;
  registrationTimeoutMs: number;
  reconnectMs: number;
  deviceModel?: string;
  firmwareVersion?: string;
  queryPosts: boolean;
  submitViews: boolean;
  verbose: boolean;
}

export type ParsedSimArgs = { help: true } | { help: false; options: SimCliOptions } | { help: false; error: string };

export function parseSimArgs(argv: readonly string[]): ParsedSimArgs {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        api: { type: 'string' },
        broker: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        ca: { type: 'string' },
        'player-key': { type: 'string' },
        count: { type: 'string' },
        'register-token': { type: 'string', multiple: true },
        'mqtt-version': { type: 'string' },
        profile: { type: 'string' },
        vault: { type: 'string' },
        'heartbeat-ms': { type: 'string' },
        'poll-ms': { type: 'string' },
        'registration-timeout-ms': { type: 'string' },
        'reconnect-ms': { type: 'string' },
        'device-model': { type: 'string' },
        'firmware-version': { type: 'string' },
        'query-posts': { type: 'boolean' },
        'submit-views': { type: 'boolean' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    return { help: false, error: (err as Error).message };
  }
  if (values.help) return { help: true };
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const problems: string[] = [];
  const int = (k: string, def: number, min: number): number => {
    const v = str(k);
    if (v === undefined) return def;
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) {
      problems.push(`--${k} must be an integer >= ${min} (got ${JSON.stringify(v)})`);
      return def;
    }
    return n;
  };
  const url = (k: string, protocols: string[]): string | undefined => {
    const v = str(k);
    if (v === undefined) return undefined;
    try {
      const u = new URL(v);
      if (!protocols.includes(u.protocol)) problems.push(`--${k} must be a ${protocols.join(' or ')} URL (got ${JSON.stringify(v)})`);
    } catch {
      problems.push(`--${k} is not a URL (got ${JSON.stringify(v)})`);
    }
    return v;
  };

  const api = url('api', ['http:', 'https:']);
  const broker = url('broker', ['mqtts:', 'tls:', 'ssl:']);
  const fileKeys = ['cert', 'key', 'ca', 'player-key'] as const;
  const givenFiles = fileKeys.filter((k) => str(k) !== undefined);
  let files: SimCliOptions['files'];
  if (api && givenFiles.length > 0) problems.push(`--api and --${givenFiles[0]} exclude each other (provision, or bring credentials)`);
  if (!api) {
    if (givenFiles.length === 0) problems.push('give --api URL, or --cert, --key, --ca, --player-key and --broker');
    else {
      const missing = fileKeys.filter((k) => str(k) === undefined);
      if (missing.length) problems.push(`missing ${missing.map((k) => `--${k}`).join(', ')}`);
      if (!broker) problems.push('--broker is required with --cert (the broker is only known from the API otherwise)');
      files = { cert: str('cert')!, key: str('key')!, ca: str('ca')!, playerKey: str('player-key')! };
    }
  }
  const count = int('count', 1, 1);
  if (count > 1 && !api) problems.push('--count above 1 needs --api (each player needs its own identity)');
  const registerTokens = (values['register-token'] as string[] | undefined) ?? [];
  if (registerTokens.length && !api) problems.push('--register-token needs --api');
  const mv = str('mqtt-version') ?? '5';
  let protocolVersion: 4 | 5 = 5;
  if (mv === '3.1.1' || mv === '4') protocolVersion = 4;
  else if (mv !== '5') problems.push(`--mqtt-version must be 5 or 3.1.1 (got ${JSON.stringify(mv)})`);

  const profile = str('profile') ?? 'default';
  if (profile !== 'default' && profile !== 'p3a') problems.push(`--profile must be default or p3a (got ${JSON.stringify(profile)})`);
  const vault = url('vault', ['http:', 'https:']);
  if (vault && profile !== 'p3a') problems.push('--vault needs --profile p3a');

  const options: SimCliOptions = {
    api,
    broker,
    files,
    count,
    registerTokens,
    protocolVersion,
    profile: profile === 'p3a' ? 'p3a' : 'default',
    vault,
    heartbeatMs: int('heartbeat-ms', 30_000, 1),
    pollMs: int('poll-ms', 3000, 1),
    registrationTimeoutMs: int('registration-timeout-ms', 15 * 60_000, 1),
    reconnectMs: int('reconnect-ms', 5000, 0),
    deviceModel: str('device-model'),
    firmwareVersion: str('firmware-version'),
    queryPosts: values['query-posts'] === true,
    submitViews: values['submit-views'] === true,
    verbose: values.verbose === true,
  };
  if (problems.length) return { help: false, error: problems.join('; ') };
  return { help: false, options };
}
