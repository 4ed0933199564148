import { ensureDevPki, issueClientCert } from '/work/main/server/devenv/pki.ts';
import { revokeSerial } from '/work/main/server/devenv/crl.ts';
import { startBroker } from '/work/main/server/devenv/broker.ts';
import { writeDeniedPlayers } from '/work/main/server/devenv/broker-state.ts';
import mqtt from 'mqtt';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
const pki = await ensureDevPki('/tmp/crl2/pki');
const b = await startBroker({ dir: '/tmp/crl2/mq', pki });
const ca = readFileSync(pki.caCert);
const tryConn = async (c: Awaited<ReturnType<typeof issueClientCert>>) => {
  try { const m = await mqtt.connectAsync(b.urls.mtls, { ca, cert: c.certPem, key: c.keyPem, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 3000 }); return m; }
  catch (e) { return (e as Error).message.slice(0, 80); }
};
const certs = await Promise.all([1,2,3,4].map(i => issueClientCert(pki.dir, `cccccccc-0000-4000-8000-00000000000${i}`)));
// 1: revoke without HUP
await revokeSerial(pki.dir, certs[0]!.serial);
let r = await tryConn(certs[0]!); console.log('revoked, no HUP ->', typeof r === 'string' ? r : 'CONNECTED'); if (typeof r !== 'string') await r.endAsync();
b.reload(); await sleep(200);
r = await tryConn(certs[0]!); console.log('revoked, HUP ->', typeof r === 'string' ? r : 'CONNECTED');
for (const i of [1, 2]) {
  await revokeSerial(pki.dir, certs[i]!.serial); b.reload(); await sleep(200);
  r = await tryConn(certs[i]!); console.log(`second/third revocation ${i} ->`, typeof r === 'string' ? r : 'CONNECTED');
  r = await tryConn(certs[0]!); console.log(`  first still refused ->`, typeof r === 'string' ? r : 'CONNECTED');
}
r = await tryConn(certs[3]!); console.log('unrevoked ->', typeof r === 'string' ? r : 'CONNECTED');
// (c) ACL deny on live session
if (typeof r !== 'string') {
  const d = r; const key = certs[3]!.cn;
  const srv = await mqtt.connectAsync(b.urls.internal, { protocolVersion: 5, ...b.serverAccount, reconnectPeriod: 0 });
  await srv.subscribeAsync('makapix/#');
  const got: string[] = []; srv.on('message', (t, p) => got.push(`${t} ${p}`));
  const dgot: string[] = []; d.on('message', (t, p) => dgot.push(`${t} ${p}`));
  await d.subscribeAsync(`makapix/player/${key}/command`, { qos: 1 });
  await srv.publishAsync(`makapix/player/${key}/command`, 'cmd1', { qos: 1 });
  const p1 = await d.publishAsync(`makapix/player/${key}/status`, 's1', { qos: 1 });
  await sleep(100);
  writeDeniedPlayers(b.files, [key]); b.writeDevicesAcl(); b.reload(); await sleep(200);
  await srv.publishAsync(`makapix/player/${key}/command`, 'cmd2', { qos: 1 });
  const p2 = await d.publishAsync(`makapix/player/${key}/status`, "s2", { qos: 1 }).catch((e) => ({ reasonCode: e.code }));
  await sleep(200);
  console.log('deny: connected?', d.connected, 'puback before', p1?.reasonCode, 'after', p2?.reasonCode, 'device got', dgot, 'server got', got);
  d.end(true); await srv.endAsync();
}
await b.stop();
console.log(readFileSync(b.files.log, 'utf8').split('\n').filter(l => /Reload|Denied|failed/.test(l)).join('\n'));
