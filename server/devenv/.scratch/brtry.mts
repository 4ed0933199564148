import { ensureDevPki } from '/work/main/server/devenv/pki.ts';
import { startBroker } from '/work/main/server/devenv/broker.ts';
const t0 = performance.now();
const pki = await ensureDevPki('/tmp/brtry/pki');
const t1 = performance.now();
const b = await startBroker({ dir: '/tmp/brtry/mq', pki });
const t2 = performance.now();
console.log(JSON.stringify({ pid: b.pid, ports: b.ports, urls: b.urls, s: b.serverAccount }), t1-t0, t2-t1);
if (process.argv[2] !== 'keep') await b.stop();
