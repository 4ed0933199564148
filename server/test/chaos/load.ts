// The load of a chaos run: N firmware-like players (the conformance simulator's p3a profile: mTLS,
// MQTT 3.1, a 10 s answer timeout, the same request_id re-published, 3 attempts 1 s then 2 s
// apart; reconnecting 1 s after a lost connection, faster than the firmware's 15 s so that a
// recovery time can be seen) sending a bounded rate of mixed requests (query_posts, submit_view,
// submit_reaction). A ledger records every request and every answer each player receives (the
// player's own matching keeps only the first: duplicates are counted from the raw messages).
import { setTimeout as sleep } from 'node:timers/promises';
import { playerResponseTopic } from '@makapix/contract/asyncapi/channels';
import { createClient, type Client } from '@makapix/contract/openapi/client';
import { restExamples } from '@makapix/contract/openapi/examples';
import { newRequestId, SimPlayer, silentLog, type SimCredentials } from '../../../conformance/src/sim/index.js';

export interface RequestRecord {
  id: string;
  type: 'query_posts' | 'submit_view' | 'submit_reaction';
  player: number;
  sentAt: number;
  attempts: number;
  /** Every answer received, in order: the time and the answer's JSON. */
  answers: { at: number; json: string; success: boolean; code: string | null }[];
  /** The simulated firmware gave up (no answer within its 3 attempts). */
  gaveUp: boolean;
}

/** JSON with object keys sorted (at every depth): equal for equal values. */
export function canonicalJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v === null || typeof v !== 'object') return v;
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
  };
  return JSON.stringify(sort(value));
}

export class Ledger {
  readonly requests = new Map<string, RequestRecord>();

  sent(r: Omit<RequestRecord, 'answers' | 'gaveUp' | 'attempts'>): void {
    this.requests.set(r.id, { ...r, answers: [], gaveUp: false, attempts: 1 });
  }

  answered(id: string, payload: Buffer): void {
    const r = this.requests.get(id);
    if (!r) return;
    let json = payload.toString('utf8');
    let success = false;
    let code: string | null = null;
    try {
      const body = JSON.parse(json) as { success?: unknown; error_code?: unknown };
      success = body.success === true;
      code = typeof body.error_code === 'string' ? body.error_code : null;
      // the same answer replayed from the store may list its keys in another order
      json = canonicalJson(body);
    } catch {
      code = 'unparseable';
    }
    r.answers.push({ at: Date.now(), json, success, code });
  }

  /** Requests without any answer yet. */
  unanswered(): RequestRecord[] {
    return [...this.requests.values()].filter((r) => r.answers.length === 0);
  }
}

export interface Fleet {
  players: SimPlayer[];
  ledger: Ledger;
  /** Sends requests at `perSecond` in total, spread over the players, until stop() resolves. */
  drive(perSecond: number): { stop(): Promise<void> };
  close(): Promise<void>;
}

/** A user, `count` registered players (REST, as a device and its owner do), one post to view and react to. */
export async function startFleet(apiUrl: string, count: number, tag: string): Promise<Fleet> {
  const api: Client = createClient(apiUrl);
  const handle = `chaos${tag}${process.pid}`.slice(0, 40);
  const user = await api.authRegister({ body: { handle, email: `${handle}@example.test`, password: 'correct horse battery' } });
  if (user.status !== 201) throw new Error(`authRegister: ${user.status} ${JSON.stringify(user.body)}`);
  const token = user.body.token;
  const post = await api.createPost({ body: restExamples.createPost.request.cool_pixel_art }, { token });
  if (post.status !== 201) throw new Error(`createPost: ${post.status} ${JSON.stringify(post.body)}`);
  const postId = post.body.post_id;

  const ledger = new Ledger();
  const players: SimPlayer[] = [];
  for (let i = 0; i < count; i++) {
    const prov = await api.provisionPlayer({ body: restExamples.provisionPlayer.request.p3a });
    if (prov.status !== 201) throw new Error(`provisionPlayer: ${prov.status} ${JSON.stringify(prov.body)}`);
    const reg = await api.registerPlayer({ body: { registration_code: prov.body.registration_code, name: `chaos ${i}` } }, { token });
    if (reg.status !== 201) throw new Error(`registerPlayer: ${reg.status} ${JSON.stringify(reg.body)}`);
    const creds = await api.getPlayerCredentials({ params: { player_key: prov.body.player_key } });
    if (creds.status !== 200) throw new Error(`getPlayerCredentials: ${creds.status} ${JSON.stringify(creds.body)}`);
    const credentials: SimCredentials = { ...creds.body, player_key: prov.body.player_key };
    const p = new SimPlayer({ profile: 'p3a', credentials, requestTimeoutMs: 10_000, requestRetries: 2, views: false, heartbeatMs: 30_000, log: silentLog });
    await p.connect({ reconnectPeriodMs: 1000 });
    p.mqttClient!.on('message', (topic, payload) => {
      const params = playerResponseTopic.parse(topic);
      if (params) ledger.answered(params.request_id, payload);
    });
    p.on('request', (e) => {
      const r = ledger.requests.get(e.request_id);
      if (r && e.attempt > 0) r.attempts = e.attempt + 1;
    });
    players.push(p);
  }

  const send = (i: number, n: number): Promise<unknown> => {
    const p = players[i]!;
    const id = newRequestId();
    const kind = n % 3;
    const type = kind === 0 ? 'query_posts' : kind === 1 ? 'submit_view' : 'submit_reaction';
    ledger.sent({ id, type, player: i, sentAt: Date.now() });
    const sent = type === 'query_posts'
      ? p.requestQueryPosts({ request_id: id, channel: 'all', sort: 'server_order', limit: 8 })
      : type === 'submit_view'
        ? p.requestSubmitView({ request_id: id, post_id: postId })
        : p.requestSubmitReaction({ request_id: id, post_id: postId, emoji: '👍' });
    return sent.catch(() => { ledger.requests.get(id)!.gaveUp = true; });
  };

  return {
    players, ledger,
    drive(perSecond) {
      let running = true;
      const inFlight = new Set<Promise<unknown>>();
      const loop = (async () => {
        const gap = 1000 / perSecond;
        const t0 = Date.now();
        for (let n = 0; running; n++) {
          const job = send(n % players.length, Math.floor(n / players.length) + n);
          inFlight.add(job);
          void job.finally(() => inFlight.delete(job));
          const wait = t0 + (n + 1) * gap - Date.now();
          if (wait > 0) await sleep(wait);
        }
      })();
      return {
        async stop() {
          running = false;
          await loop;
          await Promise.allSettled([...inFlight]);
        },
      };
    },
    async close() {
      await Promise.allSettled(players.map((p) => p.disconnect({ graceful: false })));
    },
  };
}
