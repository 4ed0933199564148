// The one dynamic-security client (server and dev tooling): batched commands answered in order,
// concurrent sends kept apart, refusals thrown by run() unless tolerated, a new connection after
// the old one closed, nothing after close().
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynsecClient, DynsecError } from '../../src/broker/dynsec-client.js';
import { startBroker, type Broker } from '../../devenv/broker.js';
import { ensureDevPki } from '../../devenv/pki.js';
import { tempDir } from '../devenv/helpers.js';

const tmp = tempDir('makapix-dynsec-client-');
let broker: Broker;
let client: DynsecClient;

beforeAll(async () => {
  const pki = await ensureDevPki(`${tmp.path}/pki`);
  broker = await startBroker({ dir: `${tmp.path}/mosquitto`, pki });
  client = new DynsecClient({ url: broker.urls.websocket, ...broker.dynsecAdmin, timeoutMs: 5_000 });
});

afterAll(async () => {
  await client?.close();
  await broker?.stop();
  tmp.remove();
});

describe('DynsecClient', () => {
  it('answers a batch in the order of its commands, and keeps concurrent batches apart', async () => {
    const names = [randomUUID(), randomUUID()];
    const [a, b] = await Promise.all(names.map((username) => client.send([
      { command: 'createClient', username, password: 'pw' },
      { command: 'getClient', username },
    ])));
    for (const [i, responses] of [a!, b!].entries()) {
      expect(responses.map((r) => r.command)).toEqual(['createClient', 'getClient']);
      expect(responses.every((r) => r.error === undefined)).toBe(true);
      expect((responses[1]!.data as { client: { username: string } }).client.username).toBe(names[i]);
    }
  });

  it('send() returns a refusal as a response; run() throws it unless tolerated', async () => {
    const username = randomUUID();
    await client.run([{ command: 'createClient', username, password: 'pw' }]);
    const [again] = await client.send([{ command: 'createClient', username, password: 'pw' }]);
    expect(again!.error).toBe('Client already exists');
    const err = await client.run([{ command: 'createClient', username, password: 'pw' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DynsecError);
    expect((err as Error).message).toBe('dynamic security refused: createClient: Client already exists');
    const ok = await client.run(
      [{ command: 'createClient', username, password: 'pw' }, { command: 'deleteClient', username }],
      { tolerate: (r) => r.error === 'Client already exists' },
    );
    expect(ok.map((r) => r.error)).toEqual(['Client already exists', undefined]);
  });

  it('opens a new connection on the next send when the broker closed the old one; nothing after close()', async () => {
    const own = new DynsecClient({ url: broker.urls.websocket, ...broker.dynsecAdmin, timeoutMs: 5_000 });
    try {
      await own.connect();
      await broker.stop(); // its connection closes with the broker
      broker = await startBroker({ dir: broker.dir, pki: await ensureDevPki(`${tmp.path}/pki`), ports: broker.ports });
      const [res] = await own.run([{ command: 'getDefaultACLAccess' }]);
      expect(res!.command).toBe('getDefaultACLAccess');
    } finally {
      await own.close();
    }
    await expect(own.send([{ command: 'listClients' }])).rejects.toThrow(/the client is closed/);
  });
});
