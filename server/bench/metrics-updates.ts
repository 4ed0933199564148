// Benchmark: the CPU cost of the metric updates one request makes, in isolation (the round-trip
// bench, server/bench/round-trip.ts --metrics on|off, measures them inside the whole request path,
// where they are lost in its noise). Per MQTT request: the runtime's arrival stamp (performance.now
// kept on the request's call record, read again once the answer is published) and the server's counter
// increment and histogram observation; per REST request: one counter and one histogram. Each is
// timed against the same loop without it. Prints numbers; asserts nothing.
//   npx tsx server/bench/metrics-updates.ts [--iterations 1000000]
import { PromMetrics } from '../src/metrics/index.js';

const i = process.argv.indexOf('--iterations');
const N = i >= 0 ? Number(process.argv[i + 1]) : 1_000_000;
const metrics = new PromMetrics({ dbPoolMax: 10 });
const types = ['query_posts', 'submit_view', 'get_comments', 'submit_reaction', 'revoke_reaction'];
let sink = 0;

function ns(fn: (k: number) => void): number {
  for (let k = 0; k < N / 10; k++) fn(k); // warm-up
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < N; k++) fn(k);
  return Number(process.hrtime.bigint() - t0) / N;
}

function compare(what: string, base: (k: number) => void, withIt: (k: number) => void): void {
  const a = ns(base);
  const b = ns(withIt);
  console.log(`${what.padEnd(58)} ${(b - a).toFixed(0).padStart(5)} ns   (${a.toFixed(0)} -> ${b.toFixed(0)} ns per loop)`);
}

compare('MQTT: counter + histogram', (k) => {
  sink += k % 5;
}, (k) => {
  const type = types[k % 5]!;
  metrics.mqttRequestAnswered(type, k % 20 === 0 ? 'not_found' : 'success');
  metrics.mqttRequestPublished(type, 0.0005 + (k % 7) * 0.003);
});
compare('MQTT: runtime arrival stamp (2 x performance.now, on the call)', (k) => {
  const call: { request_id: string; arrivedAt?: number } = { request_id: String(k) };
  sink += call.request_id.length;
}, (k) => {
  const call: { request_id: string; arrivedAt?: number } = { request_id: String(k), arrivedAt: performance.now() };
  sink += performance.now() - call.arrivedAt!;
});
compare('REST: counter + histogram', (k) => {
  sink += k % 9;
}, (k) => {
  metrics.httpRequest(k % 2 ? '/post/{post_id}' : '/u/{sqid}/player', 'GET', k % 10 ? 200 : 404, 0.002 + (k % 9) * 0.01);
});
if (sink === -1) console.log(sink);
