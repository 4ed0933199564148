// `make lint` end to end on a copy of the real spec: it passes as committed, and a broken example or a
// broken reference each make it fail with the file, the line and the JSON pointer.
import { describe, expect, it } from 'vitest';
import { copySpec, edit, lineOf, runCodegen } from './spec-copy.js';

describe('lint', () => {
  it('passes on the committed spec and counts the examples it validated', () => {
    const r = runCodegen(['lint']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^spec ok: 12 channels, 28 messages, \d+ REST operations, \d+ examples valid/);
  });

  it('fails on an example that breaks its schema, naming file:line:col and the JSON pointer', () => {
    const dir = copySpec();
    const start = lineOf(dir, 'spec/asyncapi.yaml', '- name: firmware_limit_32');
    const line = edit(dir, 'spec/asyncapi.yaml', 'limit: 32', 'limit: 500', start);
    const r = runCodegen(['lint', '--root', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `spec/asyncapi.yaml:${line}:20 error [example-invalid] message 'QueryPostsRequest' example 'firmware_limit_32': /limit must be <= 50`,
    );
    expect(r.stderr).toMatch(/at \/components\/messages\/QueryPostsRequest\/examples\/\d+\/payload\/limit\n/);
    expect(r.stderr).toMatch(/spec check failed: \d+ errors?/);
  });

  it('fails on a reference to a schema that does not exist, naming where the $ref is written', () => {
    const dir = copySpec();
    const line = edit(dir, 'spec/openapi.yaml', "identifiers.yaml#/PlayerKey'", "identifiers.yaml#/PlayerKee'");
    const r = runCodegen(['lint', '--root', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`spec/openapi\\.yaml:${line}:\\d+ error \\[ref-unresolved\\] \\$ref '\\./components/identifiers\\.yaml#/PlayerKee': nothing at '/PlayerKee' in spec/components/identifiers\\.yaml`));
    expect(r.stderr).toContain('hint: check the name of the referenced schema or message');
  });

  it('reports every problem before failing, not only the first', () => {
    const dir = copySpec();
    edit(dir, 'spec/asyncapi.yaml', 'limit: 32', 'limit: 0', lineOf(dir, 'spec/asyncapi.yaml', '- name: firmware_limit_32'));
    const canvas = lineOf(dir, 'spec/components/identifiers.yaml', 'Canvas:');
    const line = edit(dir, 'spec/components/identifiers.yaml', '- 64x64', '- big', canvas);
    const r = runCodegen(['lint', '--root', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/limit must be >= 1');
    expect(r.stderr).toContain(`spec/components/identifiers.yaml:${line}:7 error [example-invalid] schema 'Canvas' example '0': / must match pattern`);
  });
});
