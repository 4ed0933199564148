// Golden files: a tiny spec (fixtures/mini) goes through the whole generator, and the output must equal
// the files under golden/ byte for byte. The golden files are TypeScript that type-checks with the
// project (tsc includes them). After a deliberate emitter change: UPDATE_GOLDEN=1 npx vitest run codegen/test/golden.test.ts
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAndCheck } from '../src/check/index.js';
import { compareTrees, emitAll } from '../src/emit/index.js';

const HERE = import.meta.dirname;
const REPO = resolve(HERE, '../..');
const GOLDEN = join(HERE, 'golden');

describe('golden output of the mini spec', () => {
  it('emits exactly the golden files, twice the same bytes', async () => {
    const root = join(HERE, 'fixtures/mini');
    const input = { root, asyncapi: 'spec/asyncapi.yaml', openapi: 'spec/openapi.yaml' };
    const checked = await loadAndCheck(input, { parsers: false });
    expect(checked.diagnostics.items.map((d) => d.message)).toEqual([]);
    const outDir = 'codegen/test/golden';
    const files = await emitAll(checked, outDir);
    const again = await emitAll(await loadAndCheck(input, { parsers: false }), outDir);
    expect([...again.entries()]).toEqual([...files.entries()]);
    if (process.env.UPDATE_GOLDEN) {
      rmSync(GOLDEN, { recursive: true, force: true });
      for (const [p, text] of files) {
        mkdirSync(dirname(join(GOLDEN, p)), { recursive: true });
        writeFileSync(join(GOLDEN, p), text);
      }
    }
    expect(existsSync(GOLDEN)).toBe(true);
    expect(compareTrees(GOLDEN, files)).toEqual([]);
    // the runtime import resolves from the golden folder
    const channels = readFileSync(join(GOLDEN, 'asyncapi/channels.ts'), 'utf8');
    expect(channels).toContain("from '../../../runtime/index.js'");
    expect(existsSync(resolve(GOLDEN, 'asyncapi', '../../../runtime/index.ts'))).toBe(true);
    expect(REPO).toBeTruthy();
  });
});
