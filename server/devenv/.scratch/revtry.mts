import { ensureDevPki, issueClientCert } from '/work/main/server/devenv/pki.ts';
import { revokeSerial } from '/work/main/server/devenv/crl.ts';
import { startBroker } from '/work/main/server/devenv/broker.ts';
import mqtt from 'mqtt';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
const mode = process.argv[2] ?? 'all';
const pki = await ensureDevPki('/tmp/revtry/pki');
const b = await startBroker({ dir: '/tmp/revtry/mq', pki });
const ca = readFileSync(pki.caCert);
const t0 = Date.now();
const log = (...a: unknown[]) => console.log(`[${Date.now() - t0}ms]`, ...a);
async function dev(cert: Awaited<ReturnType<typeof issueClientCert>>, v: 4 | 5 = 5, clientId = 'whatever') {
  const c = await mqtt.connectAsync(b.urls.mtls, { ca, cert: cert.certPem, key: cert.keyPem, protocolVersion: v, clientId, reconnectPeriod: 0, connectTimeout: 3000,
    will: { topic: `makapix/player/${cert.cn}/status`, payload: Buffer.from('{"status":"offline"}'), qos: 1, retain: false } });
  c.on('disconnect', (p) => log(cert.cn, 'DISCONNECT packet', p.reasonCode, p.properties));
  c.on('close', () => log(cert.cn, 'close'));
  c.on('error', (e) => log(cert.cn, 'error', e.message));
  return c;
}
const A = await issueClientCert(pki.dir, 'aaaaaaaa-0000-4000-8000-00000000000a');
const server = await mqtt.connectAsync(b.urls.internal, { protocolVersion: 5, ...b.serverAccount, clientId: 'srv', reconnectPeriod: 0 });
await server.subscribeAsync('makapix/#');
server.on('message', (t, p) => log('server got', t, p.toString()));
const a = await dev(A, Number(process.argv[3] ?? 5) as 4 | 5);
log('A connected');
if (mode === 'takeover') {
  const k = await mqtt.connectAsync(b.urls.internal, { protocolVersion: 5, ...b.serverAccount, clientId: A.cn, reconnectPeriod: 0, clean: true });
  log('kicker connected');
  await sleep(300);
  log('A connected?', a.connected);
  await k.endAsync();
  log('kicker ended');
  await sleep(300);
}
if (mode === 'crl') {
  await revokeSerial(pki.dir, A.serial);
  b.reload();
  await sleep(500);
  log('A connected after revoke+HUP?', a.connected);
  a.publish(`makapix/player/${A.cn}/status`, 'still here', { qos: 1 }, (e, p) => log('A publish cb', e?.message, p));
  await sleep(300);
  try { const a2 = await dev(A, 5, 'x2'); log('A reconnect succeeded!', a2.connected); await a2.endAsync(); } catch (e) { log('A reconnect failed', (e as Error).message); }
  const B = await issueClientCert(pki.dir, 'bbbbbbbb-0000-4000-8000-00000000000b');
  try { const bb = await dev(B); log('B (not revoked) connected', bb.connected); await bb.endAsync(); } catch (e) { log('B failed', (e as Error).message); }
}
await sleep(200);
await server.endAsync(); a.end(true);
await b.stop();
console.log(readFileSync(b.files.log, 'utf8').split('\n').filter(l => !l.includes('New connection from') ).slice(-25).join('\n'));
