// Benchmark: the generated compiled TypeBox validators against Ajv (strict, formats) on the request
// payloads of the spec's examples. Prints checks per second for each; not a test (numbers vary).
//   npx tsx codegen/bench/validators.ts [iterations]
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import * as channels from '@makapix/contract/asyncapi/channels';
import { messageExamples } from '@makapix/contract/asyncapi/examples';
import type { Validator } from '../runtime/index.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const iterations = Number(process.argv[2] ?? 200_000);
const requestMessages = Object.keys(messageExamples).filter((m) => m.endsWith('Request')) as (keyof typeof messageExamples)[];
const validators = channels as unknown as Record<string, Validator<unknown>>;

const ajv = new Ajv({ strict: false, allErrors: false });
addFormats(ajv);

function bench(name: string, fn: () => boolean): number {
  for (let i = 0; i < 2000; i++) fn(); // warm up
  const start = process.hrtime.bigint();
  let ok = 0;
  for (let i = 0; i < iterations; i++) if (fn()) ok++;
  const ns = Number(process.hrtime.bigint() - start);
  if (ok !== iterations) throw new Error(`${name}: only ${ok}/${iterations} valid`);
  return (iterations / ns) * 1e9;
}

console.log(`validation of request payloads, ${iterations} checks each (higher is better)`);
console.log('message                 typebox-compiled/s    ajv/s   ratio');
for (const m of requestMessages) {
  const payloads = Object.values(messageExamples[m]) as unknown[];
  const tb = validators[`${m}Validator`];
  const av = ajv.compile(JSON.parse(JSON.stringify(tb.schema)));
  let i = 0;
  const tbRate = bench(`${m} typebox`, () => tb.check(payloads[i++ % payloads.length]));
  i = 0;
  const ajvRate = bench(`${m} ajv`, () => av(payloads[i++ % payloads.length]) as boolean);
  console.log(`${m.padEnd(24)}${Math.round(tbRate).toLocaleString('en').padStart(18)}${Math.round(ajvRate).toLocaleString('en').padStart(12)}${(tbRate / ajvRate).toFixed(2).padStart(8)}`);
}
