#!/usr/bin/env tsx
/**
 * makapix codegen: `lint` (load + check), `generate` (load + check + emit into generated/),
 * `check-generated` (emit into a temporary folder and compare with generated/), `clients` (only
 * generated/clients/, the client models in other languages).
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAndCheck } from './check/index.js';
import { formatDiagnostic, formatSummary } from './diagnostics.js';
import { buildDocs } from './docs/build.js';
import { emitClients } from './clients/index.js';
import { compareTrees, emitAll, writeTree } from './emit/index.js';
import { emitPackageFiles } from './emit/package.js';
import { emitRestTypes } from './emit/rest-types.js';

const REPO = resolve(fileURLToPath(import.meta.url), '../../..');

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const rootArg = rest.indexOf('--root');
  const ROOT = rootArg >= 0 ? resolve(rest[rootArg + 1]) : REPO;
  const INPUT = { root: ROOT, asyncapi: 'spec/asyncapi.yaml', openapi: 'spec/openapi.yaml' };
  const outArg = rest.indexOf('--out');
  const out = resolve(ROOT, outArg >= 0 ? rest[outArg + 1] : 'generated');
  if (cmd !== 'lint' && cmd !== 'generate' && cmd !== 'check-generated' && cmd !== 'docs' && cmd !== 'clients') {
    console.error('usage: codegen lint | generate [--out DIR] | check-generated | docs [--out DIR, default docs/site] | clients [--out DIR]   [--root REPO_DIR]');
    return 2;
  }
  const started = Date.now();
  if (cmd === 'docs') {
    const dir = resolve(ROOT, outArg >= 0 ? rest[outArg + 1] : 'docs/site');
    const { files } = await buildDocs(ROOT, dir);
    console.log(`docs built into ${dir} in ${Date.now() - started} ms: ${Object.entries(files).map(([n, b]) => `${n} ${Math.round(b / 1024)} KiB`).join(', ')}`);
    return 0;
  }
  // openapi-typescript is the slowest step: start it on another thread before checking
  const restTypes = cmd === 'lint' || cmd === 'clients' ? undefined : emitRestTypes(resolve(ROOT, INPUT.openapi), INPUT.openapi);
  restTypes?.catch(() => {}); // reported below if it is awaited
  const checked = await loadAndCheck(INPUT, { parsers: cmd === 'lint' || rest.includes('--strict') });
  const ds = checked.diagnostics;
  for (const d of ds.sorted()) console.error(formatDiagnostic(d));
  if (ds.errors.length > 0) {
    console.error(`spec check failed: ${formatSummary(ds)}`);
    return 1;
  }
  if (cmd === 'lint') {
    const n = checked.model.messages.reduce((a, m) => a + m.examples.length, 0) +
      checked.model.rest.reduce((a, op) => a + (op.body?.examples.length ?? 0) + (op.body?.multipart?.examples.length ?? 0) + op.responses.reduce((b, r) => b + r.examples.length, 0), 0);
    console.log(`spec ok: ${checked.model.channels.length} channels, ${checked.model.messages.length} messages, ${checked.model.rest.length} REST operations, ${n} examples valid (${formatSummary(ds)}, ${Date.now() - started} ms)`);
    return 0;
  }
  if (cmd === 'clients') {
    // generated/clients/ alone (the client models of every language); `generate` makes them too
    const clients = new Map([...(await emitClients(checked))].map(([p, t]) => [p.replace(/^clients\//, ''), t]));
    writeTree(join(out, 'clients'), clients);
    console.log(`generated ${clients.size} files into ${join(out, 'clients')} in ${Date.now() - started} ms`);
    return 0;
  }
  const files = await emitAll(checked, restTypes, { clients: true });
  // package.json, runtime.ts, README.md, CHANGELOG.md: generated/ is the workspace @makapix/contract
  for (const [path, text] of emitPackageFiles(INPUT, [...files.keys()])) files.set(path, text);
  if (cmd === 'generate') {
    writeTree(out, files);
    console.log(`generated ${files.size} files into ${out} in ${Date.now() - started} ms`);
    return 0;
  }
  const drift = compareTrees(resolve(ROOT, 'generated'), files);
  if (drift.length === 0) {
    console.log(`generated/ is up to date (${files.size} files)`);
    return 0;
  }
  console.error('generated/ does not match spec/:');
  for (const d of drift) console.error(`  ${d}`);
  console.error('fix: run `make generate` and commit the result (never edit generated/ by hand)');
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
