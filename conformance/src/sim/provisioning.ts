// The device side of the REST lifecycle (provision -> the owner registers the code -> credentials),
// through the generated client, plus a registration helper that plays the owner for load tests.
import { setTimeout as sleep } from 'node:timers/promises';
import { compileValidator, type Validator } from '#runtime/v1';
import { createClient, type Client } from '@makapix/contract/openapi/client';
import { ProvisionPlayerRequest, ProvisionPlayerResponse } from '@makapix/contract/openapi/schemas';
import { PlayerCredentialsValidator, type SimCredentials } from './credentials.js';

const ProvisionPlayerResponseValidator: Validator<ProvisionPlayerResponse> = compileValidator<ProvisionPlayerResponse>(ProvisionPlayerResponse);

/** A REST call answered with a status the simulator cannot go on with. */
export class SimRestError extends Error {
  override readonly name = 'SimRestError';
  constructor(
    readonly operation: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`${operation}: HTTP ${status} ${JSON.stringify(body)}`);
  }
}

export interface ProvisionOptions {
  apiUrl: string;
  deviceModel?: string;
  firmwareVersion?: string;
  /** How often a 429 is retried after its Retry-After (default 5). */
  rateLimitRetries?: number;
  signal?: AbortSignal;
}

/** POST /player/provision; retries a 429 after its Retry-After; throws SimRestError on any other failure. */
export async function provisionDevice(opts: ProvisionOptions): Promise<ProvisionPlayerResponse> {
  const api = createClient(opts.apiUrl);
  const body: ProvisionPlayerRequest = {};
  if (opts.deviceModel !== undefined) body.device_model = opts.deviceModel;
  if (opts.firmwareVersion !== undefined) body.firmware_version = opts.firmwareVersion;
  for (let attempt = 0; ; attempt++) {
    const r = await api.provisionPlayer({ body }, { signal: opts.signal });
    if (r.status === 201) {
      if (!ProvisionPlayerResponseValidator.check(r.body)) {
        throw new SimRestError('provisionPlayer', r.status, `invalid body: ${ProvisionPlayerResponseValidator.explain(r.body)}`);
      }
      return r.body;
    }
    if (r.status === 429 && attempt < (opts.rateLimitRetries ?? 5)) {
      await sleep(retryAfterMs(r.headers), undefined, { signal: opts.signal });
      continue;
    }
    throw new SimRestError('provisionPlayer', r.status, r.body);
  }
}

export interface WaitForCredentialsOptions {
  apiUrl: string;
  playerKey: string;
  /** Poll period (default 3000, as the firmware). */
  pollMs?: number;
  /** Give up after this long (default 15 minutes, the life of a registration code). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called after each answer that is not the credentials (404 while pending, a 5xx, a network error). */
  onPending?: (status: number | 'network', body: unknown) => void;
}

/**
 * Polls GET /player/{player_key}/credentials until 200. 404 (not registered yet), 5xx and network
 * errors keep polling; 400 (a malformed key) and an invalid 200 body fail at once.
 */
export async function waitForCredentials(opts: WaitForCredentialsOptions): Promise<SimCredentials> {
  const api = createClient(opts.apiUrl);
  const pollMs = opts.pollMs ?? 3000;
  const deadline = Date.now() + (opts.timeoutMs ?? 15 * 60_000);
  let last = 'no answer yet';
  for (;;) {
    let r: Awaited<ReturnType<Client['getPlayerCredentials']>> | undefined;
    try {
      r = await api.getPlayerCredentials({ params: { player_key: opts.playerKey } }, { signal: opts.signal });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      last = `network error: ${(err as Error).message}`;
      opts.onPending?.('network', err);
    }
    if (r?.status === 200) {
      if (!PlayerCredentialsValidator.check(r.body)) {
        throw new SimRestError('getPlayerCredentials', 200, `invalid body: ${PlayerCredentialsValidator.explain(r.body)}`);
      }
      return { player_key: opts.playerKey, ...r.body };
    }
    if (r) {
      if (r.status !== 404 && r.status < 500) throw new SimRestError('getPlayerCredentials', r.status, r.body);
      last = `HTTP ${r.status} ${JSON.stringify(r.body)}`;
      opts.onPending?.(r.status, r.body);
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no credentials for player ${opts.playerKey} within ${opts.timeoutMs ?? 15 * 60_000} ms (last answer: ${last})`);
    await sleep(Math.min(pollMs, left), undefined, { signal: opts.signal });
  }
}

/** Registers a provisioned player (its code) to an owner; used by SimFleet to play the owner. */
export type Registrar = (provisioned: ProvisionPlayerResponse, index: number) => Promise<void>;

/**
 * A Registrar that calls POST /player/register with the owners' bearer tokens, player i going to
 * owner i % tokens.length (a user may own at most 128 players: give enough owners).
 */
export function registerWithOwners(apiUrl: string, tokens: readonly string[], name = (i: number) => `sim-${i}`): Registrar {
  if (tokens.length === 0) throw new Error('registerWithOwners needs at least one owner token');
  const api = createClient(apiUrl);
  return async (p, index) => {
    const r = await api.registerPlayer({ body: { registration_code: p.registration_code, name: name(index) } }, { token: tokens[index % tokens.length] });
    if (r.status !== 201) throw new SimRestError('registerPlayer', r.status, r.body);
  };
}

function retryAfterMs(headers: Headers): number {
  const s = Number(headers.get('retry-after'));
  return Number.isFinite(s) && s >= 0 ? Math.min(s, 120) * 1000 : 1000;
}
