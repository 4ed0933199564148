import { Worker } from 'node:worker_threads';
import { GENERATED_BY } from '../version.js';

/**
 * generated/openapi/types.ts: `paths`/`components` types by openapi-typescript, for TypeScript users.
 * Call it early: the work runs in a worker thread and the promise resolves with the file's text.
 */
export function emitRestTypes(absSpec: string, relSpec: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./rest-types-worker.mjs', import.meta.url), { workerData: { absSpec } });
    worker.once('message', (body: string) => {
      resolve([
        `// ${GENERATED_BY.replace(' (codegen/src/cli.ts).', ' (codegen/src/cli.ts) with openapi-typescript.')}`,
        `// Source: ${relSpec}`,
        '// Regenerate with `make generate`; `make check-generated` fails when this file drifts.',
        '',
        body.trimEnd(),
        '',
      ].join('\n'));
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`openapi-typescript worker exited with code ${code}`));
    });
  });
}
