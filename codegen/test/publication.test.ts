// Rule docs-complete (codegen/src/check/publication.ts): contact, license and operation descriptions
// of both documents, on small specs written by the test: the exact message and location.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPublication } from '../src/check/publication.js';
import { Diagnostics, formatDiagnostic } from '../src/diagnostics.js';
import { SpecSet } from '../src/load/spec-set.js';
import { REPO } from './spec-copy.js';

const INFO = `info:
  title: t
  version: '1'
  contact: {name: Makapix Club, url: 'https://makapix.club'}
  license: {name: All rights reserved}
`;

function run(asyncapi: string, openapi: string, root?: string): string[] {
  const dir = root ?? mkdtempSync(join(tmpdir(), 'makapix-publication-'));
  if (!root) {
    mkdirSync(join(dir, 'spec'), { recursive: true });
    writeFileSync(join(dir, 'spec/asyncapi.yaml'), asyncapi);
    writeFileSync(join(dir, 'spec/openapi.yaml'), openapi);
  }
  const ds = new Diagnostics();
  checkPublication(new SpecSet(dir, ds), { root: dir, asyncapi: 'spec/asyncapi.yaml', openapi: 'spec/openapi.yaml' }, ds);
  return ds.sorted().map(formatDiagnostic);
}

const asyncOp = (description: string) => `asyncapi: 3.0.0
${INFO}channels: {}
operations:
  sendThing:
    action: send
${description}`;
const openOp = (description: string) => `openapi: 3.1.0
${INFO}paths:
  /thing:
    get:
      operationId: getThing
${description}      responses: {}
`;

describe('rule docs-complete', () => {
  it('passes documents with contact, license and a description on every operation', () => {
    expect(run(asyncOp('    description: Sends the thing.\n'), openOp('      description: Reads the thing.\n'))).toEqual([]);
  });

  it('names every operation without a description, at the operation', () => {
    expect(run(asyncOp('    summary: only a summary\n'), openOp('      description: "  "\n'))).toEqual([
      "spec/asyncapi.yaml:10:5 error [docs-complete] operation 'sendThing' has no description\n    at /operations/sendThing\n    hint: add a description: what the server does with this message (or when it sends it), and the rules that apply",
      "spec/openapi.yaml:10:7 error [docs-complete] operation 'getThing' has no description\n    at /paths/~1thing/get\n    hint: add a description: what the operation does, who may call it, and when each error is answered",
    ]);
  });

  it('asks for info.contact and info.license in both documents', () => {
    const bare = (doc: string) => doc.replace(/  contact: .*\n  license: .*\n/, '');
    const out = run(bare(asyncOp('    description: d\n')), bare(openOp('      description: d\n')).replace("title: t", "title: t\n  contact: {name: x}"));
    expect(out.map((l) => l.split('\n')[0])).toEqual([
      'spec/asyncapi.yaml:3:3 error [docs-complete] spec/asyncapi.yaml: info.contact needs a name and a url or email',
      'spec/asyncapi.yaml:3:3 error [docs-complete] spec/asyncapi.yaml: info.license needs a name',
      'spec/openapi.yaml:3:3 error [docs-complete] spec/openapi.yaml: info.license needs a name',
      'spec/openapi.yaml:4:12 error [docs-complete] spec/openapi.yaml: info.contact needs a name and a url or email',
    ]);
  });

  it('the repository spec passes it', () => {
    expect(run('', '', REPO)).toEqual([]);
  });
});
