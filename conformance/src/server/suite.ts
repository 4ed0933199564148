// `makapix-conformance server`: prepares the target (REST setup or MQTT-only discovery), connects
// as the player over mTLS, and runs the derived and data cases in a fixed order: requests, data
// flows and negatives, commands, statuses (the last one drops the connection), notifications.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { playerRequestTopic, playerResponseTopic } from '@makapix/contract/asyncapi/channels';
import type { CaseDef } from '../model/case.js';
import type { LoadedCaseFile } from '../cases/load.js';
import type { ExceptionSpec } from '../cases/schema.js';
import { newRunToken } from '../examples/substitute.js';
import { hostPortOf } from '../report/repro.js';
import { runCases, type SuiteOptions, type SuiteResult } from '../run/execute.js';
import { TargetError } from '../run/target-error.js';
import { SetupError, type ServerContext } from './context.js';
import { derivedCommandCases } from './derived-commands.js';
import { derivedNotificationCases } from './derived-notifications.js';
import { derivedRequestCases } from './derived-requests.js';
import { derivedStatusCases } from './derived-status.js';
import { discoverPosts, probe } from './discover.js';
import { PlayerSession } from './session.js';
import { setupThroughApi } from './setup-api.js';
import { yamlServerCases } from './steps.js';

export interface ServerRunOptions {
  /** With it: REST setup. Without it: certFile, keyFile and playerKey are required. */
  apiUrl?: string;
  brokerUrl: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  playerKey?: string;
  moderatorHandle?: string;
  /** An existing moderator account of the target (the operator made it one). */
  moderatorLogin?: { email: string; password: string };
  timeoutMs: number;
  protocolVersion: 4 | 5;
  /** Replaces the features found from the options. */
  features?: string[];
  log?: (line: string) => void;
}

export interface RunStart {
  mode: 'server' | 'player';
  target: string;
  features: string[];
  notes: string[];
}

export function serverCases(files: readonly LoadedCaseFile[]): CaseDef<ServerContext>[] {
  const exceptions: ExceptionSpec[] = files.filter((f) => f.data.mode === 'server').flatMap((f) => f.data.exceptions ?? []);
  return [
    ...derivedRequestCases(exceptions),
    ...yamlServerCases(files),
    ...derivedCommandCases(exceptions),
    ...derivedStatusCases(exceptions),
    ...derivedNotificationCases(),
  ];
}

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new TargetError(`${what} ${file}: ${(err as Error).message}`);
  }
}

export async function runServerSuite(
  o: ServerRunOptions,
  files: readonly LoadedCaseFile[],
  suite: Omit<SuiteOptions, 'features'>,
  onStart?: (s: RunStart) => void,
): Promise<SuiteResult> {
  const runToken = newRunToken();
  const notes: string[] = [];
  let ca = o.caFile ? read(o.caFile, '--ca') : undefined;
  let cert: string, key: string, playerKey: string;
  let files3: { ca?: string; cert: string; key: string };
  let setup: Awaited<ReturnType<typeof setupThroughApi>> | undefined;
  if (o.apiUrl) {
    try {
      setup = await setupThroughApi({ apiUrl: o.apiUrl, runToken, moderatorHandle: o.moderatorHandle, moderatorLogin: o.moderatorLogin, log: o.log });
    } catch (err) {
      if (err instanceof SetupError) throw new TargetError(`setup through REST failed: ${err.message}`);
      throw err;
    }
    cert = setup.credentials.cert_pem;
    // The setup player is provisioned without a CSR, so the server hands out its key.
    if (setup.credentials.key_pem === undefined) throw new TargetError('setup through REST failed: getPlayerCredentials returned no key_pem for a player provisioned without csr_pem');
    key = setup.credentials.key_pem;
    ca ??= setup.credentials.ca_pem;
    playerKey = setup.playerKey;
    const dir = mkdtempSync(join(tmpdir(), 'makapix-conformance-'));
    files3 = { ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
    writeFileSync(files3.ca!, ca);
    writeFileSync(files3.cert, cert);
    writeFileSync(files3.key, key, { mode: 0o600 });
    chmodSync(files3.key, 0o600);
    if (o.caFile) files3.ca = o.caFile;
    notes.push(`player ${playerKey}; certificate files for the reproduce commands in ${dir}`);
  } else {
    cert = read(o.certFile!, '--cert');
    key = read(o.keyFile!, '--key');
    playerKey = o.playerKey!;
    files3 = { ca: o.caFile, cert: o.certFile!, key: o.keyFile! };
  }
  const session = new PlayerSession({ brokerUrl: o.brokerUrl, playerKey, ca, cert, key, protocolVersion: o.protocolVersion, connectTimeoutMs: Math.min(o.timeoutMs, 15_000), log: o.log });
  try {
    await session.connect();
  } catch (err) {
    throw new TargetError(`cannot connect to ${o.brokerUrl} as player ${playerKey}: ${(err as Error).message}`);
  }
  try {
    const { host, port } = hostPortOf(o.brokerUrl, 8883);
    const repro = { host, port, auth: [...(files3.ca ? ['--cafile', files3.ca] : []), '--cert', files3.cert, '--key', files3.key] };
    const base = { session, timeoutMs: o.timeoutMs, repro, log: o.log };
    if (!(await probe(base))) {
      throw new TargetError(`no answer to a query_posts request within ${o.timeoutMs} ms on ${playerResponseTopic.filterRest({ player_key: playerKey })}: is a server subscribed to ${playerRequestTopic.filter()} on ${o.brokerUrl}?`);
    }
    let ctx: ServerContext;
    if (setup) ctx = { ...base, map: setup.map, rest: setup.rest };
    else {
      const d = await discoverPosts(base, runToken);
      notes.push(...d.notes);
      ctx = { ...base, map: d.map };
    }
    const found = ['mqtt', ...(setup ? ['rest', 'notifications'] : []), ...(setup?.rest.moderator ? ['moderator'] : [])];
    const features = new Set(o.features ?? found);
    const target = `${o.apiUrl ? `${o.apiUrl} + ` : ''}${o.brokerUrl}`;
    onStart?.({ mode: 'server', target, features: [...features].sort(), notes });
    // A case makes a few exchanges, each bounded by timeoutMs; a pagination walk makes one per page
    // (fast ones: 20 exchanges at the full timeout would already mean a broken server).
    return await runCases(serverCases(files), ctx, { mode: 'server', target }, { caseBudgetMs: o.timeoutMs * 20, ...suite, features });
  } finally {
    await session.close();
  }
}
