// Worker thread for emit/rest-types.ts: openapi-typescript (and the TypeScript compiler it loads)
// runs on another core while the main thread checks the spec and emits the other files.
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

const { default: openapiTS, astToString } = await import('openapi-typescript');
const ast = await openapiTS(pathToFileURL(workerData.absSpec), { alphabetize: false, exportType: false });
parentPort.postMessage(astToString(ast));
